//! The facility registry.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::scenarios;

async fn facilities_are_created_read_listed_and_updated(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let res = app
        .post("/api/v1/facilities", &caseworker.token, &sednaya())
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = res.json().await.unwrap();
    for (key, value) in sednaya().as_object().unwrap() {
        assert_eq!(&created[key], value, "{key} round-trips exactly");
    }
    assert_eq!(created["version"], 1);

    let fetched: Value = app
        .get(&location, &caseworker.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, created);

    // Minimal: status defaults to unknown.
    let res = app
        .post(
            "/api/v1/facilities",
            &caseworker.token,
            &json!({"name": "Branch 251", "kind": "intelligence_branch"}),
        )
        .await;
    let minimal: Value = res.json().await.unwrap();
    assert_eq!(minimal["status"], "unknown");
    assert_eq!(minimal["latitude"], Value::Null);

    // PATCH: If-Match required; null clears; absent members stay.
    let patch = json!({"controlling_authority": null, "status": "closed"});
    let res = app
        .request(
            reqwest::Method::PATCH,
            &location,
            Some(&caseworker.token),
            Some(&patch),
        )
        .await;
    assert_problem(res, 428, "precondition_required").await;
    assert_problem(
        app.patch(&location, &caseworker.token, "\"9\"", &patch)
            .await,
        412,
        "precondition_failed",
    )
    .await;
    let res = app
        .patch(&location, &caseworker.token, "\"1\"", &patch)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["controlling_authority"], Value::Null);
    assert_eq!(updated["status"], "closed");
    assert_eq!(updated["name_ar"], "سجن صيدنايا العسكري");
    let res = app
        .patch(
            &location,
            &caseworker.token,
            "\"2\"",
            &json!({"latitude": 33.7, "longitude": 36.4}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // Filters.
    let list = |query: &'static str| {
        let (app, token) = (&app, caseworker.token.clone());
        async move {
            let page: Value = app
                .get(&format!("/api/v1/facilities?{query}"), &token)
                .await
                .json()
                .await
                .unwrap();
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list("kind=military_prison").await,
        ["Sednaya Military Prison"]
    );
    assert_eq!(list("kind=intelligence_branch").await, ["Branch 251"]);
    assert_eq!(list("status=closed").await, ["Sednaya Military Prison"]);
    assert_eq!(
        list("governorate=Rif%20Dimashq").await,
        ["Sednaya Military Prison"]
    );
    assert_eq!(list("limit=1").await.len(), 1);
    assert_problem(
        app.get("/api/v1/facilities?kind=castle", &caseworker.token)
            .await,
        400,
        "invalid_query",
    )
    .await;

    // Audited, with a field-level diff; coordinates written as text.
    let auditor = app.user_with_role("auditor").await;
    let entries = app.audit_entries(&auditor.token).await;
    let id = created["id"].as_str().unwrap();
    let updates: Vec<&Value> = entries
        .iter()
        .filter(|e| e["entity_id"] == id && e["action"] == "facility.update")
        .collect();
    assert_eq!(updates.len(), 2);
    assert_eq!(
        updates[0]["changes"]["status"],
        json!(["liberated", "closed"])
    );
    assert_eq!(
        updates[0]["changes"]["controlling_authority"],
        json!(["Military Police", null])
    );
    assert_eq!(
        updates[1]["changes"]["latitude"],
        json!(["33.6649", "33.7"])
    );
    assert!(entries
        .iter()
        .any(|e| e["entity_id"] == id && e["action"] == "facility.create"));
    recompute_chain(&entries).unwrap();
}

async fn facility_input_is_validated(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut body = sednaya();
        edit(&mut body);
        body
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (with(&|b| b["name"] = json!("")), 422, "validation_failed"),
        (
            with(&|b| b["name"] = json!("x".repeat(201))),
            422,
            "validation_failed",
        ),
        (
            with(&|b| b["name"] = json!("Sednaya\u{0}")),
            422,
            "validation_failed",
        ),
        (
            with(&|b| b["name"] = json!("Sed\nnaya")),
            422,
            "validation_failed",
        ),
        (
            with(&|b| b["name_ar"] = json!("صيدنايا\u{202E}")),
            422,
            "validation_failed",
        ),
        (
            with(&|b| b["latitude"] = json!(91.0)),
            422,
            "validation_failed",
        ),
        (
            with(&|b| b["longitude"] = json!(-180.5)),
            422,
            "validation_failed",
        ),
        (
            with(&|b| {
                b.as_object_mut().unwrap().remove("longitude");
            }),
            422,
            "validation_failed",
        ),
        (
            with(&|b| b["notes"] = json!("n".repeat(10_001))),
            422,
            "validation_failed",
        ),
        (
            with(&|b| b["kind"] = json!("castle")),
            400,
            "validation_failed",
        ),
        (
            with(&|b| b["status"] = json!("demolished")),
            400,
            "validation_failed",
        ),
        (
            with(&|b| b["latitude"] = json!("north")),
            400,
            "validation_failed",
        ),
        (
            with(&|b| b["id"] = json!(uuid::Uuid::now_v7())),
            400,
            "unknown_field",
        ),
        (with(&|b| b["version"] = json!(3)), 400, "unknown_field"),
    ];
    for (body, status, code) in cases {
        assert_problem(
            app.post("/api/v1/facilities", &caseworker.token, &body)
                .await,
            status,
            code,
        )
        .await;
    }
    let ok = with(&|b| b["notes"] = json!("n".repeat(10_000)));
    assert_eq!(
        app.post("/api/v1/facilities", &caseworker.token, &ok)
            .await
            .status(),
        StatusCode::CREATED
    );
}

async fn every_role_reads_facilities_and_only_caseworkers_write(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let created: Value = app
        .post("/api/v1/facilities", &caseworker.token, &sednaya())
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/facilities/{}", created["id"].as_str().unwrap());
    for role in [
        "admin",
        "caseworker",
        "reviewer",
        "family_representative",
        "auditor",
    ] {
        let user = app.user_with_role(role).await;
        assert_eq!(
            app.get("/api/v1/facilities", &user.token).await.status(),
            StatusCode::OK,
            "{role}"
        );
        assert_eq!(
            app.get(&path, &user.token).await.status(),
            StatusCode::OK,
            "{role}"
        );
        let create = app
            .post("/api/v1/facilities", &user.token, &sednaya())
            .await
            .status()
            .as_u16();
        let version: Value = app.get(&path, &user.token).await.json().await.unwrap();
        let if_match = format!("\"{}\"", version["version"]);
        let patch = app
            .patch(
                &path,
                &user.token,
                &if_match,
                &json!({"notes": format!("seen by {role}")}),
            )
            .await
            .status()
            .as_u16();
        let expected = if role == "caseworker" {
            (201, 200)
        } else {
            (403, 403)
        };
        assert_eq!((create, patch), expected, "{role}");
    }
    let missing = format!("/api/v1/facilities/{}", uuid::Uuid::now_v7());
    assert_problem(app.get(&missing, &caseworker.token).await, 404, "not_found").await;
}

scenarios! {
    both: [
        facilities_are_created_read_listed_and_updated,
        facility_input_is_validated,
        every_role_reads_facilities_and_only_caseworkers_write,
    ],
}
