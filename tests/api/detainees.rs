//! Detainee files: content, validation, concurrency, archive and restore.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::scenarios;

async fn files_keep_every_field_exactly(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let facility = new_facility(&app, &caseworker.token).await;
    let body = full_file(&facility);
    let res = app
        .post("/api/v1/detainees", &caseworker.token, &body)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let file: Value = res.json().await.unwrap();
    for (key, value) in body.as_object().unwrap() {
        assert_eq!(&file[key], value, "{key} round-trips exactly");
    }
    assert!(regex_like_reference(file["reference"].as_str().unwrap()));
    assert_eq!(file["organization_id"], caseworker.organization_id.as_str());
    assert_eq!(file["review_status"], "not_reviewed");
    assert_eq!(file["created_by"], caseworker.id.as_str());
    assert_eq!(file["archived_at"], Value::Null);
    assert_eq!(file["merged_into"], Value::Null);
    let fetched: Value = app
        .get(&location, &caseworker.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, file);

    // Only full_name is required; the rest has defaults.
    let minimal = new_file(
        &app,
        &caseworker.token,
        &json!({"full_name": "فاطمة الزهراء"}),
    )
    .await;
    assert_eq!(minimal["full_name"], "فاطمة الزهراء");
    for (key, default) in [
        ("sex", json!("unknown")),
        ("status", json!("unknown")),
        ("category", json!("unknown")),
        ("major_crimes_accusation", json!(false)),
        ("aliases", json!([])),
        ("source_notes", Value::Null),
    ] {
        assert_eq!(minimal[key], default, "{key}");
    }
    // References are unique and increase.
    let a = file["reference"].as_str().unwrap();
    let b = minimal["reference"].as_str().unwrap();
    assert!(b > a, "{a} then {b}");
}

fn regex_like_reference(reference: &str) -> bool {
    reference.len() == 10
        && reference.starts_with("SJL-")
        && reference[4..].bytes().all(|b| b.is_ascii_digit())
}

async fn every_validation_rule_has_a_rejected_example(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let facility = new_facility(&app, &caseworker.token).await;
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut body = full_file(&facility);
        edit(&mut body);
        body
    };
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "month 13",
            with(&|b| b["detained_on"] = json!("2013-13")),
            400,
            "validation_failed",
        ),
        (
            "30 February",
            with(&|b| b["detained_on"] = json!("2013-02-30")),
            400,
            "validation_failed",
        ),
        (
            "day first",
            with(&|b| b["birth_date"] = json!("17-04-2013")),
            400,
            "validation_failed",
        ),
        (
            "free text",
            with(&|b| b["last_seen_on"] = json!("last spring")),
            400,
            "validation_failed",
        ),
        (
            "future",
            with(&|b| b["last_seen_on"] = json!("2999")),
            422,
            "validation_failed",
        ),
        (
            "empty name",
            with(&|b| b["full_name"] = json!("   ")),
            422,
            "validation_failed",
        ),
        (
            "long name",
            with(&|b| b["full_name"] = json!("م".repeat(201))),
            422,
            "validation_failed",
        ),
        (
            "NUL in name",
            with(&|b| b["full_name"] = json!("Ahmad\u{0}")),
            422,
            "validation_failed",
        ),
        (
            "newline in name",
            with(&|b| b["name_ar"] = json!("أحمد\nعلي")),
            422,
            "validation_failed",
        ),
        (
            "21 aliases",
            with(&|b| {
                b["aliases"] = json!((0..21).map(|i| format!("alias {i}")).collect::<Vec<_>>())
            }),
            422,
            "validation_failed",
        ),
        (
            "empty alias",
            with(&|b| b["aliases"] = json!([""])),
            422,
            "validation_failed",
        ),
        (
            "long alias",
            with(&|b| b["aliases"] = json!(["a".repeat(201)])),
            422,
            "validation_failed",
        ),
        (
            "long notes",
            with(&|b| b["notes"] = json!("n".repeat(10_001))),
            422,
            "validation_failed",
        ),
        (
            "long source notes",
            with(&|b| b["source_notes"] = json!("s".repeat(10_001))),
            422,
            "validation_failed",
        ),
        (
            "unknown facility",
            with(&|b| b["facility_id"] = json!(uuid::Uuid::now_v7())),
            422,
            "validation_failed",
        ),
        (
            "born after detention",
            with(&|b| b["birth_date"] = json!("2014")),
            422,
            "validation_failed",
        ),
        (
            "released before detained",
            with(&|b| b["released_on"] = json!("2012-01")),
            422,
            "validation_failed",
        ),
        (
            "bad sex",
            with(&|b| b["sex"] = json!("other")),
            400,
            "validation_failed",
        ),
        (
            "bad status",
            with(&|b| b["status"] = json!("free")),
            400,
            "validation_failed",
        ),
        (
            "bad category",
            with(&|b| b["category"] = json!("terrorist")),
            400,
            "validation_failed",
        ),
        (
            "released without review",
            with(&|b| b["status"] = json!("released")),
            409,
            "review_required",
        ),
        (
            "no name",
            json!({"name_ar": "أحمد"}),
            400,
            "validation_failed",
        ),
    ];
    for (what, body, status, code) in cases {
        let res = app
            .post("/api/v1/detainees", &caseworker.token, &body)
            .await;
        assert_eq!(res.status().as_u16(), status, "{what}");
        assert_problem(res, status, code).await;
    }
    // At the limits, accepted.
    let ok = with(&|b| {
        b["full_name"] = json!("م".repeat(200));
        b["aliases"] = json!((0..20).map(|i| format!("alias {i}")).collect::<Vec<_>>());
        b["notes"] = json!("n".repeat(10_000));
        b["birth_date"] = json!("2013-04");
    });
    new_file(&app, &caseworker.token, &ok).await;
}

async fn server_owned_fields_cannot_be_sent(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let file = new_file(
        &app,
        &caseworker.token,
        &json!({"full_name": "Khaled Omar Qassem"}),
    )
    .await;
    let id = id_of(&file);
    let path = format!("/api/v1/detainees/{id}");
    let other_org = app
        .create_organization(&app.admin_token().await, "documentation")
        .await;
    for (field, value) in [
        ("organization_id", json!(other_org)),
        ("review_status", json!("cleared_for_release")),
        ("reference", json!("SJL-999999")),
        ("version", json!(42)),
        ("id", json!(uuid::Uuid::now_v7())),
        ("created_by", json!(uuid::Uuid::now_v7())),
        ("archived_at", json!(null)),
    ] {
        let body = json!({"full_name": "Smuggler", field: value});
        assert_problem(
            app.post("/api/v1/detainees", &caseworker.token, &body)
                .await,
            400,
            "unknown_field",
        )
        .await;
        let patch = json!({field: value});
        assert_problem(
            app.patch(&path, &caseworker.token, "\"1\"", &patch).await,
            400,
            "unknown_field",
        )
        .await;
    }
    let after = file_of(&app, &caseworker.token, &id).await;
    assert_eq!(after["version"], 1);
    assert_eq!(
        after["organization_id"],
        caseworker.organization_id.as_str()
    );
}

async fn patch_needs_if_match_and_the_loser_of_a_race_gets_412(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let file = new_file(
        &app,
        &caseworker.token,
        &json!({"full_name": "Omar Khaled Darwish"}),
    )
    .await;
    let id = id_of(&file);
    let path = format!("/api/v1/detainees/{id}");
    let patch = json!({"status": "deceased", "last_seen_on": "2015"});
    let res = app
        .request(
            reqwest::Method::PATCH,
            &path,
            Some(&caseworker.token),
            Some(&patch),
        )
        .await;
    assert_problem(res, 428, "precondition_required").await;
    assert_problem(
        app.patch(&path, &caseworker.token, "\"2\"", &patch).await,
        412,
        "precondition_failed",
    )
    .await;
    let res = app.patch(&path, &caseworker.token, "\"1\"", &patch).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (body["status"].clone(), body["last_seen_on"].clone()),
        (json!("deceased"), json!("2015"))
    );

    // Null clears; absent stays.
    let res = app
        .patch(
            &path,
            &caseworker.token,
            "\"2\"",
            &json!({"last_seen_on": null}),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["last_seen_on"], Value::Null);
    assert_eq!(body["status"], "deceased");

    // Two edits of version 3 at once: exactly one wins, nothing is overwritten.
    let (a, b) = (json!({"notes": "edit A"}), json!({"notes": "edit B"}));
    let (ra, rb) = tokio::join!(
        app.patch(&path, &caseworker.token, "\"3\"", &a),
        app.patch(&path, &caseworker.token, "\"3\"", &b),
    );
    let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 412]);
    let winner = if ra.status() == StatusCode::OK {
        "edit A"
    } else {
        "edit B"
    };
    let body = file_of(&app, &caseworker.token, &id).await;
    assert_eq!(body["notes"], winner);
    assert_eq!(body["version"], 4);

    // Released only after a cleared review.
    let res = app
        .patch(
            &path,
            &caseworker.token,
            "\"4\"",
            &json!({"status": "released"}),
        )
        .await;
    assert_problem(res, 409, "review_required").await;
}

async fn archive_hides_and_restore_brings_back(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let file = new_file(
        &app,
        &caseworker.token,
        &json!({"full_name": "Nour Ahmad Al-Ali", "status": "detained"}),
    )
    .await;
    let id = file["id"].as_str().unwrap();
    let path = format!("/api/v1/detainees/{id}");
    let listed = |query: &'static str| {
        let (app, token) = (&app, caseworker.token.clone());
        async move {
            let page: Value = app
                .get(&format!("/api/v1/detainees{query}"), &token)
                .await
                .json()
                .await
                .unwrap();
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed("").await, [id]);

    let res = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&caseworker.token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 428, "precondition_required").await;
    let res = app.delete(&path, &caseworker.token, "\"1\"").await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let archived = file_of(&app, &caseworker.token, id).await;
    assert!(archived["archived_at"].is_string());
    assert_eq!(archived["version"], 2);
    assert!(listed("").await.is_empty());
    assert_eq!(listed("?include_archived=true").await, [id]);
    assert_problem(
        app.patch(&path, &caseworker.token, "\"2\"", &json!({"notes": "x"}))
            .await,
        409,
        "conflict",
    )
    .await;
    let again = app.delete(&path, &caseworker.token, "\"2\"").await;
    assert_problem(again, 409, "conflict").await;

    let res = app
        .request(
            reqwest::Method::POST,
            &format!("{path}/restore"),
            Some(&caseworker.token),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let restored: Value = res.json().await.unwrap();
    assert_eq!(restored["archived_at"], Value::Null);
    assert_eq!(restored["version"], 3);
    assert_eq!(listed("").await, [id]);
    let res = app
        .request(
            reqwest::Method::POST,
            &format!("{path}/restore"),
            Some(&caseworker.token),
            None,
        )
        .await;
    assert_problem(res, 409, "conflict").await;

    let auditor = app.user_with_role("auditor").await;
    let entries = app.audit_entries(&auditor.token).await;
    let actions: Vec<&str> = entries
        .iter()
        .filter(|e| e["entity_id"] == id)
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["detainee.create", "detainee.archive", "detainee.restore"]
    );
}

async fn lists_filter_and_visit_every_file_once_while_files_are_added(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let facility = new_facility(&app, &caseworker.token).await;
    let mut expected = HashSet::new();
    for n in 0..250 {
        let status = ["detained", "disappeared", "deceased"][n % 3];
        let category = if n % 5 == 0 {
            "criminal_accusation"
        } else {
            "political"
        };
        let mut body =
            json!({"full_name": format!("Person {n}"), "status": status, "category": category});
        if n % 10 == 0 {
            body["facility_id"] = json!(facility);
        }
        let file = new_file(&app, &caseworker.token, &body).await;
        expected.insert(id_of(&file));
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/detainees?limit=37".to_owned();
    let mut added = 0;
    loop {
        let page: Value = app
            .get(&path, &caseworker.token)
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 37);
        for item in items {
            assert!(item.get("source_notes").is_none(), "source_notes in a list");
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        // Files keep arriving while the list is walked.
        if added < 5 {
            new_file(
                &app,
                &caseworker.token,
                &json!({"full_name": format!("Latecomer {added}")}),
            )
            .await;
            added += 1;
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/detainees?limit=37&cursor={cursor}"),
            None => break,
        }
    }
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a file was listed twice");
    assert!(expected.is_subset(&unique), "a file was skipped");

    let count = |query: String| {
        let (app, token) = (&app, caseworker.token.clone());
        async move {
            let mut total = 0;
            let mut path = format!("/api/v1/detainees?limit=200&{query}");
            loop {
                let page: Value = app.get(&path, &token).await.json().await.unwrap();
                total += page["items"].as_array().unwrap().len();
                match page["next_cursor"].as_str() {
                    Some(c) => path = format!("/api/v1/detainees?limit=200&{query}&cursor={c}"),
                    None => return total,
                }
            }
        }
    };
    assert_eq!(count("status=detained".into()).await, 84);
    assert_eq!(count("category=criminal_accusation".into()).await, 50);
    assert_eq!(count(format!("facility_id={facility}")).await, 25);
    assert_eq!(count("review_status=not_reviewed".into()).await, 255);
    assert_eq!(count("review_status=cleared_for_release".into()).await, 0);
    assert_problem(
        app.get("/api/v1/detainees?status=free", &caseworker.token)
            .await,
        400,
        "invalid_query",
    )
    .await;
    assert_problem(
        app.get("/api/v1/detainees?name=Person", &caseworker.token)
            .await,
        400,
        "unknown_parameter",
    )
    .await;
}

scenarios! {
    both: [
        files_keep_every_field_exactly,
        every_validation_rule_has_a_rejected_example,
        server_owned_fields_cannot_be_sent,
        patch_needs_if_match_and_the_loser_of_a_race_gets_412,
        archive_hides_and_restore_brings_back,
        lists_filter_and_visit_every_file_once_while_files_are_added,
    ],
}
