//! The auditor's console (docs/console.md), as a person uses it: in a real
//! headless Chromium over WebDriver (`browser.rs`), against the real app on
//! both engines. Screenshots of the main pages are written to the directory
//! `SIJILL_CONSOLE_SCREENSHOTS` names (docs/console/ in the repository).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::browser::Browser;
use crate::helpers::*;
use crate::scenarios;

scenarios! {
    both: [
        the_console_is_served_with_a_strict_policy,
        source_notes_are_read_apart_and_logged,
    ],
    both_with_chromium: [
        the_browser_refuses_every_kind_of_broken_chain,
        an_auditor_signs_in_reads_the_trail_and_verifies_the_chain,
        an_auditor_with_a_second_factor_gives_it,
        the_console_names_the_first_altered_entry,
        only_auditors_get_in,
        the_browsers_canonical_json_hashes_as_the_server_does,
    ],
}

async fn the_console_is_served_with_a_strict_policy(engine: Engine) {
    let app = spawn_app(engine).await;
    let res = app.client.get(app.url("/console")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.headers()["location"], "/console/");
    for (path, media_type) in [
        ("/console/", "text/html; charset=utf-8"),
        ("/console/app.js", "text/javascript; charset=utf-8"),
        ("/console/api.js", "text/javascript; charset=utf-8"),
        ("/console/chain.js", "text/javascript; charset=utf-8"),
        ("/console/jcs.js", "text/javascript; charset=utf-8"),
        ("/console/console.css", "text/css; charset=utf-8"),
    ] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let headers = res.headers();
        assert_eq!(headers["content-type"], media_type, "{path}");
        let policy = headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            assert!(policy.contains(directive), "{path}: {policy}");
        }
        assert!(!policy.contains("unsafe"), "{path}: {policy}");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        let body = res.text().await.unwrap();
        // No inline script or style, nothing from elsewhere.
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path}"
        );
        if path == "/console/" {
            assert!(!body.contains("<script>") && !body.contains("style="));
        }
    }
    // The token is never kept in storage or put in a URL.
    for path in ["/console/app.js", "/console/api.js", "/console/chain.js"] {
        let body = app
            .client
            .get(app.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for word in [
            "localStorage",
            "sessionStorage",
            "document.cookie",
            "innerHTML",
        ] {
            assert!(!body.contains(word), "{path} uses {word}");
        }
    }
    assert_problem(
        app.client
            .get(app.url("/console/secret.js"))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
}

/// The file without its source notes on asking, and the notes alone, read
/// apart and logged as such; to whom the file shows them, and no one else.
async fn source_notes_are_read_apart_and_logged(engine: Engine) {
    let app = spawn_app(engine).await;
    let (caseworker, file) = some_history(&app).await;
    let auditor = app.user_with_role("auditor").await;
    let stranger = app.user_with_role("caseworker").await;
    let without = file_at(
        &app,
        &auditor.token,
        &format!("/api/v1/detainees/{file}?source_notes=false"),
    )
    .await;
    assert!(without.get("source_notes").is_none(), "{without}");
    assert_eq!(without["full_name"], "Omar Yusuf Darwish");
    for token in [&auditor.token, &caseworker.token] {
        let notes = file_at(
            &app,
            token,
            &format!("/api/v1/detainees/{file}/source-notes"),
        )
        .await;
        assert_eq!(
            notes,
            json!({"source_notes": "Seen by a released cellmate in 2016."})
        );
    }
    let res = app
        .get(
            &format!("/api/v1/detainees/{file}/source-notes"),
            &stranger.token,
        )
        .await;
    assert_problem(res, 404, "not_found").await;
    let res = app
        .get(
            &format!("/api/v1/detainees/{file}?source_notes=maybe"),
            &auditor.token,
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let reads = access_log(&app, &auditor, &file, 3).await;
    for who in [&auditor.username, &caseworker.username] {
        assert!(
            reads.contains(&("detainee.source_notes".to_owned(), who.clone())),
            "{reads:?}"
        );
    }
}

/// The reads of `file` in the access log, (action, who), once there are at
/// least `at_least` (it is written in the background), within 10 s.
async fn access_log(
    app: &TestApp,
    auditor: &TestUser,
    file: &str,
    at_least: usize,
) -> Vec<(String, String)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let page = file_at(
            app,
            &auditor.token,
            &format!("/api/v1/audit/access?entity_id={file}&limit=200"),
        )
        .await;
        let reads: Vec<(String, String)> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["action"].as_str().unwrap().to_owned(),
                    a["actor_username"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        if reads.len() >= at_least || std::time::Instant::now() > deadline {
            return reads;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn file_at(app: &TestApp, token: &str, path: &str) -> Value {
    let res = app.get(path, token).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

/// Where screenshots go, if anywhere.
fn screenshots() -> Option<std::path::PathBuf> {
    std::env::var("SIJILL_CONSOLE_SCREENSHOTS")
        .ok()
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
}

/// A log with something in it: a file with an Arabic name and confidential
/// notes, an edit, a custody record, a facility with coordinates.
async fn some_history(app: &TestApp) -> (TestUser, String) {
    let caseworker = app.user_with_role("caseworker").await;
    let facility = new_facility(app, &caseworker.token).await;
    let file = new_file(
        app,
        &caseworker.token,
        &json!({
            "full_name": "Omar Yusuf Darwish",
            "name_ar": "عمر يوسف درويش",
            "aliases": ["Abu Yusuf", "أبو يوسف"],
            "status": "disappeared",
            "detained_on": "2014-03",
            "facility_id": facility,
            "source_notes": "Seen by a released cellmate in 2016."
        }),
    )
    .await;
    let id = id_of(&file);
    let res = app
        .patch(
            &format!("/api/v1/detainees/{id}"),
            &caseworker.token,
            "*",
            &json!({"last_seen_on": "2016-08", "notes": null}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    (caseworker, id)
}

async fn sign_in(browser: &Browser, app: &TestApp, user: &TestUser) {
    browser.goto(&app.url("/console/")).await;
    browser
        .type_into("#sign-in input[name=username]", &user.username)
        .await;
    browser
        .type_into("#sign-in input[name=password]", &user.password)
        .await;
    browser.click("#sign-in button[type=submit]").await;
}

async fn an_auditor_signs_in_reads_the_trail_and_verifies_the_chain(engine: Engine) {
    let app = spawn_app(engine).await;
    let (caseworker, file) = some_history(&app).await;
    open(&app, &caseworker.token, &file).await;
    let auditor = app.user_with_role("auditor").await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, &auditor).await;
    browser.find("#trail tbody tr").await;
    assert!(browser.count("#trail tbody tr").await >= 5);
    let who = browser.text("#who").await;
    assert!(who.contains(&auditor.username), "{who}");
    if let Some(dir) = screenshots() {
        browser.screenshot(&dir.join("trail.png")).await;
    }

    // Filter: the file's own entries.
    browser
        .type_into("#filters input[name=entity_id]", &file)
        .await;
    browser.click("#filters button[type=submit]").await;
    browser
        .wait_text("#rendered", 10, |t| t.starts_with("2 entries"))
        .await;
    let actions = browser.text("#trail tbody").await;
    assert!(actions.contains("detainee.create"), "{actions}");
    assert!(actions.contains("detainee.update"), "{actions}");

    // An entry: its changes before and after, Arabic shown as it is.
    let created = app
        .audit_entries(&auditor.token)
        .await
        .into_iter()
        .find(|e| e["action"] == "detainee.create" && e["entity_id"] == file.as_str())
        .expect("the file's creation");
    browser
        .click(&format!(
            "#trail tbody tr[data-seq=\"{}\"] td.seq a",
            created["seq"]
        ))
        .await;
    let changes = browser.text("#changes").await;
    assert!(changes.contains("عمر يوسف درويش"), "{changes}");
    assert!(changes.contains("name_ar"), "{changes}");
    assert!(
        !changes.contains("Seen by a released cellmate"),
        "source notes in clear: {changes}"
    );
    if let Some(dir) = screenshots() {
        browser.screenshot(&dir.join("entry.png")).await;
    }

    // An attachment the caseworker read: the access log names it, and the
    // console shows it by its file name.
    let attachment = attach_ok(&app, &caseworker.token, &file, pdf("statement", 2_000)).await;
    let res = app
        .client
        .get(app.url(&format!(
            "/api/v1/attachments/{}/content",
            id_of(&attachment)
        )))
        .bearer_auth(&caseworker.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // (Asking for the access log writes what is pending first.)
    access_log(&app, &auditor, &file, 1).await;

    // The file as an auditor sees it: its source notes only when asked.
    browser
        .goto(&app.url(&format!("/console/#/file/{file}")))
        .await;
    let facts = browser.text("#file").await;
    assert!(facts.contains("عمر يوسف درويش"), "{facts}");
    assert!(browser.count("#history tbody tr").await >= 2);
    // Its review, step by step as the audit log recorded it.
    let reviews = browser.text("#reviews").await;
    assert!(reviews.contains("review.open"), "{reviews}");
    assert!(reviews.contains(&caseworker.username), "{reviews}");
    // (The access log is written in the background: the read that showed
    // this page may not be in it yet.)
    let reads = browser.text("#access").await;
    assert!(
        reads.contains("attachment.download statement.pdf"),
        "{reads}"
    );
    assert_eq!(browser.count("#source-notes-text").await, 0);
    if let Some(dir) = screenshots() {
        browser.screenshot(&dir.join("file.png")).await;
    }
    browser.click("#show-source-notes").await;
    let notes = browser.text("#source-notes-text").await;
    assert_eq!(notes, "Seen by a released cellmate in 2016.");
    let reads = access_log(&app, &auditor, &file, 2).await;
    assert!(reads.iter().any(|(a, _)| a == "detainee.view"), "{reads:?}");
    assert_eq!(
        reads
            .iter()
            .filter(|(a, _)| a == "detainee.source_notes")
            .count(),
        1,
        "{reads:?}"
    );

    // Verification, in the browser.
    browser.goto(&app.url("/console/#/verify")).await;
    browser.click("#verify-now").await;
    let verdict = browser
        .wait_text("#verdict-text", 30, |t| !t.is_empty())
        .await;
    assert!(
        verdict.contains("is intact up to seq"),
        "the verdict: {verdict}"
    );
    assert!(verdict.contains("signed at"), "{verdict}");
    if let Some(dir) = screenshots() {
        browser.screenshot(&dir.join("verify.png")).await;
    }

    // Checkpoints kept from earlier: the log's own holds; one whose hash
    // was changed is not signed by the key it names.
    let export = app
        .get("/api/v1/audit/export", &auditor.token)
        .await
        .text()
        .await
        .unwrap();
    let last = export.lines().rfind(|l| !l.trim().is_empty()).unwrap();
    let kept: Value = serde_json::from_str::<Value>(last).unwrap()["checkpoint"].clone();
    assert!(kept["signature"].is_string(), "{last}");
    let mut forged = kept.clone();
    forged["hash"] = json!("0".repeat(64));
    let dir = std::env::temp_dir().join(format!("sijill-checkpoints-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, checkpoint) in [("kept.json", &kept), ("forged.json", &forged)] {
        let path = dir.join(name);
        std::fs::write(&path, checkpoint.to_string()).unwrap();
        let before = browser.count("#saved li").await;
        browser.choose_file("#checkpoint-file", &path).await;
        browser
            .wait_text("#saved", 10, |t| t.lines().count() > before)
            .await;
    }
    browser.click("#verify-now").await;
    browser
        .wait_text("#verdict", 30, |t| t.contains("still holds"))
        .await;
    let verdicts = browser.text("#verdict").await;
    let seq = &kept["seq"];
    assert!(
        verdicts.contains(&format!("The checkpoint at seq {seq} (signed at")),
        "{verdicts}"
    );
    assert!(
        verdicts.contains(&format!(
            "The checkpoint at seq {seq} is not signed by the key it names"
        )),
        "{verdicts}"
    );
    std::fs::remove_dir_all(&dir).ok();
    browser.quit().await;
}

/// Under the default policy auditors must have a second factor: the
/// console asks for it after the password (here a recovery code, as a
/// phone's code would be).
async fn an_auditor_with_a_second_factor_gives_it(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.mfa_required_roles = vec![sijill::users::Role::Admin, sijill::users::Role::Auditor];
    })
    .await;
    let admin = {
        // The bootstrap admin must enrol first to manage accounts.
        let (token, _) = app.login_ok("admin", ADMIN_PASSWORD).await;
        let started: Value = app
            .post("/api/v1/auth/mfa/totp", &token, &json!({}))
            .await
            .json()
            .await
            .unwrap();
        confirm(&app, &token, &started).await;
        token
    };
    let organization = app.create_organization(&admin, "documentation").await;
    let auditor = app.user_in(&admin, &organization, "auditor").await;
    let started: Value = app
        .post("/api/v1/auth/mfa/totp", &auditor.token, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let recovery = confirm(&app, &auditor.token, &started).await;

    let browser = Browser::start().await;
    sign_in(&browser, &app, &auditor).await;
    browser
        .type_into("#second-factor input[name=code]", &recovery[0])
        .await;
    browser.click("#second-factor button[type=submit]").await;
    browser.find("#trail tbody tr").await;
    let who = browser.text("#who").await;
    assert!(who.contains(&auditor.username), "{who}");
    // A code works once: the same recovery code again is refused.
    browser.click("#sign-out").await;
    sign_in(&browser, &app, &auditor).await;
    browser
        .type_into("#second-factor input[name=code]", &recovery[0])
        .await;
    browser.click("#second-factor button[type=submit]").await;
    browser
        .wait_text("#second-factor [role=alert]", 10, |t| !t.is_empty())
        .await;
    browser.quit().await;
}

/// Confirm an enrolment started with `started` (its secret); the recovery codes.
async fn confirm(app: &TestApp, token: &str, started: &Value) -> Vec<String> {
    use sijill::auth::mfa::codes;
    let secret = codes::decode_base32(started["secret"].as_str().unwrap()).unwrap();
    let now = chrono::Utc::now().timestamp();
    let code = codes::code_of_step(&secret, codes::step_at(now));
    let res = app
        .post(
            "/api/v1/auth/mfa/totp/confirm",
            token,
            &json!({"code": code}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

async fn the_console_names_the_first_altered_entry(engine: Engine) {
    let app = spawn_app(engine).await;
    some_history(&app).await;
    let auditor = app.user_with_role("auditor").await;
    let entries = app.audit_entries(&auditor.token).await;
    let target = entries[entries.len() / 2]["seq"].as_i64().unwrap();
    // Someone with the database's password, not the API's.
    let sql = format!("UPDATE audit_log SET client_ip = '10.66.6.6' WHERE seq = {target}");
    let sql = match engine {
        Engine::Sqlite => format!("DROP TRIGGER IF EXISTS audit_log_no_update; {sql}"),
        Engine::Postgres => format!(
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update; {sql};
             ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update;"
        ),
    };
    app.db.execute(&sql).unwrap();

    let browser = Browser::start().await;
    sign_in(&browser, &app, &auditor).await;
    browser.find("#trail tbody tr").await;
    browser.goto(&app.url("/console/#/verify")).await;
    browser.click("#verify-now").await;
    let verdict = browser
        .wait_text("#verdict-text", 30, |t| !t.is_empty())
        .await;
    assert!(
        verdict.contains(&format!("The chain breaks at seq {target}")),
        "{verdict}"
    );
    if let Some(dir) = screenshots() {
        browser.screenshot(&dir.join("broken.png")).await;
    }
    // The first bad entry is a link away.
    browser.click("#verdict-text a").await;
    let entry = browser.text("#entry").await;
    assert!(entry.contains("10.66.6.6"), "{entry}");
    browser.quit().await;
}

async fn only_auditors_get_in(engine: Engine) {
    let app = spawn_app(engine).await;
    let auditor = app.user_with_role("auditor").await;
    let caseworker = app.user_with_role("caseworker").await;
    let browser = Browser::start().await;
    let wrong = TestUser {
        password: "not the password at all".to_owned(),
        ..auditor.clone()
    };
    sign_in(&browser, &app, &wrong).await;
    browser
        .wait_text("#sign-in [role=alert]", 10, |t| {
            t.contains("Wrong username or password")
        })
        .await;
    sign_in(&browser, &app, &caseworker).await;
    browser
        .wait_text("#sign-in [role=alert]", 10, |t| {
            t.contains("The console is for auditors")
        })
        .await;
    // The console's session of the caseworker was ended, not kept; their
    // other session lives.
    let auditor_token = auditor.token.clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let logouts = app
            .audit_entries(&auditor_token)
            .await
            .into_iter()
            .filter(|e| e["action"] == "auth.logout" && e["actor_id"] == caseworker.id.as_str())
            .count();
        if logouts == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no logout of the console's session"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let res = app.get("/api/v1/auth/me", &caseworker.token).await;
    assert_eq!(res.status(), StatusCode::OK, "their other session lives");
    browser.quit().await;
}

/// Entries with Arabic text, numbers, nulls and nested changes hash in the
/// browser (jcs.js, WebCrypto) exactly as the server hashed them.
async fn the_browsers_canonical_json_hashes_as_the_server_does(engine: Engine) {
    let app = spawn_app(engine).await;
    some_history(&app).await;
    let caseworker = app.user_with_role("caseworker").await;
    // Names whose UTF-16 order differs from their code-point order (an
    // emoji beside U+FF21), quotes and backslashes to escape.
    let mapping = json!({
        "name": "قائمة ٢٠١٤ — list \"2014\" \\ 😀",
        "columns": {"الاسم": "full_name", "اسم الأب": null, "😀": null, "Ａ": null, "a\"b\\": null},
        "constants": {"status": "detained"}
    });
    let res = app
        .post("/api/v1/import-mappings", &caseworker.token, &mapping)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let auditor = app.user_with_role("auditor").await;
    let entries: Vec<Value> = app.audit_entries(&auditor.token).await;
    // What the canonical form must get right: numbers, nulls, Arabic text,
    // objects within objects (a mapping's definition), arrays.
    let has = |test: &dyn Fn(&Value) -> bool| entries.iter().any(test);
    assert!(has(&|e| e["changes"]["version"][1].is_i64()));
    assert!(has(&|e| e["changes"]["name_ar"][1] == "عمر يوسف درويش"));
    assert!(has(&|e| e["changes"]["definition"][1]["columns"]
        ["اسم الأب"]
        .is_null()));
    assert!(has(&|e| e["changes"]["aliases"][1].is_array()));
    let browser = Browser::start().await;
    browser.goto(&app.url("/console/")).await;
    browser.find("#sign-in").await;
    let result = browser
        .run_async(
            "const [entries, done] = arguments;
             import('/console/chain.js').then(async (chain) => {
               const wrong = [];
               for (const e of entries) {
                 if (await chain.entryHash(e) !== e.hash) wrong.push(e.seq);
               }
               done({checked: entries.length, wrong});
             }).catch((e) => done({error: String(e)}));",
            json!([entries]),
        )
        .await;
    assert_eq!(result["wrong"], json!([]), "{result}");
    assert_eq!(result["checked"], entries.len());
    browser.quit().await;
}

/// The checks of console/chain.js on chains made up in the browser: a gap,
/// a repeated seq, a broken link, an altered entry, each named by its seq;
/// a checkpoint whose key id is not its key's, or whose signature is not
/// its key's, refused; one made with another key accepted as signed (the
/// console then says the key differs).
async fn the_browser_refuses_every_kind_of_broken_chain(engine: Engine) {
    let app = spawn_app(engine).await;
    let auditor = app.user_with_role("auditor").await;
    let head = app.audit_head(&auditor.token).await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/console/")).await;
    browser.find("#sign-in").await;
    let result = browser
        .run_async(
            "const [head, done] = arguments;
             import('/console/chain.js').then(async (c) => {
               const make = async (seqs) => {
                 const out = []; let prev = c.GENESIS_HASH;
                 for (const seq of seqs) {
                   const e = {seq, prev_hash: prev, action: 'x.y', changes: {n: [null, seq]}};
                   e.hash = await c.entryHash(e); prev = e.hash; out.push(e);
                 }
                 return out;
               };
               const verdict = async (entries) => {
                 const check = new c.ChainCheck(); await check.addAll(entries);
                 return check.broken ? check.broken.seq : 'intact';
               };
               const good = await make([1, 2, 3, 4]);
               const altered = structuredClone(good); altered[2].changes.n[1] = 99;
               const relinked = structuredClone(good); relinked[1].prev_hash = c.GENESIS_HASH;
               const other = await crypto.subtle.generateKey({name: 'Ed25519'}, true, ['sign', 'verify']);
               const raw = new Uint8Array(await crypto.subtle.exportKey('raw', other.publicKey));
               const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
               const forged = {...head, public_key: b64(raw), key_id: await c.keyId(b64(raw))};
               const message = new TextEncoder().encode(`${forged.seq}:${forged.hash}:${forged.signed_at}`);
               forged.signature = b64(new Uint8Array(await crypto.subtle.sign({name: 'Ed25519'}, other.privateKey, message)));
               done({
                 good: await verdict(good),
                 gap: await verdict(await make([1, 2, 4])),
                 repeated: await verdict([...good.slice(0, 2), good[1], ...good.slice(2)]),
                 altered: await verdict(altered),
                 relinked: await verdict(relinked),
                 head: await c.checkpointSigned(head),
                 head_key_id: (await c.keyId(head.public_key)) === head.key_id,
                 relabelled: await c.checkpointSigned({...head, key_id: '0000000000000000'}),
                 resigned: await c.checkpointSigned({...head, hash: '0'.repeat(64)}),
                 other_key: await c.checkpointSigned(forged),
               });
             }).catch((e) => done({error: String(e)}));",
            json!([head]),
        )
        .await;
    assert_eq!(
        result,
        json!({
            "good": "intact", "gap": 4, "repeated": 2, "altered": 3, "relinked": 2,
            "head": true, "head_key_id": true, "relabelled": false, "resigned": false,
            "other_key": true
        })
    );
    browser.quit().await;
}
