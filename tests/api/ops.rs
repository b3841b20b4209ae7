//! Health, readiness, metrics and the OpenAPI document.

use reqwest::StatusCode;

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

/// The document and the router agree, method by method, on every path: the
/// document is collected from the very registration that serves the routes
/// (`startup::routes`), and this checks it from outside. A documented method
/// is served (never 405); every other method on a documented path is 405
/// with exactly the documented methods in `Allow`; paths below documented
/// ones are 404. Every error response is problem+json.
async fn the_openapi_document_lists_every_route(engine: Engine) {
    let app = spawn_app(engine).await;
    let doc = app.openapi().await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 30, "only {} paths documented", paths.len());
    // Operation ids are unique, and every link names one of them.
    let ids: Vec<&str> = paths
        .values()
        .flat_map(|ops| ops.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap())
        .collect();
    let unique: std::collections::HashSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "repeated operationId in {ids:?}");
    let etag_links = &doc["paths"]["/api/v1/detainees/{id}"]["get"]["responses"]["200"]["links"];
    assert_eq!(
        etag_links["patch"]["parameters"]["header.If-Match"],
        "$response.header.ETag"
    );
    for link in paths
        .values()
        .flat_map(|ops| ops.as_object().unwrap().values())
        .flat_map(|op| op["responses"].as_object().unwrap().values())
        .filter_map(|response| response["links"].as_object())
        .flat_map(|links| links.values())
    {
        let target = link["operationId"].as_str().unwrap();
        assert!(
            ids.contains(&target),
            "a link to {target}, which is no operation"
        );
    }
    const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    for (path, operations) in paths {
        let operations = operations.as_object().unwrap();
        let concrete = path.replace("{id}", &uuid::Uuid::now_v7().to_string());
        assert!(!concrete.contains('{'), "{path}: unknown parameter");
        let documented: Vec<&str> = METHODS
            .into_iter()
            .filter(|m| operations.contains_key(&m.to_lowercase()))
            .collect();
        assert!(!documented.is_empty(), "{path} has no operation");
        // Anonymous requests: nothing is changed, whatever the route does.
        for method in METHODS {
            let res = app
                .client
                .request(
                    reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                    app.url(&concrete),
                )
                .send()
                .await
                .unwrap();
            if documented.contains(&method) {
                assert_ne!(
                    res.status(),
                    405,
                    "{method} {path} is documented but not served"
                );
            } else {
                let allow = res.headers()["allow"].to_str().unwrap().to_owned();
                assert_problem(res, 405, "method_not_allowed").await;
                assert_eq!(allow, documented.join(", "), "Allow of {path}");
            }
        }
        // Below a path with no documented path under it, nothing is served.
        if !paths
            .keys()
            .any(|p| p.starts_with(path.as_str()) && p != path)
        {
            let below = format!("{concrete}/nothing-here");
            let res = app.client.get(app.url(&below)).send().await.unwrap();
            assert_problem(res, 404, "not_found").await;
        }
        for (method, operation) in operations {
            let responses = operation["responses"].as_object().unwrap();
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &response["content"]["application/problem+json"]["schema"]["$ref"];
                    assert_eq!(
                        schema, "#/components/schemas/Problem",
                        "{method} {path} {status}"
                    );
                }
            }
            let public = ["/api/v1/auth/login", "/api/v1/auth/refresh"];
            if path.starts_with("/api/v1/") && !public.contains(&path.as_str()) {
                assert!(responses.contains_key("401"), "{method} {path} lacks 401");
            }
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
