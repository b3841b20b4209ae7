use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::scenarios;

async fn login_gives_a_token_pair_and_me_shows_the_account(engine: Engine) {
    let app = spawn_app(engine).await;
    let res = app.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["refresh_token"].as_str().unwrap().starts_with("sjr_"));

    let me = app
        .get("/api/v1/auth/me", body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["username"], "admin");
    assert_eq!(me["role"], "admin");
    assert!(me.get("password_hash").is_none());
    assert!(!me.to_string().contains("argon2"));
}

async fn usernames_are_case_insensitive_at_login(engine: Engine) {
    let app = spawn_app(engine).await;
    assert_eq!(
        app.login("ADMIN", ADMIN_PASSWORD).await.status(),
        StatusCode::OK
    );
}

async fn unknown_user_wrong_password_and_inactive_account_get_the_same_answer(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let user = app.user_with_role("caseworker").await;
    let get = app.get(&format!("/api/v1/users/{}", user.id), &admin).await;
    let etag = get.headers()["etag"].to_str().unwrap().to_owned();
    let res = app
        .patch(
            &format!("/api/v1/users/{}", user.id),
            &admin,
            &etag,
            &json!({"active": false}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let wrong = app.login("admin", "not the password at all 42").await;
    let unknown = app.login("nobody-here", "not the password at all 42").await;
    let inactive = app.login(&user.username, &user.password).await;
    let mut bodies = Vec::new();
    for res in [wrong, unknown, inactive] {
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        bodies.push(assert_problem(res, 401, "unauthorized").await);
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[1], bodies[2]);
}

async fn logout_ends_the_session_at_once(engine: Engine) {
    let app = spawn_app(engine).await;
    let (token, refresh) = app.login_ok("admin", ADMIN_PASSWORD).await;
    let (other_session, _) = app.login_ok("admin", ADMIN_PASSWORD).await;
    let res = app
        .request(
            reqwest::Method::POST,
            "/api/v1/auth/logout",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get("/api/v1/auth/me", &token).await,
        401,
        "unauthorized",
    )
    .await;
    let res = app
        .request(
            reqwest::Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(&json!({"refresh_token": refresh})),
        )
        .await;
    assert_problem(res, 401, "unauthorized").await;
    // Only that session ended.
    assert_eq!(
        app.get("/api/v1/auth/me", &other_session).await.status(),
        StatusCode::OK
    );
}

async fn deactivation_and_role_change_take_effect_at_once(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let auditor = app.user_with_role("auditor").await;
    assert_eq!(
        app.get("/api/v1/audit/head", &auditor.token).await.status(),
        StatusCode::OK
    );

    // An auditor in a documentation organisation may become a caseworker.
    let path = format!("/api/v1/users/{}", auditor.id);
    let res = app
        .patch(&path, &admin, "\"1\"", &json!({"role": "caseworker"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"], "\"2\"");
    assert_problem(
        app.get("/api/v1/audit/head", &auditor.token).await,
        403,
        "forbidden",
    )
    .await;
    let me: Value = app
        .get("/api/v1/auth/me", &auditor.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "caseworker");

    let res = app
        .patch(&path, &admin, "\"2\"", &json!({"active": false}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_problem(
        app.get("/api/v1/auth/me", &auditor.token).await,
        401,
        "unauthorized",
    )
    .await;

    // Reactivation does not revive the old sessions.
    let res = app
        .patch(&path, &admin, "\"3\"", &json!({"active": true}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_problem(
        app.get("/api/v1/auth/me", &auditor.token).await,
        401,
        "unauthorized",
    )
    .await;
    app.login_ok(&auditor.username, &auditor.password).await;
}

async fn refresh_rotates_and_reuse_ends_the_whole_session(engine: Engine) {
    let app = spawn_app(engine).await;
    let (_, first_refresh) = app.login_ok("admin", ADMIN_PASSWORD).await;
    let refresh = |token: String| {
        let app = &app;
        async move {
            app.request(
                reqwest::Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(&json!({"refresh_token": token})),
            )
            .await
        }
    };
    let res = refresh(first_refresh.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let pair: Value = res.json().await.unwrap();
    let (access, second_refresh) = (
        pair["access_token"].as_str().unwrap().to_owned(),
        pair["refresh_token"].as_str().unwrap().to_owned(),
    );
    assert_ne!(second_refresh, first_refresh);
    assert_eq!(
        app.get("/api/v1/auth/me", &access).await.status(),
        StatusCode::OK
    );

    // The first token comes back: someone copied it. The session ends.
    assert_problem(refresh(first_refresh).await, 401, "unauthorized").await;
    assert_problem(
        app.get("/api/v1/auth/me", &access).await,
        401,
        "unauthorized",
    )
    .await;
    assert_problem(refresh(second_refresh).await, 401, "unauthorized").await;
    assert_problem(refresh("sjr_made-up".into()).await, 401, "unauthorized").await;

    let auditor = app.user_with_role("auditor").await;
    let actions: Vec<String> = app
        .audit_entries(&auditor.token)
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(actions.contains(&"auth.refresh".to_owned()));
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "auth.refresh_reuse")
            .count(),
        1
    );
}

async fn five_failures_lock_the_username_and_it_recovers_by_itself(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.login_throttle_window = Duration::from_secs(3)).await;
    let other = app.user_with_role("auditor").await;
    for _ in 0..5 {
        assert_problem(
            app.login("admin", "wrong password entirely 1").await,
            401,
            "unauthorized",
        )
        .await;
    }
    // Locked: even the right password.
    let res = app.login("admin", ADMIN_PASSWORD).await;
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&retry_after), "Retry-After {retry_after}");
    assert_problem(res, 429, "rate_limited").await;
    // Another username from the same address is not locked.
    app.login_ok(&other.username, &other.password).await;
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let (admin, _) = app.login_ok("admin", ADMIN_PASSWORD).await;
    assert_eq!(
        app.get("/api/v1/auth/me", &admin).await.status(),
        StatusCode::OK
    );

    let entries = app.audit_entries(&other.token).await;
    let count = |action: &str| entries.iter().filter(|e| e["action"] == action).count();
    assert_eq!(count("auth.login_failed"), 5);
    assert_eq!(count("auth.locked"), 1);
    let locked = entries
        .iter()
        .find(|e| e["action"] == "auth.locked")
        .unwrap();
    assert_eq!(locked["changes"]["scope"][1], "username");
    assert_eq!(locked["entity_type"], "auth");
}

async fn failures_from_one_address_lock_that_address(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.login_max_failures_per_client = 3).await;
    for name in ["ghost-a", "ghost-b", "ghost-c"] {
        assert_problem(
            app.login(name, "wrong password entirely 1").await,
            401,
            "unauthorized",
        )
        .await;
    }
    assert_problem(
        app.login("admin", ADMIN_PASSWORD).await,
        429,
        "rate_limited",
    )
    .await;
}

async fn the_password_policy_is_enforced(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let org = app.create_organization(&admin, "documentation").await;
    let attempt = |password: String| {
        let (app, admin, org) = (&app, &admin, &org);
        async move {
            app.post(
                "/api/v1/users",
                admin,
                &json!({
                    "username": format!("u{}", uuid::Uuid::now_v7().simple()),
                    "password": password,
                    "display_name": "Policy Test",
                    "role": "caseworker",
                    "organization_id": org,
                }),
            )
            .await
        }
    };
    for weak in [
        "short1!".to_owned(),
        "password1234".to_owned(),
        "aaaaaaaaaaaaaaaa".to_owned(),
        "qwertyuiop123".to_owned(),
        "x7-Qz".repeat(26),
    ] {
        assert_problem(attempt(weak).await, 422, "validation_failed").await;
    }
    // Exactly 128 characters, and spaces kept as typed.
    let long: String = "a7-Qz b9!K".repeat(13).chars().take(128).collect();
    assert_eq!(attempt(long).await.status(), StatusCode::CREATED);
    assert_eq!(
        attempt("orchard Lantern 42 vessel".into()).await.status(),
        StatusCode::CREATED
    );
}

async fn passwords_are_rehashed_at_login_when_the_parameters_change(engine: Engine) {
    let app = spawn_app(engine).await;
    let user = app.user_with_role("auditor").await;
    let hash_of = |db: &TestDatabase, username: &str| {
        db.query_text(&format!(
            "SELECT password_hash AS value FROM users WHERE username = '{username}'"
        ))
    };
    assert!(hash_of(&app.db, &user.username).starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));

    // Restart on the same database with stronger parameters.
    let mut settings = app.settings.clone();
    settings.password_hash.memory_kib = 24_576;
    settings.password_hash.iterations = 3;
    let stronger = spawn_on(app.stop().await, settings).await;
    let (token, _) = stronger.login_ok(&user.username, &user.password).await;
    assert!(hash_of(&stronger.db, &user.username).starts_with("$argon2id$v=19$m=24576,t=3,p=1$"));
    let entries = stronger.audit_entries(&token).await;
    let login = entries
        .iter()
        .rev()
        .find(|e| e["action"] == "auth.login" && e["actor_username"] == user.username.as_str())
        .unwrap();
    assert_eq!(login["changes"]["password_rehashed"], json!([false, true]));
    // And the new hash verifies.
    stronger.login_ok(&user.username, &user.password).await;
}

/// Statuses of `n` logins sent at once, sorted.
async fn logins_at_once(app: &TestApp, n: usize, attempt: impl Fn(usize) -> Value) -> Vec<u16> {
    let requests = (0..n).map(|i| {
        let body = attempt(i);
        async move {
            app.request(
                reqwest::Method::POST,
                "/api/v1/auth/login",
                None,
                Some(&body),
            )
            .await
            .status()
            .as_u16()
        }
    });
    let mut statuses = futures_util::future::join_all(requests).await;
    statuses.sort();
    statuses
}

/// 24 wrong passwords for one username sent at once: no more passwords are
/// checked than one after another — five 401s, the rest 429 — and then the
/// right password is refused too, until the window passes.
async fn guesses_sent_at_once_are_limited_like_guesses_in_turn(engine: Engine) {
    let app = spawn_app(engine).await;
    let auditor = app.user_with_role("auditor").await;
    let statuses = logins_at_once(
        &app,
        24,
        |i| json!({"username": "admin", "password": format!("wrong guess number {i} ok")}),
    )
    .await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(checked, 5, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| matches!(s, 401 | 429)),
        "{statuses:?}"
    );
    assert_problem(
        app.login("admin", ADMIN_PASSWORD).await,
        429,
        "rate_limited",
    )
    .await;

    let entries = app.audit_entries(&auditor.token).await;
    let count = |action: &str| {
        entries
            .iter()
            .filter(|e| e["action"] == action && e["actor_username"] == "admin")
            .count()
    };
    assert_eq!(count("auth.login_failed"), 5);
    assert_eq!(count("auth.locked"), 1);
}

/// The per-address limit holds the same way: guesses at many usernames
/// from one address, sent at once.
async fn guesses_from_one_address_sent_at_once_are_limited(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.login_max_failures_per_client = 3).await;
    let statuses = logins_at_once(
        &app,
        24,
        |i| json!({"username": format!("ghost-{i}"), "password": "wrong guess entirely 1"}),
    )
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        3,
        "{statuses:?}"
    );
    assert_problem(
        app.login("admin", ADMIN_PASSWORD).await,
        429,
        "rate_limited",
    )
    .await;
}

/// A right password forgives its username's failures, but the address
/// they came from keeps counting them: a guesser's count is not wiped by
/// the victim logging in.
async fn a_success_forgives_the_username_not_the_address(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.login_max_failures_per_user = 3;
        s.login_max_failures_per_client = 3;
    })
    .await;
    for _ in 0..2 {
        assert_problem(
            app.login("admin", "wrong wrong wrong 1").await,
            401,
            "unauthorized",
        )
        .await;
    }
    // The owner logs in: admin may fail twice more before its lock …
    app.login_ok("admin", ADMIN_PASSWORD).await;
    // … but this address has one failure left.
    assert_problem(
        app.login("ghost-1", "wrong wrong wrong 1").await,
        401,
        "unauthorized",
    )
    .await;
    assert_problem(
        app.login("admin", "wrong wrong wrong 1").await,
        429,
        "rate_limited",
    )
    .await;
}

/// Behind a trusted proxy the client is the rightmost address the proxy
/// did not write for itself: the client cannot pick one by sending the
/// header, nor escape its address's limit. Without trusted proxies the
/// header is ignored.
async fn behind_trusted_proxies_the_client_cannot_choose_its_address(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.login_max_failures_per_client = 3;
        s.trusted_proxies = sijill::config::TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
    })
    .await;
    let auditor = app.user_with_role("auditor").await;
    let login_via = |forwarded: String, password: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/api/v1/auth/login"))
                .header("X-Forwarded-For", forwarded)
                .json(&json!({"username": "admin", "password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    // The client invents a different left part each time; our proxies
    // (127.0.0.1 and a 10.x hop) appended the real address 203.0.113.9.
    for i in 0..3 {
        let res = login_via(
            format!("198.51.100.{i}, 203.0.113.9, 10.1.2.3"),
            "wrong wrong wrong 1",
        )
        .await;
        assert_problem(res, 401, "unauthorized").await;
    }
    let res = login_via("198.51.100.77, 203.0.113.9".into(), ADMIN_PASSWORD).await;
    assert_problem(res, 429, "rate_limited").await;
    // Another real address is not locked.
    let res = login_via("203.0.113.10".into(), ADMIN_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);

    let entries = app.audit_entries(&auditor.token).await;
    let failed: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "auth.login_failed")
        .collect();
    assert_eq!(failed.len(), 3);
    assert!(
        failed.iter().all(|e| e["client_ip"] == "203.0.113.9"),
        "{failed:?}"
    );
    let login = entries
        .iter()
        .rev()
        .find(|e| e["action"] == "auth.login")
        .unwrap();
    assert_eq!(login["client_ip"], "203.0.113.10");

    // No trusted proxies: the header is the client's own and ignored.
    let direct = spawn_app(engine).await;
    let auditor = direct.user_with_role("auditor").await;
    let res = direct
        .client
        .post(direct.url("/api/v1/auth/login"))
        .header("X-Forwarded-For", "203.0.113.50")
        .json(&json!({"username": "admin", "password": "wrong wrong wrong 1"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
    let entries = direct.audit_entries(&auditor.token).await;
    let failed = entries
        .iter()
        .rev()
        .find(|e| e["action"] == "auth.login_failed")
        .unwrap();
    assert_eq!(failed["client_ip"], "127.0.0.1");
}

scenarios! {
    both: [
        login_gives_a_token_pair_and_me_shows_the_account,
        usernames_are_case_insensitive_at_login,
        unknown_user_wrong_password_and_inactive_account_get_the_same_answer,
        logout_ends_the_session_at_once,
        deactivation_and_role_change_take_effect_at_once,
        refresh_rotates_and_reuse_ends_the_whole_session,
        five_failures_lock_the_username_and_it_recovers_by_itself,
        failures_from_one_address_lock_that_address,
        the_password_policy_is_enforced,
        passwords_are_rehashed_at_login_when_the_parameters_change,
        guesses_sent_at_once_are_limited_like_guesses_in_turn,
        guesses_from_one_address_sent_at_once_are_limited,
        a_success_forgives_the_username_not_the_address,
        behind_trusted_proxies_the_client_cannot_choose_its_address,
    ],
}
