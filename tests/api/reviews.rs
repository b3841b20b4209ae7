//! Independent review before release: the workflow, its rules, who sees what.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::scenarios;

async fn a_political_detainee_is_reviewed_and_released(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let file = new_file(&app, &c.owner.token, &file_body(false)).await;
    let id = file["id"].as_str().unwrap();
    let review = open(&app, &c.owner.token, id).await;
    let rid = review["id"].as_str().unwrap();
    assert_eq!(review["status"], "open");
    assert_eq!(
        file_of(&app, &c.owner.token, id).await["review_status"],
        "pending_review"
    );

    // The reviewer finds it in their queue, with the file and its sources.
    let queue: Value = app
        .get("/api/v1/reviews?status=open", &c.reviewer.token)
        .await
        .json()
        .await
        .unwrap();
    let item = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == rid)
        .unwrap();
    assert_eq!(item["file"]["full_name"], "Anas Firas Al-Ali");
    // Queues carry the reduced view; the single review carries the whole file.
    assert!(item["file"].get("source_notes").is_none() && item["file"].get("notes").is_none());
    let single: Value = app
        .get(&format!("/api/v1/reviews/{rid}"), &c.reviewer.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        single["file"]["source_notes"],
        "Informant K., interviewed 2025-02-03."
    );
    let seen = file_of(&app, &c.reviewer.token, id).await;
    assert_eq!(
        seen["source_notes"],
        "Informant K., interviewed 2025-02-03."
    );

    let claimed = step_ok(&app, &c.reviewer.token, rid, "claim", json!({})).await;
    assert_eq!(claimed["status"], "in_review");
    assert_eq!(claimed["reviewer_id"], c.reviewer.id.as_str());
    assert_eq!(
        file_of(&app, &c.owner.token, id).await["review_status"],
        "under_review"
    );

    let decided = step_ok(
        &app,
        &c.reviewer.token,
        rid,
        "decision",
        json!({"decision": "cleared_for_release", "rationale": RATIONALE}),
    )
    .await;
    assert_eq!(decided["status"], "decided");
    assert_eq!(decided["decision"], "cleared_for_release");
    let cleared = file_of(&app, &c.owner.token, id).await;
    assert_eq!(cleared["review_status"], "cleared_for_release");

    // The release gate opens.
    let etag = format!("\"{}\"", cleared["version"]);
    let res = app
        .patch(
            &format!("/api/v1/detainees/{id}"),
            &c.owner.token,
            &etag,
            &json!({"status": "released", "released_on": "2025-01"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // Access ended for the reviewer once decided.
    assert_problem(
        app.get(&format!("/api/v1/detainees/{id}"), &c.reviewer.token)
            .await,
        404,
        "not_found",
    )
    .await;

    // Audited step by step, and in the file's history.
    let entries = app.audit_entries(&c.auditor.token).await;
    let steps: Vec<&str> = entries
        .iter()
        .filter(|e| e["entity_id"] == rid)
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["review.open", "review.claim", "review.decide"]);
    let decide = entries
        .iter()
        .find(|e| e["action"] == "review.decide")
        .unwrap();
    assert_eq!(
        decide["changes"]["file_review_status"],
        json!(["under_review", "cleared_for_release"])
    );
    assert_eq!(decide["changes"]["rationale"], json!([null, RATIONALE]));
    let history: Value = app
        .get(&format!("/api/v1/detainees/{id}/history"), &c.owner.token)
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "detainee.create",
            "review.open",
            "review.claim",
            "review.decide",
            "detainee.update"
        ]
    );
    recompute_chain(&entries).unwrap();
}

async fn a_major_crimes_case_needs_families_and_a_second_organisation(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let file = new_file(&app, &c.owner.token, &file_body(true)).await;
    let id = file["id"].as_str().unwrap();
    let rid = id_of(&open(&app, &c.owner.token, id).await);
    step_ok(&app, &c.reviewer.token, &rid, "claim", json!({})).await;

    let clear = json!({"decision": "cleared_for_release", "rationale": RATIONALE});
    let res = step(&app, &c.reviewer.token, &rid, "decision", clear.clone()).await;
    assert_problem(res, 409, "consultation_required").await;

    // The family representative sees it, reduced: no notes, no sources.
    let queue: Value = app
        .get(
            "/api/v1/reviews?awaiting_consultation=true",
            &c.family.token,
        )
        .await
        .json()
        .await
        .unwrap();
    let item = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == rid.as_str())
        .unwrap();
    assert_eq!(item["file"]["full_name"], "Tareq Samer Haddad");
    assert_eq!(
        item["file"]["accusation_summary"],
        "Accused of taking part in killings at a checkpoint in 2013."
    );
    for hidden in ["notes", "source_notes", "organization_id", "created_by"] {
        assert!(
            item["file"].get(hidden).is_none(),
            "{hidden} shown to a family representative"
        );
    }
    let single = app
        .get(&format!("/api/v1/reviews/{rid}"), &c.family.token)
        .await
        .text()
        .await
        .unwrap();
    assert!(!single.contains("Informant K.") && !single.contains("Family visits stopped"));
    assert_problem(
        app.get(&format!("/api/v1/detainees/{id}"), &c.family.token)
            .await,
        403,
        "forbidden",
    )
    .await;

    let res = step(&app, &c.family.token, &rid, "consultations",
        json!({"position": "opposes_release", "statement": "Our families hold testimony about the checkpoint."})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let consultation: Value = res.json().await.unwrap();
    assert_eq!(consultation["representative_id"], c.family.id.as_str());

    let waiting = step_ok(&app, &c.reviewer.token, &rid, "decision", clear.clone()).await;
    assert_eq!(waiting["status"], "awaiting_confirmation");
    assert_eq!(waiting["consultations"].as_array().unwrap().len(), 1);
    assert_eq!(
        file_of(&app, &c.owner.token, id).await["review_status"],
        "under_review"
    );

    // Not the claimant, not the claimant's organisation.
    assert_problem(
        step(&app, &c.reviewer.token, &rid, "confirm", json!({})).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        step(&app, &c.colleague.token, &rid, "confirm", json!({})).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        step(
            &app,
            &c.colleague.token,
            &rid,
            "dispute",
            json!({"reason": "x"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // The second organisation sees it (and the file) and disputes it.
    assert_eq!(
        app.get(&format!("/api/v1/detainees/{id}"), &c.second.token)
            .await
            .status(),
        StatusCode::OK
    );
    assert_problem(
        step(
            &app,
            &c.second.token,
            &rid,
            "dispute",
            json!({"reason": "  "}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    let disputed = step_ok(
        &app,
        &c.second.token,
        &rid,
        "dispute",
        json!({"reason": "The families' testimony was not weighed."}),
    )
    .await;
    assert_eq!(disputed["status"], "in_review");
    assert_eq!(disputed["decision"], Value::Null);

    step_ok(&app, &c.reviewer.token, &rid, "decision", clear).await;
    let confirmed = step_ok(
        &app,
        &c.second.token,
        &rid,
        "confirm",
        json!({"note": "Agreed after reading both statements."}),
    )
    .await;
    assert_eq!(confirmed["status"], "decided");
    assert_eq!(confirmed["confirmed_by"], c.second.id.as_str());
    assert_eq!(
        file_of(&app, &c.owner.token, id).await["review_status"],
        "cleared_for_release"
    );

    let entries = app.audit_entries(&c.auditor.token).await;
    let steps: Vec<&str> = entries
        .iter()
        .filter(|e| e["entity_id"] == rid.as_str())
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "review.open",
            "review.claim",
            "review.consult",
            "review.decide",
            "review.dispute",
            "review.decide",
            "review.confirm"
        ]
    );
}

async fn each_rule_refuses_the_request_that_breaks_it(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let file = new_file(&app, &c.owner.token, &file_body(false)).await;
    let id = file["id"].as_str().unwrap();
    let rid = id_of(&open(&app, &c.owner.token, id).await);

    // One undecided review per file.
    let res = app
        .post(
            &format!("/api/v1/detainees/{id}/reviews"),
            &c.owner.token,
            &json!({}),
        )
        .await;
    assert_problem(res, 409, "already_open").await;
    // Only the owner's caseworkers open reviews.
    let res = app
        .post(
            &format!("/api/v1/detainees/{id}/reviews"),
            &c.stranger.token,
            &json!({}),
        )
        .await;
    assert_problem(res, 404, "not_found").await;
    // Deciding an open review: not in the table.
    let body = assert_problem(
        step(
            &app,
            &c.reviewer.token,
            &rid,
            "decision",
            json!({"decision": "release_withheld", "rationale": RATIONALE}),
        )
        .await,
        409,
        "invalid_transition",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("open"),
        "names the state"
    );
    assert_problem(
        step(&app, &c.second.token, &rid, "confirm", json!({})).await,
        409,
        "invalid_transition",
    )
    .await;
    // Only reviewers claim.
    assert_problem(
        step(&app, &c.owner.token, &rid, "claim", json!({})).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        step(&app, &c.auditor.token, &rid, "claim", json!({})).await,
        403,
        "forbidden",
    )
    .await;

    step_ok(&app, &c.reviewer.token, &rid, "claim", json!({})).await;
    assert_problem(
        step(&app, &c.second.token, &rid, "claim", json!({})).await,
        409,
        "invalid_transition",
    )
    .await;
    // Only the claimant decides; a rationale of at least 20 characters.
    let withheld = json!({"decision": "release_withheld", "rationale": RATIONALE});
    assert_problem(
        step(&app, &c.colleague.token, &rid, "decision", withheld.clone()).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        step(&app, &c.second.token, &rid, "decision", withheld.clone()).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        step(
            &app,
            &c.reviewer.token,
            &rid,
            "decision",
            json!({"decision": "release_withheld", "rationale": "too short"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        step(
            &app,
            &c.reviewer.token,
            &rid,
            "decision",
            json!({"decision": "maybe", "rationale": RATIONALE}),
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    // Withdraw: only the owner's caseworkers, only while undecided.
    assert_problem(
        step(&app, &c.stranger.token, &rid, "withdraw", json!({})).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        step(&app, &c.reviewer.token, &rid, "withdraw", json!({})).await,
        403,
        "forbidden",
    )
    .await;
    let withdrawn = step_ok(
        &app,
        &c.owner.token,
        &rid,
        "withdraw",
        json!({"reason": "Filed twice."}),
    )
    .await;
    assert_eq!(withdrawn["status"], "withdrawn");
    assert_eq!(
        file_of(&app, &c.owner.token, id).await["review_status"],
        "not_reviewed"
    );
    assert_problem(
        step(&app, &c.owner.token, &rid, "withdraw", json!({})).await,
        409,
        "invalid_transition",
    )
    .await;

    // Decided reviews cannot be withdrawn; a new review may follow.
    let rid = id_of(&open(&app, &c.owner.token, id).await);
    step_ok(&app, &c.reviewer.token, &rid, "claim", json!({})).await;
    step_ok(&app, &c.reviewer.token, &rid, "decision", withheld).await;
    assert_eq!(
        file_of(&app, &c.owner.token, id).await["review_status"],
        "release_withheld"
    );
    assert_problem(
        step(&app, &c.owner.token, &rid, "withdraw", json!({})).await,
        409,
        "invalid_transition",
    )
    .await;
    assert_problem(
        step(&app, &c.reviewer.token, &rid, "claim", json!({})).await,
        409,
        "invalid_transition",
    )
    .await;
    // Consultations only on major-crimes files.
    assert_problem(
        step(
            &app,
            &c.family.token,
            &rid,
            "consultations",
            json!({"position": "no_position", "statement": "We have nothing to add."}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    // Unknown review.
    let missing = uuid::Uuid::now_v7().to_string();
    assert_problem(
        step(&app, &c.reviewer.token, &missing, "claim", json!({})).await,
        404,
        "not_found",
    )
    .await;
    // Mass assignment refused in step bodies.
    assert_problem(
        step(
            &app,
            &c.reviewer.token,
            &rid,
            "claim",
            json!({"reviewer_id": c.colleague.id}),
        )
        .await,
        400,
        "unknown_field",
    )
    .await;
}

async fn two_reviewers_claiming_at_once_have_one_winner(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    for round in 0..20 {
        let file = new_file(
            &app,
            &c.owner.token,
            &json!({"full_name": format!("Claim race {round}")}),
        )
        .await;
        let rid = id_of(&open(&app, &c.owner.token, file["id"].as_str().unwrap()).await);
        let (a, b) = tokio::join!(
            step(&app, &c.reviewer.token, &rid, "claim", json!({})),
            step(&app, &c.second.token, &rid, "claim", json!({})),
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "round {round}");
    }
}

async fn a_cleared_file_edited_afterwards_needs_review_again(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let file = new_file(&app, &c.owner.token, &file_body(false)).await;
    let id = file["id"].as_str().unwrap();
    let path = format!("/api/v1/detainees/{id}");
    // The gate is shut before any review.
    assert_problem(
        app.patch(
            &path,
            &c.owner.token,
            "\"1\"",
            &json!({"status": "released"}),
        )
        .await,
        409,
        "review_required",
    )
    .await;
    let rid = id_of(&open(&app, &c.owner.token, id).await);
    claim_and_decide(&app, &c.reviewer.token, &rid, "cleared_for_release").await;
    let cleared = file_of(&app, &c.owner.token, id).await;
    assert_eq!(cleared["review_status"], "cleared_for_release");
    let etag = format!("\"{}\"", cleared["version"]);

    // Other edits leave the clearance alone.
    let res = app
        .patch(
            &path,
            &c.owner.token,
            &etag,
            &json!({"notes": "Family contacted."}),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["review_status"], "cleared_for_release");
    // What the decision was about changes: back to not_reviewed, gate shut.
    let etag = format!("\"{}\"", body["version"]);
    let res = app
        .patch(
            &path,
            &c.owner.token,
            &etag,
            &json!({"major_crimes_accusation": true}),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["review_status"], "not_reviewed");
    let etag = format!("\"{}\"", body["version"]);
    assert_problem(
        app.patch(&path, &c.owner.token, &etag, &json!({"status": "released"}))
            .await,
        409,
        "review_required",
    )
    .await;
    // Changing the accusation and releasing in one edit is refused too.
    let file2 = new_file(&app, &c.owner.token, &file_body(false)).await;
    let id2 = file2["id"].as_str().unwrap();
    let rid2 = id_of(&open(&app, &c.owner.token, id2).await);
    claim_and_decide(&app, &c.reviewer.token, &rid2, "cleared_for_release").await;
    let v = file_of(&app, &c.owner.token, id2).await["version"].clone();
    let res = app
        .patch(
            &format!("/api/v1/detainees/{id2}"),
            &c.owner.token,
            &format!("\"{v}\""),
            &json!({"status": "released", "category": "criminal_accusation"}),
        )
        .await;
    assert_problem(res, 409, "review_required").await;
}

async fn each_role_sees_exactly_its_reviews(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let admin = app.admin_token().await;
    let plain = new_file(&app, &c.owner.token, &file_body(false)).await;
    let major = new_file(&app, &c.owner.token, &file_body(true)).await;
    let r_plain = id_of(&open(&app, &c.owner.token, plain["id"].as_str().unwrap()).await);
    let r_major = id_of(&open(&app, &c.owner.token, major["id"].as_str().unwrap()).await);

    let ids = |token: String, query: &'static str| {
        let app = &app;
        async move {
            let res = app.get(&format!("/api/v1/reviews{query}"), &token).await;
            assert_eq!(res.status(), StatusCode::OK);
            let page: Value = res.json().await.unwrap();
            let mut ids: Vec<String> = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    let mut both = vec![r_plain.clone(), r_major.clone()];
    both.sort();
    assert_eq!(ids(c.owner.token.clone(), "").await, both);
    assert!(ids(c.stranger.token.clone(), "").await.is_empty());
    assert_eq!(ids(c.reviewer.token.clone(), "").await, both);
    assert_eq!(
        ids(c.family.token.clone(), "").await,
        std::slice::from_ref(&r_major)
    );
    assert_eq!(
        ids(c.auditor.token.clone(), "?awaiting_consultation=true").await,
        std::slice::from_ref(&r_major)
    );
    assert_eq!(
        ids(c.auditor.token.clone(), "?awaiting_consultation=false").await,
        std::slice::from_ref(&r_plain)
    );
    assert_problem(app.get("/api/v1/reviews", &admin).await, 403, "forbidden").await;
    assert_problem(
        app.get(&format!("/api/v1/reviews/{r_plain}"), &c.stranger.token)
            .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.get(&format!("/api/v1/reviews/{r_plain}"), &c.family.token)
            .await,
        404,
        "not_found",
    )
    .await;

    // Once claimed, the review belongs to its claimant (and, awaiting
    // confirmation, to the other organisations).
    step_ok(&app, &c.reviewer.token, &r_plain, "claim", json!({})).await;
    assert!(ids(c.second.token.clone(), "").await.contains(&r_major));
    assert!(!ids(c.second.token.clone(), "").await.contains(&r_plain));
    let plain_path = format!("/api/v1/detainees/{}", plain["id"].as_str().unwrap());
    assert_problem(
        app.get(&plain_path, &c.second.token).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        app.get(&plain_path, &c.reviewer.token).await.status(),
        StatusCode::OK
    );
    // A reviewer's file list holds exactly the files they may act on.
    let files: Value = app
        .get("/api/v1/detainees", &c.second.token)
        .await
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = files["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [major["id"].as_str().unwrap()]);
    // Reviewers never edit files.
    assert_problem(
        app.patch(
            &plain_path,
            &c.reviewer.token,
            "\"3\"",
            &json!({"notes": "x"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    // Family representatives lose sight of a review once it is decided.
    claim_and_decide(&app, &c.reviewer.token, &r_major, "release_withheld").await;
    assert_problem(
        app.get(&format!("/api/v1/reviews/{r_major}"), &c.family.token)
            .await,
        404,
        "not_found",
    )
    .await;
    assert!(ids(c.family.token.clone(), "").await.is_empty());
    assert_eq!(
        app.get(&format!("/api/v1/reviews/{r_major}"), &c.auditor.token)
            .await
            .status(),
        StatusCode::OK
    );
    // The file's own review list, for its caseworkers and auditors.
    let list = app
        .get(
            &format!(
                "/api/v1/detainees/{}/reviews",
                major["id"].as_str().unwrap()
            ),
            &c.owner.token,
        )
        .await;
    let list: Value = list.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_problem(
        app.get(
            &format!(
                "/api/v1/detainees/{}/reviews",
                major["id"].as_str().unwrap()
            ),
            &c.stranger.token,
        )
        .await,
        404,
        "not_found",
    )
    .await;
}

/// A file cleared, then a new review opened, the accusation changed and the
/// review withdrawn: the old clearance does not come back, and the release
/// gate stays shut. Unchanged, the withdrawal restores it.
async fn a_withdrawn_review_brings_back_no_clearance_after_a_change_of_accusation(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let changes = [
        json!({"major_crimes_accusation": true}),
        json!({"category": "criminal_accusation"}),
        json!({"accusation_summary": "Named by a survivor as a guard at Branch 215."}),
    ];
    for change in changes {
        let id = cleared_file(&app, &c).await;
        let path = format!("/api/v1/detainees/{id}");
        let rid = id_of(&open(&app, &c.owner.token, &id).await);
        // Under review, the file can be neither archived …
        let res = app.delete(&path, &c.owner.token, "*").await;
        assert_problem(res, 409, "conflict").await;
        // … nor taken out of its accusation's reach by an edit and a withdrawal.
        let res = app.patch(&path, &c.owner.token, "*", &change).await;
        assert_eq!(res.status(), StatusCode::OK, "{change}");
        let withdrawn = step_ok(
            &app,
            &c.owner.token,
            &rid,
            "withdraw",
            json!({"reason": "Opened by mistake."}),
        )
        .await;
        assert_eq!(withdrawn["status"], "withdrawn");
        assert_eq!(
            file_of(&app, &c.owner.token, &id).await["review_status"],
            "not_reviewed",
            "{change}"
        );
        assert_release_refused(&app, &c.owner.token, &id).await;
    }
    // Nothing the decision was about changed (other edits, or a change
    // undone): the withdrawal gives the clearance back.
    let id = cleared_file(&app, &c).await;
    let path = format!("/api/v1/detainees/{id}");
    let rid = id_of(&open(&app, &c.owner.token, &id).await);
    for change in [
        json!({"notes": "The family visited the prison."}),
        json!({"category": "criminal_accusation"}),
        json!({"category": "political"}),
    ] {
        let res = app.patch(&path, &c.owner.token, "*", &change).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    step_ok(&app, &c.owner.token, &rid, "withdraw", json!({})).await;
    assert_eq!(
        file_of(&app, &c.owner.token, &id).await["review_status"],
        "cleared_for_release"
    );
    let res = app
        .patch(&path, &c.owner.token, "*", &json!({"status": "released"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// role × `GET /detainees/{id}/reviews` → status: the owner's caseworkers
/// and auditors; reviewers work from their queues, not from files.
async fn a_files_reviews_are_listed_for_its_owner_and_auditors_only(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let admin = app.admin_token().await;
    let file = new_file(&app, &c.owner.token, &file_body(true)).await;
    let id = file["id"].as_str().unwrap();
    let rid = id_of(&open(&app, &c.owner.token, id).await);
    // The reviewer may act on the review (and read the file) …
    step_ok(&app, &c.reviewer.token, &rid, "claim", json!({})).await;
    assert_eq!(
        app.get(&format!("/api/v1/detainees/{id}"), &c.reviewer.token)
            .await
            .status(),
        StatusCode::OK
    );
    // … but not list the file's reviews.
    let path = format!("/api/v1/detainees/{id}/reviews");
    let table: [(&str, &str, u16); 7] = [
        ("owner's caseworker", &c.owner.token, 200),
        ("another caseworker", &c.stranger.token, 404),
        ("the claimant", &c.reviewer.token, 403),
        ("another reviewer", &c.second.token, 403),
        ("family representative", &c.family.token, 403),
        ("auditor", &c.auditor.token, 200),
        ("admin", &admin, 403),
    ];
    let mut wrong = Vec::new();
    for (who, token, expected) in table {
        let status = app.get(&path, token).await.status().as_u16();
        if status != expected {
            wrong.push(format!("{who}: {status}, expected {expected}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_problem(app.get(&path, &c.reviewer.token).await, 403, "forbidden").await;
}

scenarios! {
    both: [
        a_political_detainee_is_reviewed_and_released,
        a_major_crimes_case_needs_families_and_a_second_organisation,
        each_rule_refuses_the_request_that_breaks_it,
        two_reviewers_claiming_at_once_have_one_winner,
        a_cleared_file_edited_afterwards_needs_review_again,
        each_role_sees_exactly_its_reviews,
        a_withdrawn_review_brings_back_no_clearance_after_a_change_of_accusation,
        a_files_reviews_are_listed_for_its_owner_and_auditors_only,
    ],
}
