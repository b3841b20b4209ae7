//! The second factor (TOTP): enrolment, the two-step login, codes used
//! once (also under races), wrong codes counted with wrong passwords, the
//! `mfa_token`'s bindings, the policy for each role, disabling, an admin's
//! reset and the command line. The RFC 6238 test vectors are checked in
//! `src/auth/mfa/codes.rs`.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use sijill::auth::mfa::codes;
use sijill::users::Role;

use crate::helpers::*;
use crate::scenarios;

scenarios! {
    both: [
        enrolling_confirming_and_logging_in_with_a_code,
        a_recovery_code_works_once,
        wrong_codes_count_toward_the_login_limit,
        parallel_wrong_codes_are_checked_no_more_than_the_limit,
        a_code_and_an_mfa_token_are_each_accepted_once_under_races,
        a_stolen_mfa_token_is_refused,
        enrolling_ends_the_sessions_opened_by_password_alone,
        a_deactivation_racing_a_code_login_ends_cleanly,
        confirmations_and_restarts_racing_confirm_one_enrolment,
        the_policy_for_each_role,
        disabling_needs_a_code_and_wrong_ones_count,
        an_admin_resets_another_accounts_second_factor,
        the_command_line_enrols_resets_and_prints_codes,
    ],
}

// ----------------------------------------------------------------- helpers

/// A server with the default policy: admins and auditors need a second factor.
async fn spawn_with_default_policy(engine: Engine) -> TestApp {
    spawn_app_with(engine, |s| {
        s.mfa_required_roles = vec![Role::Admin, Role::Auditor];
    })
    .await
}

/// The code of the step `offset` steps from now.
fn code(secret: &[u8], offset: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    codes::code_of_step(secret, codes::step_at(now) + offset)
}

/// Six digits that are none of the codes accepted now.
fn wrong_code(secret: &[u8]) -> String {
    let valid: BTreeSet<String> = (-2..=2).map(|o| code(secret, o)).collect();
    (0..)
        .map(|n: u32| format!("{:06}", (n * 7919 + 123_457) % 1_000_000))
        .find(|c| !valid.contains(c))
        .unwrap()
}

struct Enrolled {
    secret: Vec<u8>,
    recovery: Vec<String>,
}

async fn start(app: &TestApp, token: &str) -> Value {
    let res = app.post("/api/v1/auth/mfa/totp", token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    res.json().await.unwrap()
}

/// Enrol the session's account and confirm with the current code.
async fn enrol(app: &TestApp, token: &str) -> Enrolled {
    let started = start(app, token).await;
    let secret = codes::decode_base32(started["secret"].as_str().unwrap()).unwrap();
    let first_code = code(&secret, 0);
    let res = app
        .post(
            "/api/v1/auth/mfa/totp/confirm",
            token,
            &json!({"code": first_code}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let recovery = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    Enrolled { secret, recovery }
}

/// The first step of a login that needs a code: its `mfa_token`.
async fn password_step(app: &TestApp, username: &str, password: &str) -> String {
    let res = app.login(username, password).await;
    let body = assert_problem(res, 401, "mfa_required").await;
    assert!(body.get("access_token").is_none());
    let token = body["mfa_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("sjm_"), "{token}");
    token
}

async fn code_step(app: &TestApp, mfa_token: &str, code: &str) -> Response {
    app.request(
        Method::POST,
        "/api/v1/auth/login/mfa",
        None,
        Some(&json!({"mfa_token": mfa_token, "code": code})),
    )
    .await
}

/// Finish a login with `code`; the access token.
async fn code_step_ok(app: &TestApp, mfa_token: &str, code: &str) -> String {
    let res = code_step(app, mfa_token, code).await;
    assert_eq!(res.status(), StatusCode::OK, "{:?}", res.text().await);
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn mfa_status(app: &TestApp, token: &str) -> Value {
    let res = app.get("/api/v1/auth/mfa/totp", token).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// An account of `role` that has enrolled, and a session proven with its code.
async fn enrolled_user(app: &TestApp, admin: &str, role: &str) -> (TestUser, Enrolled) {
    let org = app.create_organization(admin, kind_for(role)).await;
    let mut user = app.user_in(admin, &org, role).await;
    let enrolled = enrol(app, &user.token).await;
    let mfa_token = password_step(app, &user.username, &user.password).await;
    user.token = code_step_ok(app, &mfa_token, &code(&enrolled.secret, 1)).await;
    (user, enrolled)
}

/// The bootstrap admin, enrolled, with a session proven with its code.
async fn enrolled_admin(app: &TestApp) -> String {
    let (password_only, _) = app.login_ok("admin", ADMIN_PASSWORD).await;
    enrol(app, &password_only).await;
    // Confirming proves this session.
    password_only
}

/// Every string in a JSON value, keys included.
fn strings_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings_in(v, out)),
        Value::Object(members) => {
            for (key, v) in members {
                out.push(key.clone());
                strings_in(v, out);
            }
        }
        _ => {}
    }
}

fn actions_of(entries: &[Value], action: &str) -> Vec<Value> {
    entries
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect()
}

// --------------------------------------------------------------- scenarios

/// An admin logs in with a password, can do nothing but enrol, enrols
/// with a phone app's first code, and from then on logs in in two steps;
/// neither the secret nor any code is stored or audited in clear.
async fn enrolling_confirming_and_logging_in_with_a_code(engine: Engine) {
    let app = spawn_with_default_policy(engine).await;
    let (admin, _) = app.login_ok("admin", ADMIN_PASSWORD).await;
    let status = mfa_status(&app, &admin).await;
    assert_eq!(status["status"], "none");
    assert_eq!(status["required"], true);
    assert_eq!(status["session_second_factor"], Value::Null);
    let res = app.get("/api/v1/users", &admin).await;
    assert_problem(res, 403, "mfa_enrolment_required").await;

    let started = start(&app, &admin).await;
    let secret_text = started["secret"].as_str().unwrap().to_owned();
    let secret = codes::decode_base32(&secret_text).unwrap();
    assert_eq!(secret.len(), 20);
    let uri = started["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/sijill:admin?"), "{uri}");
    assert!(uri.contains(&format!("secret={secret_text}")));
    assert_eq!(
        (
            &started["algorithm"],
            &started["digits"],
            &started["period"]
        ),
        (&json!("SHA1"), &json!(6), &json!(30))
    );
    assert_eq!(mfa_status(&app, &admin).await["status"], "pending");
    // Still nothing but enrolling until confirmed.
    let res = app.get("/api/v1/users", &admin).await;
    assert_problem(res, 403, "mfa_enrolment_required").await;

    let confirm = |code: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.post(
                "/api/v1/auth/mfa/totp/confirm",
                &admin,
                &json!({ "code": code }),
            )
            .await
        }
    };
    assert_problem(confirm(wrong_code(&secret)).await, 422, "mfa_code_mismatch").await;
    let first_code = code(&secret, 0);
    let res = confirm(first_code.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let recovery: Vec<String> = res.json::<Value>().await.unwrap()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);
    assert_eq!(recovery.iter().collect::<BTreeSet<_>>().len(), 10);
    assert!(recovery
        .iter()
        .all(|c| c.len() == 14 && c.matches('-').count() == 2));
    let status = mfa_status(&app, &admin).await;
    assert_eq!(
        (&status["status"], &status["recovery_codes_left"]),
        (&json!("confirmed"), &json!(10))
    );
    assert_eq!(status["session_second_factor"], "totp");
    // Confirming proved this session.
    assert_eq!(app.get("/api/v1/users", &admin).await.status(), 200);
    let res = app.post("/api/v1/auth/mfa/totp", &admin, &json!({})).await;
    assert_problem(res, 409, "mfa_already_enrolled").await;
    assert_problem(confirm(code(&secret, 1)).await, 409, "mfa_already_enrolled").await;

    // The login now takes two steps; the code that confirmed is spent.
    let res = app.login("admin", ADMIN_PASSWORD).await;
    let problem = assert_problem(res, 401, "mfa_required").await;
    assert_eq!(problem["expires_in"], 300);
    let mfa_token = problem["mfa_token"].as_str().unwrap().to_owned();
    let res = code_step(&app, &mfa_token, &first_code).await;
    assert_problem(res, 401, "mfa_code_invalid").await;
    let res = code_step(&app, &mfa_token, "not a code").await;
    assert_problem(res, 401, "mfa_code_invalid").await;
    let used = code(&secret, 1);
    let admin = code_step_ok(&app, &mfa_token, &used).await;
    assert_eq!(app.get("/api/v1/users", &admin).await.status(), 200);
    // A replay of the code that just worked, with a new password step.
    let again = password_step(&app, "admin", ADMIN_PASSWORD).await;
    assert_problem(
        code_step(&app, &again, &used).await,
        401,
        "mfa_code_invalid",
    )
    .await;

    // An auditor enrols the same way, and reads the log.
    let org = app.create_organization(&admin, "documentation").await;
    let auditor = app.user_in(&admin, &org, "auditor").await;
    let res = app.get("/api/v1/audit", &auditor.token).await;
    assert_problem(res, 403, "mfa_enrolment_required").await;
    let auditor_factor = enrol(&app, &auditor.token).await;
    let entries = app.audit_entries(&auditor.token).await;
    recompute_chain(&entries).unwrap();
    let enrolments = actions_of(&entries, "auth.mfa_enrol");
    assert_eq!(enrolments.len(), 4, "start and confirm, twice");
    assert_eq!(enrolments[0]["changes"]["status"], json!([null, "pending"]));
    assert_eq!(
        enrolments[1]["changes"]["status"],
        json!(["pending", "confirmed"])
    );
    assert_eq!(
        enrolments[1]["changes"]["recovery_codes"],
        json!([null, 10])
    );
    let logins = actions_of(&entries, "auth.login");
    let last_admin_login = logins
        .iter()
        .rev()
        .find(|e| e["actor_username"] == "admin")
        .unwrap();
    assert_eq!(
        last_admin_login["changes"]["second_factor"],
        json!([null, "totp"])
    );
    assert_eq!(actions_of(&entries, "auth.mfa_challenge").len(), 2);
    let failed = actions_of(&entries, "auth.mfa_failed");
    assert_eq!(failed.len(), 3);
    assert!(failed
        .iter()
        .all(|e| e["changes"]["during"] == json!([null, "login"])));
    assert_eq!(failed[1]["changes"]["reason"], json!([null, "wrong_code"]));

    // No secret, code or token in the log (any text of an entry holding
    // one), nor in clear in the database.
    let mut texts = Vec::new();
    for entry in &entries {
        strings_in(entry, &mut texts);
    }
    let auditor_secret = codes::base32(&auditor_factor.secret);
    let mut secrets = vec![secret_text.clone(), auditor_secret, mfa_token, again];
    secrets.extend(recovery.iter().cloned());
    secrets.extend(recovery.iter().map(|c| c.replace('-', "")));
    secrets.extend(auditor_factor.recovery.iter().cloned());
    for secret in &secrets {
        assert!(
            texts.iter().all(|t| !t.contains(secret.as_str())),
            "{secret} in the audit log"
        );
    }
    // Six digits may appear inside a hash or a timestamp: a code must not
    // be a value of its own.
    for code in [&first_code, &used] {
        assert!(texts.iter().all(|t| t != code), "{code} in the audit log");
    }
    let stored = app
        .db
        .query_text("SELECT secret_sealed AS value FROM totp_credentials LIMIT 1");
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
    let stored_hashes = app
        .db
        .query_text("SELECT code_hash AS value FROM recovery_codes LIMIT 1");
    assert!(stored_hashes.starts_with("$argon2id$"), "{stored_hashes}");
    if engine == Engine::Sqlite {
        let mut bytes = Vec::new();
        for suffix in ["", "-wal"] {
            let path = format!("{}{suffix}", app.db.url.trim_start_matches("sqlite://"));
            bytes.extend(std::fs::read(path).unwrap_or_default());
        }
        let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(
            !contains(secret_text.as_bytes()),
            "the base32 secret on disk"
        );
        assert!(!contains(&secret), "the raw secret on disk");
        for code in &recovery {
            assert!(!contains(code.replace('-', "").as_bytes()));
        }
    }
}

/// A recovery code (typed in any case, with spaces) logs in once.
async fn a_recovery_code_works_once(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let (user, enrolled) = enrolled_user(&app, &admin, "caseworker").await;
    let recovery = enrolled.recovery[3].to_uppercase().replace('-', " ");
    let mfa_token = password_step(&app, &user.username, &user.password).await;
    let token = code_step_ok(&app, &mfa_token, &recovery).await;
    let status = mfa_status(&app, &token).await;
    assert_eq!(status["recovery_codes_left"], 9);
    assert_eq!(status["session_second_factor"], "recovery_code");
    let mfa_token = password_step(&app, &user.username, &user.password).await;
    let res = code_step(&app, &mfa_token, &enrolled.recovery[3]).await;
    assert_problem(res, 401, "mfa_code_invalid").await;
    // Another one still works, with the same token.
    code_step_ok(&app, &mfa_token, &enrolled.recovery[4]).await;

    let auditor = app.user_with_role("auditor").await;
    let entries = app.audit_entries(&auditor.token).await;
    let login = actions_of(&entries, "auth.login")
        .into_iter()
        .filter(|e| e["actor_username"] == user.username.as_str())
        .nth(2)
        .unwrap();
    assert_eq!(
        login["changes"]["second_factor"],
        json!([null, "recovery_code"])
    );
    assert_eq!(login["changes"]["recovery_codes_left"], json!([null, 9]));
}

/// Five wrong codes lock the username as five wrong passwords would: the
/// right code is then refused (429), and so is the password.
async fn wrong_codes_count_toward_the_login_limit(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let (user, enrolled) = enrolled_user(&app, &admin, "caseworker").await;
    // Two wrong passwords and three wrong codes make five failures.
    for _ in 0..2 {
        let res = app.login(&user.username, "not the password at all").await;
        assert_problem(res, 401, "unauthorized").await;
    }
    let mfa_token = password_step(&app, &user.username, &user.password).await;
    for _ in 0..3 {
        let res = code_step(&app, &mfa_token, &wrong_code(&enrolled.secret)).await;
        assert_problem(res, 401, "mfa_code_invalid").await;
    }
    // A right code (a recovery code: unused, not a replay): the username is locked.
    let res = code_step(&app, &mfa_token, &enrolled.recovery[0]).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 429, "rate_limited").await;
    let res = app.login(&user.username, &user.password).await;
    assert_problem(res, 429, "rate_limited").await;
    let auditor = app.user_with_role("auditor").await;
    let entries = app.audit_entries(&auditor.token).await;
    let mine = |action: &str| {
        actions_of(&entries, action)
            .into_iter()
            .filter(|e| e["entity_id"] == user.id.as_str())
            .count()
    };
    assert_eq!(mine("auth.login_failed"), 2);
    assert_eq!(mine("auth.mfa_failed"), 3);
    assert_eq!(mine("auth.locked"), 1);
    // The recovery code presented while locked was not used.
    assert_eq!(
        mfa_status(&app, &user.token).await["recovery_codes_left"],
        10
    );
}

/// Wrong codes sent at once with one `mfa_token`: no more are checked
/// than the limit; the rest wait (429). Several rounds, each a new account.
async fn parallel_wrong_codes_are_checked_no_more_than_the_limit(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    for round in 0..4 {
        let (user, enrolled) = enrolled_user(&app, &admin, "caseworker").await;
        let mfa_token = password_step(&app, &user.username, &user.password).await;
        let wrong = wrong_code(&enrolled.secret);
        let guesses = (0..12).map(|_| code_step(&app, &mfa_token, &wrong));
        let statuses: Vec<u16> = futures_util::future::join_all(guesses)
            .await
            .iter()
            .map(|r| r.status().as_u16())
            .collect();
        let checked = statuses.iter().filter(|s| **s == 401).count();
        let waited = statuses.iter().filter(|s| **s == 429).count();
        assert_eq!((checked, waited), (5, 7), "round {round}: {statuses:?}");
    }
}

/// The same code on two logins at once, and one `mfa_token` with two good
/// codes at once: exactly one login each time. Several rounds.
async fn a_code_and_an_mfa_token_are_each_accepted_once_under_races(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    for round in 0..4 {
        let org = app.create_organization(&admin, "documentation").await;
        let user = app.user_in(&admin, &org, "caseworker").await;
        let enrolled = enrol(&app, &user.token).await;
        let first = password_step(&app, &user.username, &user.password).await;
        let second = password_step(&app, &user.username, &user.password).await;
        let code = code(&enrolled.secret, 1);
        let (a, b) = tokio::join!(
            code_step(&app, &first, &code),
            code_step(&app, &second, &code)
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 401], "round {round}: one code, two logins");

        let third = password_step(&app, &user.username, &user.password).await;
        let (a, b) = tokio::join!(
            code_step(&app, &third, &enrolled.recovery[0]),
            code_step(&app, &third, &enrolled.recovery[1])
        );
        let (a_status, b_status) = (a.status().as_u16(), b.status().as_u16());
        let refused = if a_status == 200 { b } else { a };
        assert!(
            [a_status, b_status].contains(&200),
            "round {round}: {a_status} {b_status}"
        );
        assert_problem(refused, 401, "mfa_token_invalid").await;
    }
}

/// An `mfa_token` works once, within its lifetime, from the address that
/// logged in, and while the account is as it was; a refused token does not
/// spend the code it came with.
async fn a_stolen_mfa_token_is_refused(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.trusted_proxies = sijill::config::TrustedProxies::parse("127.0.0.1").unwrap();
    })
    .await;
    let admin = app.admin_token().await;
    let (user, enrolled) = enrolled_user(&app, &admin, "caseworker").await;
    let refused = |res: Response| assert_problem(res, 401, "mfa_token_invalid");

    // Used twice.
    let mfa_token = password_step(&app, &user.username, &user.password).await;
    code_step_ok(&app, &mfa_token, &enrolled.recovery[0]).await;
    refused(code_step(&app, &mfa_token, &enrolled.recovery[1]).await).await;

    // From another address.
    let from = |address: &'static str, body: Value| {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("X-Forwarded-For", address)
            .json(&body)
            .send()
    };
    let res = from(
        "203.0.113.7",
        json!({"username": user.username, "password": user.password}),
    )
    .await
    .unwrap();
    let stolen = assert_problem(res, 401, "mfa_required").await["mfa_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .client
        .post(app.url("/api/v1/auth/login/mfa"))
        .header("X-Forwarded-For", "198.51.100.9")
        .json(&json!({"mfa_token": stolen, "code": enrolled.recovery[1]}))
        .send()
        .await
        .unwrap();
    refused(res).await;

    // After the password was reset between the two steps.
    let mfa_token = password_step(&app, &user.username, &user.password).await;
    let set_password = |password: String| {
        let (app, admin, id) = (&app, admin.clone(), user.id.clone());
        async move {
            let path = format!("/api/v1/users/{id}/password");
            let res = app
                .post(&path, &admin, &json!({ "password": password }))
                .await;
            assert_eq!(res.status(), 204);
        }
    };
    set_password(strong_password()).await;
    refused(code_step(&app, &mfa_token, &enrolled.recovery[1]).await).await;
    set_password(user.password.clone()).await;

    // After the account changed (its role) between the two steps.
    let mfa_token = password_step(&app, &user.username, &user.password).await;
    let res = app
        .patch(
            &format!("/api/v1/users/{}", user.id),
            &admin,
            "*",
            &json!({"role": "auditor"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    refused(code_step(&app, &mfa_token, &enrolled.recovery[1]).await).await;
    refused(code_step(&app, "sjm_made-up", &enrolled.recovery[1]).await).await;

    // None of the refusals spent the recovery code.
    let mfa_token = password_step(&app, &user.username, &user.password).await;
    let token = code_step_ok(&app, &mfa_token, &enrolled.recovery[1]).await;
    assert_eq!(mfa_status(&app, &token).await["recovery_codes_left"], 8);

    // After an admin removed the second factor between the two steps.
    let mfa_token = password_step(&app, &user.username, &user.password).await;
    let path = format!("/api/v1/users/{}/mfa/reset", user.id);
    assert_eq!(app.post(&path, &admin, &json!({})).await.status(), 204);
    refused(code_step(&app, &mfa_token, &enrolled.recovery[2]).await).await;

    // After its lifetime (a server where it is 3 seconds).
    let app = spawn_app_with(engine, |s| s.mfa_token_ttl = Duration::from_secs(3)).await;
    let admin = app.admin_token().await;
    let (user, enrolled) = enrolled_user(&app, &admin, "caseworker").await;
    let mfa_token = password_step(&app, &user.username, &user.password).await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    refused(code_step(&app, &mfa_token, &enrolled.recovery[0]).await).await;
    assert_eq!(
        mfa_status(&app, &user.token).await["recovery_codes_left"],
        10
    );
}

/// Enrolling ends the account's other sessions opened by password alone:
/// whoever made its owner enrol keeps nothing.
async fn enrolling_ends_the_sessions_opened_by_password_alone(engine: Engine) {
    let app = spawn_app(engine).await;
    let user = app.user_with_role("caseworker").await;
    let (other, _) = app.login_ok(&user.username, &user.password).await;
    enrol(&app, &user.token).await;
    assert_eq!(app.get("/api/v1/auth/me", &other).await.status(), 401);
    assert_eq!(
        app.get("/api/v1/detainees", &user.token).await.status(),
        200
    );
    let auditor = app.user_with_role("auditor").await;
    let entries = app.audit_entries(&auditor.token).await;
    let confirmed = actions_of(&entries, "auth.mfa_enrol")
        .into_iter()
        .find(|e| e["changes"]["status"] == json!(["pending", "confirmed"]))
        .unwrap();
    assert_eq!(confirmed["changes"]["sessions_ended"], json!([0, 1]));
}

/// An admin deactivating an account while it finishes a login with a code:
/// one or the other first, never a 500 or a deadlock, and never a session
/// of a deactivated account. Several rounds.
async fn a_deactivation_racing_a_code_login_ends_cleanly(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let (user, enrolled) = enrolled_user(&app, &admin, "caseworker").await;
    let path = format!("/api/v1/users/{}", user.id);
    for round in 0..6 {
        let mfa_token = password_step(&app, &user.username, &user.password).await;
        let inactive = json!({"active": false});
        let deactivate = app.patch(&path, &admin, "*", &inactive);
        let (login, deactivated) = tokio::join!(
            code_step(&app, &mfa_token, &enrolled.recovery[round]),
            deactivate
        );
        assert_eq!(deactivated.status(), 200, "round {round}");
        let status = login.status().as_u16();
        assert!([200, 401].contains(&status), "round {round}: {status}");
        if status == 200 {
            let body: Value = login.json().await.unwrap();
            let token = body["access_token"].as_str().unwrap();
            assert_eq!(app.get("/api/v1/auth/me", token).await.status(), 401);
        } else {
            assert_problem(login, 401, "mfa_token_invalid").await;
        }
        let res = app
            .patch(&path, &admin, "*", &json!({"active": true}))
            .await;
        assert_eq!(res.status(), 200);
    }
}

/// Each role under the default policy, and under another: where the role
/// needs a second factor, a session without one may only read its account,
/// log out and enrol. (`permissions.rs` runs every route this way.)
async fn the_policy_for_each_role(engine: Engine) {
    let app = spawn_with_default_policy(engine).await;
    let admin = enrolled_admin(&app).await;
    // role, a route of its role, needs a second factor by default
    let table = [
        ("admin", "/api/v1/users", true),
        ("caseworker", "/api/v1/detainees", false),
        ("reviewer", "/api/v1/reviews", false),
        ("family_representative", "/api/v1/facilities", false),
        ("auditor", "/api/v1/audit", true),
    ];
    for (role, route, required) in table {
        let org = app.create_organization(&admin, kind_for(role)).await;
        let user = app.user_in(&admin, &org, role).await;
        let res = app.get(route, &user.token).await;
        if required {
            assert_problem(res, 403, "mfa_enrolment_required").await;
        } else {
            assert_eq!(res.status(), 200, "{role} {route}");
        }
        assert_eq!(app.get("/api/v1/auth/me", &user.token).await.status(), 200);
        assert_eq!(mfa_status(&app, &user.token).await["required"], required);
        // Enrolling (voluntary for the others) opens the role's routes.
        enrol(&app, &user.token).await;
        assert_eq!(app.get(route, &user.token).await.status(), 200, "{role}");
    }

    // Another policy: caseworkers only.
    let app = spawn_app_with(engine, |s| s.mfa_required_roles = vec![Role::Caseworker]).await;
    let admin = app.admin_token().await;
    assert_eq!(app.get("/api/v1/users", &admin).await.status(), 200);
    let caseworker = app.user_with_role("caseworker").await;
    let res = app.get("/api/v1/detainees", &caseworker.token).await;
    assert_problem(res, 403, "mfa_enrolment_required").await;
}

/// Disabling takes a code; a wrong one counts toward the login limit; a
/// disabled factor leaves the account's sessions proven by password alone.
async fn disabling_needs_a_code_and_wrong_ones_count(engine: Engine) {
    let app = spawn_with_default_policy(engine).await;
    let admin = enrolled_admin(&app).await;
    let (auditor, enrolled) = enrolled_user(&app, &admin, "auditor").await;
    let disable = |code: String| {
        let app = &app;
        let token = auditor.token.clone();
        async move {
            app.client
                .delete(app.url("/api/v1/auth/mfa/totp"))
                .bearer_auth(token)
                .json(&json!({ "code": code }))
                .send()
                .await
                .unwrap()
        }
    };
    let res = disable(wrong_code(&enrolled.secret)).await;
    assert_problem(res, 422, "mfa_code_mismatch").await;
    let entries = app.audit_entries(&auditor.token).await;
    let failed = actions_of(&entries, "auth.mfa_failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["changes"]["during"], json!([null, "disable"]));

    let res = disable(enrolled.recovery[0].clone()).await;
    assert_eq!(res.status(), 204);
    assert_eq!(mfa_status(&app, &auditor.token).await["status"], "none");
    // The session was proven with the factor now gone.
    let res = app.get("/api/v1/audit", &auditor.token).await;
    assert_problem(res, 403, "mfa_enrolment_required").await;
    let res = disable(code(&enrolled.secret, 1)).await;
    assert_problem(res, 409, "mfa_not_enrolled").await;
    // The password alone logs in again (to an enrolment-only session).
    let (token, _) = app.login_ok(&auditor.username, &auditor.password).await;
    assert_eq!(mfa_status(&app, &token).await["required"], true);
    let res = app.get("/api/v1/audit", &token).await;
    assert_problem(res, 403, "mfa_enrolment_required").await;

    // Wrong codes to disable lock the username like wrong passwords.
    let (user, enrolled) = enrolled_user(&app, &admin, "caseworker").await;
    for _ in 0..5 {
        let res = app
            .client
            .delete(app.url("/api/v1/auth/mfa/totp"))
            .bearer_auth(&user.token)
            .json(&json!({"code": wrong_code(&enrolled.secret)}))
            .send()
            .await
            .unwrap();
        assert_problem(res, 422, "mfa_code_mismatch").await;
    }
    let res = app.login(&user.username, &user.password).await;
    assert_problem(res, 429, "rate_limited").await;
}

/// An admin removes another account's second factor (a lost phone): its
/// sessions end, it logs in with its password alone and may enrol again.
/// Nobody removes their own without a code.
async fn an_admin_resets_another_accounts_second_factor(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let (user, _) = enrolled_user(&app, &admin, "caseworker").await;
    let reset = |id: String, token: String| {
        let app = &app;
        async move {
            app.post(&format!("/api/v1/users/{id}/mfa/reset"), &token, &json!({}))
                .await
        }
    };
    let res = reset(user.id.clone(), user.token.clone()).await;
    assert_problem(res, 403, "forbidden").await;
    let res = reset(user.id.clone(), admin.clone()).await;
    assert_eq!(res.status(), 204);
    assert_eq!(app.get("/api/v1/auth/me", &user.token).await.status(), 401);
    let (token, _) = app.login_ok(&user.username, &user.password).await;
    assert_eq!(mfa_status(&app, &token).await["status"], "none");
    let res = reset(user.id.clone(), admin.clone()).await;
    assert_problem(res, 409, "mfa_not_enrolled").await;
    let res = reset(uuid::Uuid::now_v7().to_string(), admin.clone()).await;
    assert_problem(res, 404, "not_found").await;

    let auditor = app.user_with_role("auditor").await;
    // An admin with a second factor cannot reset it without a code.
    let me: Value = app
        .get("/api/v1/auth/me", &admin)
        .await
        .json()
        .await
        .unwrap();
    enrol(&app, &admin).await;
    let res = reset(me["id"].as_str().unwrap().to_owned(), admin.clone()).await;
    assert_problem(res, 403, "forbidden").await;

    let entries = app.audit_entries(&auditor.token).await;
    let resets = actions_of(&entries, "auth.mfa_reset");
    assert_eq!(resets.len(), 1);
    assert_eq!(resets[0]["entity_id"], user.id.as_str());
    assert_eq!(resets[0]["actor_username"], "admin");
    assert_eq!(resets[0]["changes"]["status"], json!(["confirmed", null]));
    // The session of its first login (before it enrolled) and of its login with a code.
    assert_eq!(resets[0]["changes"]["sessions_ended"], json!([0, 2]));
}

/// `sijill user mfa-enrol` enrols an account for scripted set-up,
/// `sijill totp-code` prints the code of a secret, `sijill user mfa-reset`
/// removes the factor.
async fn the_command_line_enrols_resets_and_prints_codes(engine: Engine) {
    use std::io::Write;
    let app = spawn_app(engine).await;
    let user = app.user_with_role("auditor").await;
    let sijill = || sijill(&app.db);
    let output = sijill()
        .args(["user", "mfa-enrol", &user.username])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    let secret_text = printed
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .unwrap()
        .to_owned();
    assert!(printed.contains("otpauth://totp/sijill:"));
    let secret = codes::decode_base32(&secret_text).unwrap();

    let mut child = sijill()
        .arg("totp-code")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{secret_text}").unwrap();
    let printed = child.wait_with_output().unwrap();
    let printed_code = String::from_utf8(printed.stdout).unwrap().trim().to_owned();
    let accepted: Vec<String> = (-1..=1).map(|o| code(&secret, o)).collect();
    assert!(accepted.contains(&printed_code), "{printed_code}");

    let mfa_token = password_step(&app, &user.username, &user.password).await;
    code_step_ok(&app, &mfa_token, &code(&secret, 1)).await;
    let output = sijill()
        .args(["user", "mfa-enrol", &user.username])
        .output()
        .unwrap();
    assert!(!output.status.success(), "enrolled twice");

    let output = sijill()
        .args(["user", "mfa-reset", &user.username])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    app.login_ok(&user.username, &user.password).await;
    let output = sijill()
        .args(["user", "mfa-reset", "nobody-here"])
        .output()
        .unwrap();
    assert!(!output.status.success());
}

/// Two confirmations of one enrolment at once, and a restart racing a
/// confirmation: one enrolment is confirmed, with one set of ten recovery
/// codes, never two; the other request gets 409. Several rounds.
async fn confirmations_and_restarts_racing_confirm_one_enrolment(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let org = app.create_organization(&admin, "documentation").await;
    let confirm = |token: String, code: String| {
        let app = &app;
        async move {
            app.post(
                "/api/v1/auth/mfa/totp/confirm",
                &token,
                &json!({ "code": code }),
            )
            .await
            .status()
            .as_u16()
        }
    };
    let stored_codes = |user_id: &str| {
        app.db.query_text(&format!(
            "SELECT CAST(count(*) AS TEXT) AS value FROM recovery_codes r \
             JOIN totp_credentials c ON c.id = r.credential_id WHERE c.user_id = '{user_id}'"
        ))
    };
    for round in 0..5 {
        let user = app.user_in(&admin, &org, "caseworker").await;
        let started = start(&app, &user.token).await;
        let secret = codes::decode_base32(started["secret"].as_str().unwrap()).unwrap();
        let now = code(&secret, 0);
        let (a, b) = tokio::join!(
            confirm(user.token.clone(), now.clone()),
            confirm(user.token.clone(), now)
        );
        let mut statuses = [a, b];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "round {round}: two confirmations");
        assert_eq!(stored_codes(&user.id), "10", "round {round}");

        let user = app.user_in(&admin, &org, "caseworker").await;
        let started = start(&app, &user.token).await;
        let secret = codes::decode_base32(started["secret"].as_str().unwrap()).unwrap();
        let empty = json!({});
        let restart = app.post("/api/v1/auth/mfa/totp", &user.token, &empty);
        let (confirmed, restarted) =
            tokio::join!(confirm(user.token.clone(), code(&secret, 0)), restart);
        let outcome = (confirmed, restarted.status().as_u16());
        let status = mfa_status(&app, &user.token).await;
        match outcome {
            // Confirmed first: the restart finds a confirmed factor.
            (200, 409) => {
                assert_eq!(status["status"], "confirmed");
                assert_eq!(stored_codes(&user.id), "10");
            }
            // Restarted first: the confirmation finds its enrolment replaced
            // (409), or reads the new one, whose secret the code is not of
            // (422).
            (409 | 422, 200) => {
                assert_eq!(status["status"], "pending");
                assert_eq!(stored_codes(&user.id), "0");
            }
            other => panic!("round {round}: confirmation and restart gave {other:?}"),
        }
    }
}
