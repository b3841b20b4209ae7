//! Organisations and accounts.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::scenarios;

async fn first_start_creates_administration_and_admin(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let orgs: Value = app
        .get("/api/v1/organizations", &admin)
        .await
        .json()
        .await
        .unwrap();
    let items = orgs["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "Administration");
    assert_eq!(items[0]["kind"], "administration");

    let auditor = app.user_with_role("auditor").await;
    let entries = app.audit_entries(&auditor.token).await;
    assert_eq!(entries[0]["action"], "organization.create");
    assert_eq!(entries[0]["actor_username"], "system");
    assert_eq!(entries[1]["action"], "user.create");
    assert_eq!(entries[1]["changes"]["username"], json!([null, "admin"]));
}

async fn organizations_are_created_listed_and_read(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let res = app
        .post(
            "/api/v1/organizations",
            &admin,
            &json!({"name": "رابطة عائلات قيصر", "kind": "family_association"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/organizations/{}", created["id"].as_str().unwrap())
    );
    assert_eq!(created["name"], "رابطة عائلات قيصر");

    let fetched: Value = app.get(&location, &admin).await.json().await.unwrap();
    assert_eq!(fetched, created);

    // Names are unique, whatever the case.
    let res = app
        .post(
            "/api/v1/organizations",
            &admin,
            &json!({"name": "رابطة عائلات قيصر", "kind": "documentation"}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;
    app.post(
        "/api/v1/organizations",
        &admin,
        &json!({"name": "Syrian Archive", "kind": "documentation"}),
    )
    .await;
    let res = app
        .post(
            "/api/v1/organizations",
            &admin,
            &json!({"name": "SYRIAN ARCHIVE", "kind": "documentation"}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;

    for bad in [
        json!({"name": "", "kind": "documentation"}),
        json!({"name": "a\u{0}b", "kind": "documentation"}),
    ] {
        assert_problem(
            app.post("/api/v1/organizations", &admin, &bad).await,
            422,
            "validation_failed",
        )
        .await;
    }
    let res = app
        .post(
            "/api/v1/organizations",
            &admin,
            &json!({"name": "X", "kind": "militia"}),
        )
        .await;
    assert_problem(res, 400, "validation_failed").await;

    let filtered: Value = app
        .get("/api/v1/organizations?kind=family_association", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
    let missing = format!("/api/v1/organizations/{}", uuid::Uuid::now_v7());
    assert_problem(app.get(&missing, &admin).await, 404, "not_found").await;
}

async fn roles_must_fit_the_organisation_kind(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let mut orgs = std::collections::HashMap::new();
    for kind in [
        "administration",
        "documentation",
        "independent_review",
        "family_association",
    ] {
        orgs.insert(kind, app.create_organization(&admin, kind).await);
    }
    let fits = |role: &str, kind: &str| match role {
        "auditor" => true,
        _ => kind_for(role) == kind,
    };
    for role in [
        "admin",
        "caseworker",
        "reviewer",
        "family_representative",
        "auditor",
    ] {
        for (kind, org) in &orgs {
            let res = app
                .post(
                    "/api/v1/users",
                    &admin,
                    &json!({
                        "username": format!("u{}", uuid::Uuid::now_v7().simple()),
                        "password": strong_password(),
                        "display_name": "Fit Test",
                        "role": role,
                        "organization_id": org,
                    }),
                )
                .await;
            if fits(role, kind) {
                assert_eq!(res.status(), StatusCode::CREATED, "{role} in {kind}");
            } else {
                assert_problem(res, 422, "validation_failed").await;
            }
        }
    }
    // The same rule on PATCH.
    let caseworker = app
        .user_in(&admin, orgs["documentation"].as_str(), "caseworker")
        .await;
    let res = app
        .patch(
            &format!("/api/v1/users/{}", caseworker.id),
            &admin,
            "\"1\"",
            &json!({"role": "reviewer"}),
        )
        .await;
    assert_problem(res, 422, "validation_failed").await;
    // An unknown organisation.
    let res = app
        .post(
            "/api/v1/users",
            &admin,
            &json!({"username": "someone", "password": strong_password(), "display_name": "S",
                    "role": "auditor", "organization_id": uuid::Uuid::now_v7()}),
        )
        .await;
    assert_problem(res, 422, "validation_failed").await;
}

async fn accounts_are_created_read_updated_with_if_match(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let user = app.user_with_role("caseworker").await;
    let path = format!("/api/v1/users/{}", user.id);

    let res = app.get(&path, &admin).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["username"], user.username.as_str());
    assert_eq!(body["active"], true);
    assert!(body.get("password").is_none() && body.get("password_hash").is_none());

    // Duplicate usernames, in any case.
    let res = app
        .post(
            "/api/v1/users",
            &admin,
            &json!({"username": user.username.to_uppercase(), "password": strong_password(),
                    "display_name": "Dup", "role": "caseworker", "organization_id": user.organization_id}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;

    // PATCH without If-Match, with a stale one, then right.
    let patch = json!({"display_name": "Rima Kh."});
    let res = app
        .request(reqwest::Method::PATCH, &path, Some(&admin), Some(&patch))
        .await;
    assert_problem(res, 428, "precondition_required").await;
    assert_problem(
        app.patch(&path, &admin, "\"7\"", &patch).await,
        412,
        "precondition_failed",
    )
    .await;
    assert_problem(
        app.patch(&path, &admin, "W/\"1\"", &patch).await,
        412,
        "precondition_failed",
    )
    .await;
    let res = app.patch(&path, &admin, "\"1\"", &patch).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["display_name"], "Rima Kh.");
    assert_eq!(body["version"], 2);
    // The loser of a race gets 412 and changes nothing.
    let res = app
        .patch(&path, &admin, "\"1\"", &json!({"display_name": "Lost"}))
        .await;
    assert_problem(res, 412, "precondition_failed").await;
    let body: Value = app.get(&path, &admin).await.json().await.unwrap();
    assert_eq!(body["display_name"], "Rima Kh.");

    // Mass assignment is refused.
    for smuggled in [
        json!({"organization_id": uuid::Uuid::now_v7()}),
        json!({"version": 9}),
        json!({"username": "x"}),
        json!({"password": "y"}),
    ] {
        assert_problem(
            app.patch(&path, &admin, "\"2\"", &smuggled).await,
            400,
            "unknown_field",
        )
        .await;
    }
    for bad in [
        json!({"display_name": ""}),
        json!({"display_name": "x".repeat(201)}),
    ] {
        assert_problem(
            app.patch(&path, &admin, "\"2\"", &bad).await,
            422,
            "validation_failed",
        )
        .await;
    }

    let auditor = app.user_with_role("auditor").await;
    let entries = app.audit_entries(&auditor.token).await;
    let updates: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "user.update" && e["entity_id"] == user.id.as_str())
        .collect();
    assert_eq!(updates.len(), 1);
    assert_eq!(
        updates[0]["changes"]["display_name"],
        json!(["Test caseworker", "Rima Kh."])
    );
    assert_eq!(updates[0]["changes"]["version"], json!([1, 2]));
}

async fn concurrent_edits_of_one_version_have_one_winner(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let user = app.user_with_role("caseworker").await;
    let path = format!("/api/v1/users/{}", user.id);
    for round in 1..=5 {
        let version = format!("\"{round}\"");
        let (body_a, body_b) = (
            json!({"display_name": format!("A {round}")}),
            json!({"display_name": format!("B {round}")}),
        );
        let (a, b) = tokio::join!(
            app.patch(&path, &admin, &version, &body_a),
            app.patch(&path, &admin, &version, &body_b),
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 412], "round {round}");
    }
    // `If-Match: *` applies to whatever version is current: both succeed.
    let (body_a, body_b) = (
        json!({"display_name": "Star A"}),
        json!({"display_name": "Star B"}),
    );
    let (a, b) = tokio::join!(
        app.patch(&path, &admin, "*", &body_a),
        app.patch(&path, &admin, "*", &body_b),
    );
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let body: Value = app.get(&path, &admin).await.json().await.unwrap();
    assert_eq!(body["version"], 8);
}

async fn admins_cannot_lock_themselves_out(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let me: Value = app
        .get("/api/v1/auth/me", &admin)
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/users/{}", me["id"].as_str().unwrap());
    assert_problem(
        app.patch(&path, &admin, "\"1\"", &json!({"active": false}))
            .await,
        409,
        "conflict",
    )
    .await;
    assert_problem(
        app.patch(&path, &admin, "\"1\"", &json!({"role": "auditor"}))
            .await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(
        app.get("/api/v1/auth/me", &admin).await.status(),
        StatusCode::OK
    );
}

async fn a_password_reset_ends_sessions_and_sets_the_new_password(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let user = app.user_with_role("reviewer").await;
    let path = format!("/api/v1/users/{}/password", user.id);
    assert_problem(
        app.post(&path, &admin, &json!({"password": "password1234"}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    let new_password = strong_password();
    let res = app
        .post(&path, &admin, &json!({"password": new_password}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get("/api/v1/auth/me", &user.token).await,
        401,
        "unauthorized",
    )
    .await;
    assert_problem(
        app.login(&user.username, &user.password).await,
        401,
        "unauthorized",
    )
    .await;
    app.login_ok(&user.username, &new_password).await;
    let missing = format!("/api/v1/users/{}/password", uuid::Uuid::now_v7());
    assert_problem(
        app.post(&missing, &admin, &json!({"password": strong_password()}))
            .await,
        404,
        "not_found",
    )
    .await;
}

async fn user_lists_paginate_and_filter(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let org = app.create_organization(&admin, "documentation").await;
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(app.user_in(&admin, &org, "caseworker").await.id);
    }
    let mut seen = Vec::new();
    let mut path = format!("/api/v1/users?organization_id={org}&limit=2");
    loop {
        let page: Value = app.get(&path, &admin).await.json().await.unwrap();
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/users?organization_id={org}&limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, created);
    let admins: Value = app
        .get("/api/v1/users?role=admin", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(admins["items"].as_array().unwrap().len(), 1);
    let inactive: Value = app
        .get("/api/v1/users?active=false", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inactive["items"].as_array().unwrap().len(), 0);
}

scenarios! {
    both: [
        first_start_creates_administration_and_admin,
        organizations_are_created_listed_and_read,
        roles_must_fit_the_organisation_kind,
        accounts_are_created_read_updated_with_if_match,
        concurrent_edits_of_one_version_have_one_winner,
        admins_cannot_lock_themselves_out,
        a_password_reset_ends_sessions_and_sets_the_new_password,
        user_lists_paginate_and_filter,
    ],
}
