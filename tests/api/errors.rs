//! Every bad input is a problem+json with a stable code; never a 500, never a framework page.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::scenarios;

async fn bad_bodies_are_problems(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let post_raw = |body: &'static str, content_type: Option<&'static str>| {
        let mut req = app
            .client
            .post(app.url("/api/v1/organizations"))
            .bearer_auth(&admin)
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    assert_problem(
        post_raw("{\"name\": ", Some("application/json"))
            .await
            .unwrap(),
        400,
        "invalid_json",
    )
    .await;
    assert_problem(
        post_raw("", Some("application/json")).await.unwrap(),
        400,
        "invalid_json",
    )
    .await;
    assert_problem(
        post_raw("[1,2]", Some("application/json")).await.unwrap(),
        400,
        "validation_failed",
    )
    .await;
    assert_problem(
        post_raw(
            "{\"name\": 5, \"kind\": \"documentation\"}",
            Some("application/json"),
        )
        .await
        .unwrap(),
        400,
        "validation_failed",
    )
    .await;
    let body = assert_problem(
        post_raw(
            "{\"name\": \"N\", \"kind\": \"documentation\", \"id\": \"x\"}",
            Some("application/json"),
        )
        .await
        .unwrap(),
        400,
        "unknown_field",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("`id`"));
    assert!(!body["detail"].as_str().unwrap().contains("line"));
    assert_problem(
        post_raw(
            "{\"name\": \"N\", \"kind\": \"documentation\"}",
            Some("text/plain"),
        )
        .await
        .unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;
    assert_problem(
        post_raw("{\"name\": \"N\"}", None).await.unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;

    let huge = format!(
        "{{\"name\": \"{}\", \"kind\": \"documentation\"}}",
        "x".repeat(300 * 1024)
    );
    let res = app
        .client
        .post(app.url("/api/v1/organizations"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_problem(res, 413, "payload_too_large").await;
    // The same for anonymous callers on the public login route.
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(format!(
            "{{\"username\": \"{}\", \"password\": \"x\"}}",
            "a".repeat(300 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_problem(res, 413, "payload_too_large").await;
    let res = app
        .request(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&json!({"username": "admin"})),
        )
        .await;
    assert_problem(res, 400, "validation_failed").await;
}

async fn bad_paths_and_queries_are_problems(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    assert_problem(
        app.get("/api/v1/users/not-a-uuid", &admin).await,
        400,
        "invalid_path",
    )
    .await;
    assert_problem(
        app.get("/api/v1/organizations/123", &admin).await,
        400,
        "invalid_path",
    )
    .await;
    assert_problem(
        app.get("/api/v1/users?limit=abc", &admin).await,
        400,
        "invalid_query",
    )
    .await;
    assert_problem(
        app.get("/api/v1/users?limit=0", &admin).await,
        400,
        "invalid_query",
    )
    .await;
    assert_problem(
        app.get("/api/v1/users?limit=201", &admin).await,
        400,
        "invalid_query",
    )
    .await;
    assert_problem(
        app.get("/api/v1/users?role=overlord", &admin).await,
        400,
        "invalid_query",
    )
    .await;
    assert_problem(
        app.get("/api/v1/users?active=perhaps", &admin).await,
        400,
        "invalid_query",
    )
    .await;
    assert_problem(
        app.get("/api/v1/users?cursor=%%%", &admin).await,
        400,
        "invalid_cursor",
    )
    .await;
    assert_problem(
        app.get("/api/v1/users?cursor=Z2FyYmFnZQ", &admin).await,
        400,
        "invalid_cursor",
    )
    .await;
    let body = assert_problem(
        app.get("/api/v1/users?name=Ahmad", &admin).await,
        400,
        "unknown_parameter",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("`name`"));
    assert_problem(
        app.get("/api/v1/organizations?kind=militia", &admin).await,
        400,
        "invalid_query",
    )
    .await;
}

async fn unknown_routes_and_methods_are_problems(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    assert_problem(
        app.get("/api/v1/nothing-here", &admin).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(app.get("/favicon.ico", &admin).await, 404, "not_found").await;
    let res = app
        .client
        .delete(app.url("/api/v1/organizations"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["allow"], "GET, POST");
    assert_problem(res, 405, "method_not_allowed").await;
    let res = app
        .client
        .put(app.url("/api/v1/users/00000000-0000-0000-0000-000000000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["allow"], "GET, PATCH");
    assert_problem(res, 405, "method_not_allowed").await;
    let res = app
        .client
        .get(app.url("/api/v1/auth/login"))
        .send()
        .await
        .unwrap();
    assert_problem(res, 405, "method_not_allowed").await;
}

async fn oversized_headers_are_refused_before_any_handler(engine: Engine) {
    let app = spawn_app(engine).await;
    let res = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .header("X-Padding", "p".repeat(20 * 1024))
        .send()
        .await
        .unwrap();
    assert_problem(res, 431, "request_header_fields_too_large").await;
    // Beyond what the HTTP parser buffers, it refuses the head itself.
    let res = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .header("X-Padding", "p".repeat(200 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}

async fn request_ids_are_kept_or_made_and_responses_are_not_cached(engine: Engine) {
    let app = spawn_app(engine).await;
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("X-Request-Id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("X-Request-Id", "has spaces and \"quotes\"")
        .send()
        .await
        .unwrap();
    let generated = res.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok());
    let admin = app.admin_token().await;
    for path in ["/api/v1/auth/me", "/api/v1/users", "/api/v1/nothing"] {
        let res = app.get(path, &admin).await;
        assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
        assert!(res.headers().contains_key("x-request-id"));
    }
}

scenarios! {
    both: [
        bad_bodies_are_problems,
        bad_paths_and_queries_are_problems,
        unknown_routes_and_methods_are_problems,
        oversized_headers_are_refused_before_any_handler,
        request_ids_are_kept_or_made_and_responses_are_not_cached,
    ],
}
