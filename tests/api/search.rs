//! Name search: any spelling, either script, any order; within scope.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::scenarios;

async fn search(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app.post("/api/v1/detainees/search", token, &body).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn names(results: &Value) -> Vec<String> {
    results["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["file"]["full_name"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_person_is_found_whatever_the_spelling_or_script(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let target = new_file(
        &app,
        &caseworker.token,
        &json!({
            "full_name": "Muhammad Abd al-Rahman Alhasan",
            "name_ar": "محمد عبد الرحمن الحسن",
            "aliases": ["Abu Ahmad"]
        }),
    )
    .await;
    for other in [
        "Fatima Haddad",
        "Mahmoud Qassem",
        "Hassan Darwish",
        "Omar Al-Khatib",
    ] {
        new_file(&app, &caseworker.token, &json!({"full_name": other})).await;
    }
    for q in [
        "محمد عبد الرحمن الحسن",
        "Mohamad Abdelrahman Al-Hassan",
        "Mohammed Abdul Rahman el Hasan",
        "Al-Hassan Mohammed",
        "Mhd Alhasan",
        "مُحَمَّد الحسن",
    ] {
        let results = search(&app, &caseworker.token, json!({"q": q})).await;
        let first = &results["items"][0];
        assert_eq!(first["file"]["id"], target["id"], "{q}: {results}");
        assert!(first["score"].as_f64().unwrap() > 0.7, "{q}");
        assert!(!first["matched_on"]["tokens"].as_array().unwrap().is_empty());
        assert!(first["file"].get("source_notes").is_none());
    }
    let by_alias = search(&app, &caseworker.token, json!({"q": "Abu Ahmad"})).await;
    assert_eq!(by_alias["items"][0]["matched_on"]["field"], "aliases");
    let nothing = search(&app, &caseworker.token, json!({"q": "Zeinab Kurdi"})).await;
    assert!(nothing["items"].as_array().unwrap().is_empty(), "{nothing}");
}

/// محمد/محمود and حسن/حسين share consonant skeletons but are different
/// names: the person asked for comes first, the others well below.
async fn names_with_the_same_skeleton_are_told_apart(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let mut ids = Vec::new();
    for (full_name, name_ar) in [
        ("Mohammed Ahmad Al-Hassan", "محمد أحمد الحسن"),
        ("Mahmoud Ahmad Al-Hassan", "محمود أحمد الحسن"),
        ("Mohammed Ahmad Al-Hussein", "محمد أحمد الحسين"),
    ] {
        let file = new_file(
            &app,
            &caseworker.token,
            &json!({"full_name": full_name, "name_ar": name_ar}),
        )
        .await;
        ids.push(file["id"].clone());
    }
    for (q, wanted) in [
        ("Muhammad Ahmed Alhasan", 0),
        ("محمود احمد الحسن", 1),
        ("Mohamad Ahmad El Hussein", 2),
    ] {
        let results = search(&app, &caseworker.token, json!({"q": q})).await;
        let items = results["items"].as_array().unwrap();
        assert_eq!(items[0]["file"]["id"], ids[wanted], "{q}: {results}");
        assert_eq!(items[0]["score"].as_f64().unwrap(), 1.0, "{q}");
        for other in &items[1..] {
            assert!(other["score"].as_f64().unwrap() < 0.9, "{q}: {results}");
        }
    }
}

/// More namesakes than one round of scoring, and a filter that only the
/// last of them passes: the search keeps reading candidates until it finds
/// it, instead of answering nothing.
async fn filters_do_not_empty_a_search_among_many_namesakes(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    for _ in 0..230 {
        new_file(
            &app,
            &caseworker.token,
            &json!({"full_name": "Mohammed Ahmad Al-Hassan", "status": "detained"}),
        )
        .await;
    }
    let wanted = new_file(
        &app,
        &caseworker.token,
        &json!({"full_name": "Mohammed Ahmad Al-Hassan", "status": "deceased"}),
    )
    .await;
    let results = search(
        &app,
        &caseworker.token,
        json!({"q": "محمد أحمد الحسن", "status": "deceased"}),
    )
    .await;
    let items = results["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{results}");
    assert_eq!(items[0]["file"]["id"], wanted["id"]);
    let all = search(
        &app,
        &caseworker.token,
        json!({"q": "محمد أحمد الحسن", "limit": 100}),
    )
    .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 100);
}

async fn search_respects_scope_archive_filters_and_renames(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.user_with_role("caseworker").await;
    let stranger = app.user_with_role("caseworker").await;
    let auditor = app.user_with_role("auditor").await;
    let file = new_file(
        &app,
        &owner.token,
        &json!({"full_name": "Ghassan Yusuf Qassem", "status": "detained"}),
    )
    .await;
    let id = file["id"].as_str().unwrap();
    let q = json!({"q": "Gassan Youssef Kassem"});
    assert_eq!(
        names(&search(&app, &owner.token, q.clone()).await),
        ["Ghassan Yusuf Qassem"]
    );
    assert!(
        names(&search(&app, &stranger.token, q.clone()).await).is_empty(),
        "another organisation's file"
    );
    assert_eq!(
        names(&search(&app, &auditor.token, q.clone()).await).len(),
        1
    );
    let filtered = search(
        &app,
        &owner.token,
        json!({"q": "Ghassan", "status": "released"}),
    )
    .await;
    assert!(names(&filtered).is_empty());

    // Renamed: found by the new name, not the old one.
    let path = format!("/api/v1/detainees/{id}");
    assert_eq!(
        app.patch(
            &path,
            &owner.token,
            "\"1\"",
            &json!({"full_name": "Shadi Tareq Haddad"})
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert!(names(&search(&app, &owner.token, q.clone()).await).is_empty());
    assert_eq!(
        names(&search(&app, &owner.token, json!({"q": "Chadi Haddad"})).await),
        ["Shadi Tareq Haddad"]
    );

    // Archived files only when asked.
    app.delete(&path, &owner.token, "\"2\"").await;
    assert!(names(&search(&app, &owner.token, json!({"q": "Shadi Haddad"})).await).is_empty());
    let archived = search(
        &app,
        &owner.token,
        json!({"q": "Shadi Haddad", "include_archived": true}),
    )
    .await;
    assert_eq!(names(&archived), ["Shadi Tareq Haddad"]);

    // Each returned file is in the access log; names are never in a URL.
    let res = app
        .get(
            &format!("/api/v1/audit/access?entity_id={id}"),
            &auditor.token,
        )
        .await;
    let page: Value = res.json().await.unwrap();
    assert!(page["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "detainee.search"));

    for (body, status, code) in [
        (json!({"q": ""}), 422, "validation_failed"),
        (json!({"q": "---"}), 422, "validation_failed"),
        (
            json!({"q": "Ghassan", "limit": 0}),
            422,
            "validation_failed",
        ),
        (
            json!({"q": "Ghassan", "limit": 101}),
            422,
            "validation_failed",
        ),
        (json!({"q": "Ghassan", "name": "x"}), 400, "unknown_field"),
        (json!({"status": "detained"}), 400, "validation_failed"),
    ] {
        assert_problem(
            app.post("/api/v1/detainees/search", &owner.token, &body)
                .await,
            status,
            code,
        )
        .await;
    }
    let family = app.user_with_role("family_representative").await;
    assert_problem(
        app.post("/api/v1/detainees/search", &family.token, &q)
            .await,
        403,
        "forbidden",
    )
    .await;
}

async fn likely_duplicates_come_with_their_reasons(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.user_with_role("caseworker").await;
    let stranger = app.user_with_role("caseworker").await;
    let base = json!({"sex": "male", "birth_date": "1987", "place_of_origin": "Douma"});
    let with = |name: &str, edit: &dyn Fn(&mut Value)| {
        let mut body = base.clone();
        body["full_name"] = json!(name);
        edit(&mut body);
        body
    };
    let a = new_file(
        &app,
        &owner.token,
        &with("Mohammed Abdulrahman Al-Hassan", &|_| {}),
    )
    .await;
    let b = new_file(&app, &owner.token, &with("محمد عبد الرحمن الحسن", &|_| {})).await;
    let c = new_file(
        &app,
        &owner.token,
        &with("Mohamad Al-Hassan", &|b| b["birth_date"] = json!("1960")),
    )
    .await;
    new_file(
        &app,
        &owner.token,
        &with("Fatima Haddad", &|b| b["sex"] = json!("female")),
    )
    .await;
    new_file(
        &app,
        &stranger.token,
        &with("Mohammed Abdulrahman Al-Hassan", &|_| {}),
    )
    .await;

    let path = format!("/api/v1/detainees/{}/duplicates", a["id"].as_str().unwrap());
    let res = app.get(&path, &owner.token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items[0]["file"]["id"], b["id"], "{body}");
    let reasons = items[0]["reasons"].to_string();
    assert!(
        reasons.contains("same birth year 1987") && reasons.contains("Douma"),
        "{reasons}"
    );
    // The older namesake ranks lower, if at all; another organisation's file never shows.
    if let Some(pos) = items.iter().position(|h| h["file"]["id"] == c["id"]) {
        assert!(pos > 0);
        assert!(items[pos]["reasons"]
            .to_string()
            .contains("birth years differ"));
    }
    assert_eq!(
        items
            .iter()
            .filter(|h| h["file"]["full_name"] == "Mohammed Abdulrahman Al-Hassan")
            .count(),
        0
    );
    assert!(items
        .iter()
        .all(|h| h["file"]["full_name"] != "Fatima Haddad"));
    assert_problem(app.get(&path, &stranger.token).await, 404, "not_found").await;
}

async fn duplicates_are_merged_and_a_merge_can_be_undone(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.user_with_role("caseworker").await;
    let stranger = app.user_with_role("caseworker").await;
    let facility = new_facility(&app, &owner.token).await;
    let a = new_file(
        &app,
        &owner.token,
        &json!({"full_name": "Mohammed Al-Hassan", "notes": "File A."}),
    )
    .await;
    let b = new_file(
        &app,
        &owner.token,
        &json!({
            "full_name": "محمد الحسن", "birth_date": "1987", "aliases": ["Abu Ahmad"],
            "notes": "File B.", "major_crimes_accusation": true
        }),
    )
    .await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    new_custody(
        &app,
        &owner.token,
        b_id,
        &json!({"facility_id": facility, "from": "2013"}),
    )
    .await;

    let merge = |token: String, survivor: String, duplicate: String| {
        let app = &app;
        async move {
            app.post(
                &format!("/api/v1/detainees/{survivor}/merge"),
                &token,
                &json!({"duplicate_id": duplicate}),
            )
            .await
        }
    };
    assert_problem(
        merge(owner.token.clone(), a_id.into(), a_id.into()).await,
        409,
        "conflict",
    )
    .await;
    assert_problem(
        merge(stranger.token.clone(), a_id.into(), b_id.into()).await,
        404,
        "not_found",
    )
    .await;
    // A duplicate that is not there, or not the caller's, is a bad value.
    let nowhere = uuid::Uuid::now_v7().to_string();
    assert_problem(
        merge(owner.token.clone(), a_id.into(), nowhere).await,
        422,
        "validation_failed",
    )
    .await;
    let res = merge(owner.token.clone(), a_id.into(), b_id.into()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let merged: Value = res.json().await.unwrap();
    assert_eq!(merged["birth_date"], "1987");
    assert_eq!(
        merged["major_crimes_accusation"], true,
        "an accusation is never lost by merging"
    );
    let aliases = merged["aliases"].to_string();
    assert!(
        aliases.contains("محمد الحسن") && aliases.contains("Abu Ahmad"),
        "{aliases}"
    );
    assert!(merged["notes"].as_str().unwrap().contains("File B."));
    let custody: Value = app
        .get(&format!("/api/v1/detainees/{a_id}/custody"), &owner.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(custody["items"].as_array().unwrap().len(), 1);
    let folded = file_of(&app, &owner.token, b_id).await;
    assert_eq!(folded["merged_into"], a_id);
    assert!(folded["archived_at"].is_string());
    let res = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/detainees/{b_id}/restore"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_problem(res, 409, "conflict").await;
    // The survivor is found by the duplicate's names now.
    let found = search(&app, &owner.token, json!({"q": "Abu Ahmad"})).await;
    assert_eq!(found["items"][0]["file"]["id"], a_id);

    // Undo: both files as they were, custody back where it came from.
    let res = app
        .post(
            &format!("/api/v1/detainees/{a_id}/unmerge"),
            &owner.token,
            &json!({"duplicate_id": b_id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let restored: Value = res.json().await.unwrap();
    assert_eq!(restored["birth_date"], Value::Null);
    assert_eq!(restored["aliases"], json!([]));
    assert_eq!(restored["notes"], "File A.");
    let back = file_of(&app, &owner.token, b_id).await;
    assert_eq!(
        (back["archived_at"].clone(), back["merged_into"].clone()),
        (Value::Null, Value::Null)
    );
    let custody: Value = app
        .get(&format!("/api/v1/detainees/{b_id}/custody"), &owner.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(custody["items"].as_array().unwrap().len(), 1);

    // A merge the survivor has moved on from is not undone blindly.
    assert_eq!(
        merge(owner.token.clone(), a_id.into(), b_id.into())
            .await
            .status(),
        StatusCode::OK
    );
    let etag = format!("\"{}\"", file_of(&app, &owner.token, a_id).await["version"]);
    app.patch(
        &format!("/api/v1/detainees/{a_id}"),
        &owner.token,
        &etag,
        &json!({"place_of_origin": "Douma"}),
    )
    .await;
    let res = app
        .post(
            &format!("/api/v1/detainees/{a_id}/unmerge"),
            &owner.token,
            &json!({"duplicate_id": b_id}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;

    // Files under an undecided review are not merged.
    let c = new_file(&app, &owner.token, &json!({"full_name": "Mohamad Alhasan"})).await;
    let c_id = c["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/detainees/{c_id}/reviews"),
        &owner.token,
        &json!({}),
    )
    .await;
    assert_problem(
        merge(owner.token.clone(), a_id.into(), c_id.into()).await,
        409,
        "conflict",
    )
    .await;

    // One audit entry per file touched, per merge and unmerge.
    let auditor = app.user_with_role("auditor").await;
    let entries = app.audit_entries(&auditor.token).await;
    let count = |action: &str, id: &str| {
        entries
            .iter()
            .filter(|e| e["action"] == action && e["entity_id"] == id)
            .count()
    };
    assert_eq!(
        (count("detainee.merge", a_id), count("detainee.merge", b_id)),
        (2, 2)
    );
    assert_eq!(
        (
            count("detainee.unmerge", a_id),
            count("detainee.unmerge", b_id)
        ),
        (1, 1)
    );
    recompute_chain(&entries).unwrap();
}

/// Two files that disagree on what a person is accused of: the merged file
/// keeps the graver category and both summaries, and the survivor's
/// clearance does not survive the merge. What the two would make together
/// but break a rule is refused, and neither file changes.
async fn a_merge_keeps_the_graver_accusation_and_every_rule(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let owner = &c.owner.token;
    let survivor = cleared_file(&app, &c).await;
    let s_id = survivor.as_str();
    let duplicate = new_file(
        &app,
        owner,
        &json!({
            "full_name": "Khalid Omar Al-Zein", "category": "criminal_accusation",
            "accusation_summary": "Accused of looting in Homs, 2012."
        }),
    )
    .await;
    let merge = |survivor: &str, duplicate: &str| {
        let (path, body) = (
            format!("/api/v1/detainees/{survivor}/merge"),
            json!({"duplicate_id": duplicate}),
        );
        let app = &app;
        async move { app.post(&path, owner, &body).await }
    };
    let res = merge(s_id, duplicate["id"].as_str().unwrap()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let merged: Value = res.json().await.unwrap();
    assert_eq!(merged["category"], "criminal_accusation");
    assert!(merged["accusation_summary"]
        .as_str()
        .unwrap()
        .contains("looting in Homs"));
    assert_eq!(merged["review_status"], "not_reviewed");
    assert_release_refused(&app, owner, s_id).await;

    // A refusal to release survives a merge into a cleared copy of the
    // same person.
    let cleared = cleared_file(&app, &c).await;
    let withheld = decided_file(&app, &c, "release_withheld").await;
    let res = merge(&cleared, &withheld).await;
    assert_eq!(res.status(), StatusCode::OK);
    let merged: Value = res.json().await.unwrap();
    assert_eq!(merged["review_status"], "release_withheld");

    // Notes that are each within the limit but not together; more names
    // than a file may hold.
    let long = |c: char| c.to_string().repeat(6_000);
    let pairs = [
        (
            json!({"full_name": "Adnan Saleh", "notes": long('a')}),
            json!({"full_name": "Adnan Salih", "notes": long('b')}),
        ),
        (
            json!({"full_name": "Adnan Saleh", "source_notes": long('c')}),
            json!({"full_name": "Adnan Salih", "source_notes": long('d')}),
        ),
        (
            json!({"full_name": "Adnan Saleh", "aliases": (0..15).map(|i| format!("Abu {i}")).collect::<Vec<_>>()}),
            json!({"full_name": "Adnan Salih", "aliases": (0..10).map(|i| format!("Ibn {i}")).collect::<Vec<_>>()}),
        ),
    ];
    for (a, b) in pairs {
        let a = new_file(&app, owner, &a).await;
        let b = new_file(&app, owner, &b).await;
        let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
        assert_problem(merge(a_id, b_id).await, 422, "validation_failed").await;
        let (a_now, b_now) = (
            file_of(&app, owner, a_id).await,
            file_of(&app, owner, b_id).await,
        );
        assert_eq!(
            (a_now["version"].clone(), b_now["version"].clone()),
            (json!(1), json!(1))
        );
        assert_eq!(b_now["archived_at"], Value::Null);
        // Still editable, as before.
        let res = app
            .patch(
                &format!("/api/v1/detainees/{a_id}"),
                owner,
                "\"1\"",
                &json!({"place_of_origin": "Homs"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
}

scenarios! {
    both: [
        duplicates_are_merged_and_a_merge_can_be_undone,
        names_with_the_same_skeleton_are_told_apart,
        filters_do_not_empty_a_search_among_many_namesakes,
        a_person_is_found_whatever_the_spelling_or_script,
        search_respects_scope_archive_filters_and_renames,
        likely_duplicates_come_with_their_reasons,
        a_merge_keeps_the_graver_accusation_and_every_rule,
    ],
}
