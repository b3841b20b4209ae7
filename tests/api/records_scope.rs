//! Who sees which file, custody history, the file's history, and the access log.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::scenarios;

/// Every route of a file answers 404 to a caseworker of another organisation.
async fn another_organisations_file_is_not_found_on_every_route(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.user_with_role("caseworker").await;
    let stranger = app.user_with_role("caseworker").await;
    let facility = new_facility(&app, &owner.token).await;
    let file = new_file(&app, &owner.token, &full_file(&facility)).await;
    let id = file["id"].as_str().unwrap();
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/v1/detainees/{id}"), None),
        (
            Method::PATCH,
            format!("/api/v1/detainees/{id}"),
            Some(json!({"notes": "mine now"})),
        ),
        (Method::DELETE, format!("/api/v1/detainees/{id}"), None),
        (
            Method::POST,
            format!("/api/v1/detainees/{id}/restore"),
            None,
        ),
        (Method::GET, format!("/api/v1/detainees/{id}/custody"), None),
        (
            Method::POST,
            format!("/api/v1/detainees/{id}/custody"),
            Some(json!({"facility_id": facility})),
        ),
        (Method::GET, format!("/api/v1/detainees/{id}/history"), None),
    ];
    for (method, path, body) in &routes {
        let mut req = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&stranger.token)
            .header("If-Match", "\"1\"");
        if let Some(body) = body {
            req = req.json(body);
        }
        assert_problem(req.send().await.unwrap(), 404, "not_found").await;
        // The owner gets through on the same route (so the 404 is about scope).
        let mut req = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&owner.token)
            .header("If-Match", "*");
        if let Some(body) = body {
            req = req.json(body);
        }
        let status = req.send().await.unwrap().status().as_u16();
        assert!(
            status < 400 || status == 409,
            "{method} {path}: {status} for the owner"
        );
    }
    let page: Value = app
        .get("/api/v1/detainees?include_archived=true", &stranger.token)
        .await
        .json()
        .await
        .unwrap();
    assert!(page["items"].as_array().unwrap().is_empty());
    // Nothing the stranger sent changed anything.
    let history: Value = app
        .get(&format!("/api/v1/detainees/{id}/history"), &owner.token)
        .await
        .json()
        .await
        .unwrap();
    let actors: Vec<&Value> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["actor_id"])
        .collect();
    assert!(!actors.is_empty());
    assert!(actors.iter().all(|a| *a == owner.id.as_str()));
}

/// role × action → status for the file routes.
async fn the_file_permission_table_holds(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.user_with_role("caseworker").await;
    let file = new_file(
        &app,
        &owner.token,
        &json!({"full_name": "Hala Yusuf Haddad"}),
    )
    .await;
    let id = id_of(&file);
    //                         list  get  create patch delete restore custody history
    let table: Vec<(&str, [u16; 8])> = vec![
        ("admin", [403, 403, 403, 403, 403, 403, 403, 403]),
        ("caseworker", [200, 404, 201, 404, 404, 404, 404, 404]),
        ("reviewer", [200, 404, 403, 403, 403, 403, 404, 404]),
        (
            "family_representative",
            [403, 403, 403, 403, 403, 403, 403, 403],
        ),
        ("auditor", [200, 200, 403, 403, 403, 403, 200, 200]),
    ];
    let mut failures = Vec::new();
    for (role, expected) in table {
        let user = app.user_with_role(role).await;
        let t = &user.token;
        let statuses = [
            app.get("/api/v1/detainees", t).await.status().as_u16(),
            app.get(&format!("/api/v1/detainees/{id}"), t)
                .await
                .status()
                .as_u16(),
            app.post("/api/v1/detainees", t, &json!({"full_name": "Test"}))
                .await
                .status()
                .as_u16(),
            app.patch(
                &format!("/api/v1/detainees/{id}"),
                t,
                "\"1\"",
                &json!({"notes": "x"}),
            )
            .await
            .status()
            .as_u16(),
            app.delete(&format!("/api/v1/detainees/{id}"), t, "\"1\"")
                .await
                .status()
                .as_u16(),
            app.request(
                Method::POST,
                &format!("/api/v1/detainees/{id}/restore"),
                Some(t),
                None,
            )
            .await
            .status()
            .as_u16(),
            app.get(&format!("/api/v1/detainees/{id}/custody"), t)
                .await
                .status()
                .as_u16(),
            app.get(&format!("/api/v1/detainees/{id}/history"), t)
                .await
                .status()
                .as_u16(),
        ];
        if statuses != expected {
            failures.push(format!("{role}: {statuses:?}, expected {expected:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for path in ["/api/v1/detainees", &format!("/api/v1/detainees/{id}")] {
        assert_eq!(
            app.client.get(app.url(path)).send().await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

async fn source_notes_are_shown_only_where_they_must_be(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.user_with_role("caseworker").await;
    let facility = new_facility(&app, &owner.token).await;
    let file = new_file(&app, &owner.token, &full_file(&facility)).await;
    let secret = "Testimony of a former cellmate (interview 12 January 2025).";
    assert_eq!(file["source_notes"], secret);
    let path = format!("/api/v1/detainees/{}", file["id"].as_str().unwrap());
    let colleague = app
        .user_in(
            &app.admin_token().await,
            &owner.organization_id,
            "caseworker",
        )
        .await;
    let auditor = app.user_with_role("auditor").await;
    for token in [&owner.token, &colleague.token, &auditor.token] {
        let body: Value = app.get(&path, token).await.json().await.unwrap();
        assert_eq!(body["source_notes"], secret);
        let list = app
            .get("/api/v1/detainees", token)
            .await
            .text()
            .await
            .unwrap();
        assert!(
            !list.contains("source_notes") && !list.contains(secret),
            "source notes in a list"
        );
    }
    // Not in the audit log in clear either: a fingerprint shows that it changed.
    let res = app
        .patch(
            &path,
            &owner.token,
            "\"1\"",
            &json!({"source_notes": "Second witness, 2025-03."}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let entries = app.audit_entries(&auditor.token).await;
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains(secret) && !text.contains("Second witness"));
    let update = entries
        .iter()
        .find(|e| e["action"] == "detainee.update")
        .unwrap();
    let [old, new] = [
        &update["changes"]["source_notes"][0],
        &update["changes"]["source_notes"][1],
    ];
    assert!(
        old.as_str().unwrap().starts_with("hmac:") && new.as_str().unwrap().starts_with("hmac:")
    );
    assert_ne!(old, new);
}

/// What a single-file answer shows of the confidential source notes: `S`
/// the notes, `W` withheld (a 2xx whose file has no `source_notes` member
/// at all), or the status of a refusal (whose body holds no notes either).
async fn source_notes_in(res: reqwest::Response, file: &str, secret: &str) -> String {
    let status = res.status();
    let text = res.text().await.unwrap();
    if !status.is_success() {
        assert!(!text.contains(secret), "{status} with the notes: {text}");
        return status.as_u16().to_string();
    }
    let body: Value = serde_json::from_str(&text).unwrap();
    let shown = body.pointer(file).and_then(Value::as_object);
    match shown.expect("a file in the answer").get("source_notes") {
        Some(notes) => {
            assert_eq!(notes.as_str(), Some(secret), "{text}");
            "S".into()
        }
        None => {
            assert!(!text.contains(secret), "withheld, and still there: {text}");
            "W".into()
        }
    }
}

/// Everyone who may read a file at all, through `GET /detainees/{id}` and
/// through the file a single review embeds (`GET /reviews/{id}`), in each
/// state of the review: the source notes are shown to the owning
/// organisation's caseworkers, to auditors and to the reviewers whose scope
/// holds the file, and to no one else — a family representative gets the
/// review with the notes withheld (the member absent), everyone else no
/// file at all. The answers to review steps carry them for whoever took
/// the step (even one that ends their access), and a consultation's answer
/// carries no file.
async fn source_notes_are_withheld_from_every_single_file_answer_but_the_entitled(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let admin = app.admin_token().await;
    let owners_colleague = app
        .user_in(&admin, &c.owner.organization_id, "caseworker")
        .await;
    let an_admin = app.user_with_role("admin").await;
    let body = file_body(true);
    let secret = body["source_notes"].as_str().unwrap();
    let file = id_of(&new_file(&app, &c.owner.token, &body).await);

    // `GET /detainees/{id}` / `GET /reviews/{id}` for each state of the
    // review (open; in_review, claimed by `c.reviewer`; awaiting
    // confirmation of its clearance; decided, confirmed by `c.second`):
    // S shown, W withheld, or the status of the refusal.
    #[rustfmt::skip]
    let table: [(&str, &TestUser, [&str; 4]); 9] = [
        //                                                        open       in_review  awaiting   decided
        ("the owner's caseworker",           &c.owner,           ["S/S",     "S/S",     "S/S",     "S/S"]),
        ("another caseworker of the owner",  &owners_colleague,  ["S/S",     "S/S",     "S/S",     "S/S"]),
        ("a caseworker elsewhere",           &c.stranger,        ["404/404", "404/404", "404/404", "404/404"]),
        ("the reviewer who claims it",       &c.reviewer,        ["S/S",     "S/S",     "S/S",     "404/404"]),
        ("a colleague of that reviewer",     &c.colleague,       ["S/S",     "404/404", "404/404", "404/404"]),
        ("a reviewer elsewhere",             &c.second,          ["S/S",     "404/404", "S/S",     "404/404"]),
        ("a family representative",          &c.family,          ["403/W",   "403/W",   "403/W",   "403/404"]),
        ("an auditor",                       &c.auditor,         ["S/S",     "S/S",     "S/S",     "S/S"]),
        ("an admin",                         &an_admin,          ["403/403", "403/403", "403/403", "403/403"]),
    ];
    let mut wrong = Vec::new();
    let check = |state: usize, review: String| {
        let (app, table, file) = (&app, &table, &file);
        async move {
            let mut wrong = Vec::new();
            for (who, user, expected) in table {
                let in_file = source_notes_in(
                    app.get(&format!("/api/v1/detainees/{file}"), &user.token)
                        .await,
                    "",
                    secret,
                )
                .await;
                let in_review = source_notes_in(
                    app.get(&format!("/api/v1/reviews/{review}"), &user.token)
                        .await,
                    "/file",
                    secret,
                )
                .await;
                let seen = format!("{in_file}/{in_review}");
                if seen != expected[state] {
                    wrong.push(format!(
                        "{who}, state {state}: {seen}, expected {}",
                        expected[state]
                    ));
                }
            }
            wrong
        }
    };
    let step_shows = |res: reqwest::Response, what: &'static str| async move {
        assert_eq!(source_notes_in(res, "/file", secret).await, "S", "{what}");
    };

    let res = app
        .post(
            &format!("/api/v1/detainees/{file}/reviews"),
            &c.owner.token,
            &json!({}),
        )
        .await;
    let review = res.headers()["location"].to_str().unwrap().to_owned();
    let review = review.rsplit('/').next().unwrap().to_owned();
    step_shows(res, "opening, by the owner").await;
    wrong.extend(check(0, review.clone()).await);

    let res = step(
        &app,
        &c.family.token,
        &review,
        "consultations",
        json!({
            "position": "no_position", "statement": "We have nothing to add."
        }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let consultation: Value = res.json().await.unwrap();
    assert!(consultation.get("file").is_none() && !consultation.to_string().contains(secret));
    let res = step(&app, &c.reviewer.token, &review, "claim", json!({})).await;
    step_shows(res, "claiming").await;
    wrong.extend(check(1, review.clone()).await);

    let clear = json!({"decision": "cleared_for_release", "rationale": RATIONALE});
    let res = step(&app, &c.reviewer.token, &review, "decision", clear.clone()).await;
    step_shows(res, "deciding").await;
    wrong.extend(check(2, review.clone()).await);

    // A dispute and a confirmation each end the access of who takes them.
    let dispute = json!({"reason": "The families' testimony was not weighed."});
    let res = step(&app, &c.second.token, &review, "dispute", dispute).await;
    step_shows(res, "disputing").await;
    step_ok(&app, &c.reviewer.token, &review, "decision", clear).await;
    let res = step(&app, &c.second.token, &review, "confirm", json!({})).await;
    step_shows(res, "confirming").await;
    wrong.extend(check(3, review.clone()).await);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Shown when there are none: `null`; withheld: absent all the same.
    let mut bare = file_body(true);
    bare.as_object_mut().unwrap().remove("source_notes");
    let bare = id_of(&new_file(&app, &c.owner.token, &bare).await);
    let review = id_of(&open(&app, &c.owner.token, &bare).await);
    let shown = file_of(&app, &c.owner.token, &bare).await;
    assert_eq!(shown.get("source_notes"), Some(&Value::Null), "{shown}");
    let reduced: Value = app
        .get(&format!("/api/v1/reviews/{review}"), &c.family.token)
        .await
        .json()
        .await
        .unwrap();
    assert!(reduced["file"].get("source_notes").is_none(), "{reduced}");
}

async fn custody_history_is_recorded_and_checked(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let sednaya = new_facility(&app, &caseworker.token).await;
    let branch: Value = app
        .post("/api/v1/facilities", &caseworker.token, &json!({"name": "Palestine Branch", "name_ar": "فرع فلسطين", "kind": "intelligence_branch"}))
        .await
        .json()
        .await
        .unwrap();
    let branch = branch["id"].as_str().unwrap();
    let file = new_file(
        &app,
        &caseworker.token,
        &json!({"full_name": "Bassel Mahmoud Kurdi"}),
    )
    .await;
    let id = id_of(&file);
    let custody = format!("/api/v1/detainees/{id}/custody");

    let first = new_custody(&app, &caseworker.token, &id, &json!({"facility_id": branch, "from": "2012-06", "to": "2013", "note": "Held in a group cell."})).await;
    assert_eq!(
        (first["from"].clone(), first["to"].clone()),
        (json!("2012-06"), json!("2013"))
    );
    new_custody(
        &app,
        &caseworker.token,
        &id,
        &json!({"facility_id": sednaya, "from": "2013-02-11"}),
    )
    .await;
    // Same year at different precision is not "after".
    new_custody(
        &app,
        &caseworker.token,
        &id,
        &json!({"facility_id": sednaya, "from": "2013-05", "to": "2013"}),
    )
    .await;

    for (body, status, code) in [
        (
            json!({"facility_id": sednaya, "from": "2014", "to": "2013-12"}),
            422,
            "validation_failed",
        ),
        (
            json!({"facility_id": uuid::Uuid::now_v7()}),
            422,
            "validation_failed",
        ),
        (
            json!({"facility_id": sednaya, "from": "2013-02-30"}),
            400,
            "validation_failed",
        ),
        (
            json!({"facility_id": sednaya, "note": "x\u{0}"}),
            422,
            "validation_failed",
        ),
        (json!({"from": "2013"}), 400, "validation_failed"),
        (
            json!({"facility_id": sednaya, "detainee_id": file["id"]}),
            400,
            "unknown_field",
        ),
    ] {
        assert_problem(
            app.post(&custody, &caseworker.token, &body).await,
            status,
            code,
        )
        .await;
    }

    let page: Value = app
        .get(&custody, &caseworker.token)
        .await
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["facility_id"], branch);
    assert_eq!(items[1]["from"], "2013-02-11");
    let page: Value = app
        .get(&format!("{custody}?limit=1"), &caseworker.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next_cursor"].is_string());
}

async fn history_shows_each_change_old_to_new_oldest_first(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let facility = new_facility(&app, &caseworker.token).await;
    let file = new_file(
        &app,
        &caseworker.token,
        &json!({"full_name": "Rania Ghassan Al-Shami", "status": "detained"}),
    )
    .await;
    let id = file["id"].as_str().unwrap();
    let path = format!("/api/v1/detainees/{id}");
    app.patch(
        &path,
        &caseworker.token,
        "\"1\"",
        &json!({"status": "disappeared", "last_seen_on": "2016-03"}),
    )
    .await;
    new_custody(
        &app,
        &caseworker.token,
        id,
        &json!({"facility_id": facility, "from": "2014"}),
    )
    .await;
    // A custody record is a write to the file: version 3 now.
    app.delete(&path, &caseworker.token, "\"3\"").await;
    app.request(
        Method::POST,
        &format!("{path}/restore"),
        Some(&caseworker.token),
        None,
    )
    .await;

    let page: Value = app
        .get(&format!("{path}/history"), &caseworker.token)
        .await
        .json()
        .await
        .unwrap();
    let entries = page["items"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "detainee.create",
            "detainee.update",
            "custody.create",
            "detainee.archive",
            "detainee.restore"
        ]
    );
    assert_eq!(
        entries[1]["changes"]["status"],
        json!(["detained", "disappeared"])
    );
    assert_eq!(
        entries[1]["changes"]["last_seen_on"],
        json!([null, "2016-03"])
    );
    assert_eq!(entries[1]["changes"]["version"], json!([1, 2]));
    assert_eq!(entries[2]["changes"]["detainee_id"], json!([null, id]));
    assert_eq!(entries[2]["changes"]["detainee_version"], json!([2, 3]));
    assert_eq!(entries[3]["changes"]["version"], json!([3, 4]));
    assert_eq!(
        entries[0]["changes"]["full_name"],
        json!([null, "Rania Ghassan Al-Shami"])
    );
    let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));

    // The same entries, seq and hash, as in /audit.
    let auditor = app.user_with_role("auditor").await;
    let all = app.audit_entries(&auditor.token).await;
    for entry in entries {
        let same = all.iter().find(|e| e["seq"] == entry["seq"]).unwrap();
        assert_eq!(same, entry);
    }
    recompute_chain(&all).unwrap();
}

async fn every_read_of_a_file_is_in_the_access_log(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let auditor = app.user_with_role("auditor").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let file = new_file(
            &app,
            &caseworker.token,
            &json!({"full_name": format!("Salma {n}")}),
        )
        .await;
        ids.push(id_of(&file));
    }
    let one = &ids[0];
    app.get(&format!("/api/v1/detainees/{one}"), &caseworker.token)
        .await;
    app.get("/api/v1/detainees", &caseworker.token).await;
    app.get(&format!("/api/v1/detainees/{one}/history"), &auditor.token)
        .await;
    app.get(
        &format!("/api/v1/detainees/{one}/custody"),
        &caseworker.token,
    )
    .await;

    let access = |query: String| {
        let (app, token) = (&app, auditor.token.clone());
        async move {
            let res = app
                .get(&format!("/api/v1/audit/access?{query}"), &token)
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            let page: Value = res.json().await.unwrap();
            page["items"].as_array().unwrap().clone()
        }
    };
    let for_one = access(format!("entity_id={one}")).await;
    let actions: Vec<(&str, &str)> = for_one
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["actor_username"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("detainee.view", caseworker.username.as_str()),
            ("detainee.view", caseworker.username.as_str()),
            ("detainee.history", auditor.username.as_str()),
            ("detainee.custody", caseworker.username.as_str()),
        ]
    );
    // The list counted as a view of each file it returned.
    for id in &ids[1..] {
        let entries = access(format!("entity_id={id}")).await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["action"], "detainee.view");
    }
    let by_auditor = access(format!("actor_id={}", auditor.id)).await;
    assert_eq!(by_auditor.len(), 1);
    assert!(by_auditor[0]["request_id"].is_string());
    assert_eq!(by_auditor[0]["client_ip"], "127.0.0.1");
    assert!(access("since=2999-01-01T00:00:00Z".into()).await.is_empty());

    // Only auditors read it; it is append-only like the audit log.
    assert_problem(
        app.get("/api/v1/audit/access", &caseworker.token).await,
        403,
        "forbidden",
    )
    .await;
    let err = app
        .db
        .execute("DELETE FROM access_log")
        .expect_err("append-only");
    assert!(err.contains("append-only"), "{err}");
    let err = app
        .db
        .execute("UPDATE access_log SET actor_username = 'x'")
        .expect_err("append-only");
    assert!(err.contains("append-only"), "{err}");
}

scenarios! {
    both: [
        another_organisations_file_is_not_found_on_every_route,
        the_file_permission_table_holds,
        source_notes_are_shown_only_where_they_must_be,
        source_notes_are_withheld_from_every_single_file_answer_but_the_entitled,
        custody_history_is_recorded_and_checked,
        history_shows_each_change_old_to_new_oldest_first,
        every_read_of_a_file_is_in_the_access_log,
    ],
}
