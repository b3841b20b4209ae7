//! Health, readiness, metrics and the OpenAPI document.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;
use crate::scenarios;

async fn health_and_readiness(engine: Engine) {
    let app = spawn_app(engine).await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

async fn metrics_count_requests_by_route_and_status(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let user_path = format!("/api/v1/users/{}", uuid::Uuid::now_v7());
    app.get(&user_path, &admin).await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"sijill_http_requests_total{method="POST",route="/api/v1/auth/login",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"route="/api/v1/users/{id}",status="404""#));
    assert!(text.contains("sijill_http_request_duration_seconds_bucket"));
    // Concrete ids never become labels.
    assert!(!text.contains(&user_path));
}

/// Every route the server answers is in the document, with the problem schema.
async fn the_openapi_document_lists_every_route(engine: Engine) {
    let app = spawn_app(engine).await;
    let doc: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    let expected = [
        ("post", "/api/v1/auth/login"),
        ("post", "/api/v1/auth/refresh"),
        ("post", "/api/v1/auth/logout"),
        ("get", "/api/v1/auth/me"),
        ("post", "/api/v1/organizations"),
        ("get", "/api/v1/organizations"),
        ("get", "/api/v1/organizations/{id}"),
        ("post", "/api/v1/users"),
        ("get", "/api/v1/users"),
        ("get", "/api/v1/users/{id}"),
        ("patch", "/api/v1/users/{id}"),
        ("post", "/api/v1/users/{id}/password"),
        ("post", "/api/v1/facilities"),
        ("get", "/api/v1/facilities"),
        ("get", "/api/v1/facilities/{id}"),
        ("patch", "/api/v1/facilities/{id}"),
        ("post", "/api/v1/detainees"),
        ("post", "/api/v1/detainees/search"),
        ("get", "/api/v1/detainees"),
        ("get", "/api/v1/detainees/{id}"),
        ("patch", "/api/v1/detainees/{id}"),
        ("delete", "/api/v1/detainees/{id}"),
        ("post", "/api/v1/detainees/{id}/restore"),
        ("get", "/api/v1/detainees/{id}/duplicates"),
        ("post", "/api/v1/detainees/{id}/merge"),
        ("post", "/api/v1/detainees/{id}/unmerge"),
        ("get", "/api/v1/detainees/{id}/custody"),
        ("post", "/api/v1/detainees/{id}/custody"),
        ("get", "/api/v1/detainees/{id}/history"),
        ("post", "/api/v1/detainees/{id}/reviews"),
        ("get", "/api/v1/detainees/{id}/reviews"),
        ("get", "/api/v1/reviews"),
        ("get", "/api/v1/reviews/{id}"),
        ("post", "/api/v1/reviews/{id}/claim"),
        ("post", "/api/v1/reviews/{id}/decision"),
        ("post", "/api/v1/reviews/{id}/confirm"),
        ("post", "/api/v1/reviews/{id}/dispute"),
        ("post", "/api/v1/reviews/{id}/withdraw"),
        ("post", "/api/v1/reviews/{id}/consultations"),
        ("get", "/api/v1/audit"),
        ("get", "/api/v1/audit/access"),
        ("get", "/api/v1/audit/verify"),
        ("get", "/api/v1/audit/head"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
        ("get", "/openapi.json"),
    ];
    let paths = doc["paths"].as_object().unwrap();
    let documented: usize = paths
        .values()
        .map(|ops| ops.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        expected.len(),
        "undocumented or unserved operations"
    );
    for (method, path) in expected {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} missing");
        let responses = op["responses"].as_object().unwrap();
        for (status, response) in responses {
            if status.starts_with('4') {
                let schema = &response["content"]["application/problem+json"]["schema"]["$ref"];
                assert_eq!(
                    schema, "#/components/schemas/Problem",
                    "{method} {path} {status}"
                );
            }
        }
        if path.starts_with("/api/v1/")
            && path != "/api/v1/auth/login"
            && path != "/api/v1/auth/refresh"
        {
            assert!(responses.contains_key("401"), "{method} {path} lacks 401");
        }
    }
}

/// Anonymous callers inventing methods, paths and ids add no series:
/// `/metrics` stays the same size whatever they send.
async fn anonymous_callers_cannot_grow_the_metrics(engine: Engine) {
    let app = spawn_app(engine).await;
    let lines = |app: &TestApp| {
        let url = app.url("/metrics");
        let client = app.client.clone();
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    // Warm up: the series a first anonymous visit creates (one of each).
    let warm = |n: usize| {
        let app = &app;
        async move {
            let method = reqwest::Method::from_bytes(format!("BREW{n}").as_bytes()).unwrap();
            app.client
                .request(
                    method,
                    app.url(&format!("/api/v1/detainees/{}", uuid::Uuid::now_v7())),
                )
                .send()
                .await
                .unwrap();
            app.client
                .get(app.url(&format!("/no/such/path/{n}")))
                .send()
                .await
                .unwrap();
        }
    };
    warm(0).await;
    lines(&app).await; // its own series, counted once it has answered
    let before = lines(&app).await;
    for n in 1..=60 {
        warm(n).await;
    }
    let after = lines(&app).await;
    assert!(!after.contains("BREW"), "an invented method became a label");
    assert!(
        !after.contains("/no/such/path"),
        "an invented path became a label"
    );
    assert!(after.contains(r#"method="other""#), "{after}");
    // The counts grew; the series did not.
    let series = |text: &str| text.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(series(&after), series(&before), "metrics grew");
}

scenarios! {
    both: [
        health_and_readiness,
        metrics_count_requests_by_route_and_status,
        the_openapi_document_lists_every_route,
        anonymous_callers_cannot_grow_the_metrics,
    ],
}
