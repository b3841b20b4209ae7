//! The command line, driven as an operator would.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::helpers::*;
use crate::scenarios;

async fn scripted_set_up_creates_organisations_and_accounts(engine: Engine) {
    let app = spawn_app(engine).await;
    let status = sijill(&app.db).arg("migrate").status().unwrap();
    assert!(status.success());

    let output = sijill(&app.db)
        .args([
            "organization",
            "create",
            "--name",
            "Independent Review Board",
            "--kind",
            "independent_review",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let org_id = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(uuid::Uuid::parse_str(&org_id).is_ok());

    let password = strong_password();
    let mut child = sijill(&app.db)
        .args([
            "user",
            "create",
            "--username",
            "hala.r",
            "--display-name",
            "Hala R.",
            "--role",
            "reviewer",
        ])
        .args([
            "--organization",
            "Independent Review Board",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (token, _) = app.login_ok("hala.r", &password).await;
    let me: Value = app
        .get("/api/v1/auth/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "reviewer");
    assert_eq!(me["organization_id"], org_id.as_str());

    // A role that does not fit, a weak password: refused with a reason, non-zero exit.
    let output = sijill(&app.db)
        .args([
            "user",
            "create",
            "--username",
            "x.y",
            "--display-name",
            "X",
            "--role",
            "caseworker",
        ])
        .args(["--organization", &org_id])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot belong"));
    let mut child = sijill(&app.db)
        .args([
            "user",
            "create",
            "--username",
            "weak.one",
            "--display-name",
            "W",
            "--role",
            "auditor",
        ])
        .args(["--organization", &org_id, "--password-stdin"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "password1234").unwrap();
    assert!(!child.wait_with_output().unwrap().status.success());

    // All of it audited, and the chain still verifies.
    let output = sijill(&app.db).args(["audit", "verify"]).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let auditor = app.user_with_role("auditor").await;
    let entries = app.audit_entries(&auditor.token).await;
    let by_cli: Vec<&Value> = entries
        .iter()
        .filter(|e| {
            e["request_id"]
                .as_str()
                .is_some_and(|r| r.starts_with("cli-"))
        })
        .collect();
    assert_eq!(by_cli.len(), 2);
    recompute_chain(&entries).unwrap();
}

async fn an_unknown_database_scheme_is_refused(engine: Engine) {
    let db = TestDatabase::new(engine);
    let output = Command::new(env!("CARGO_BIN_EXE_sijill"))
        .arg("migrate")
        .env("DATABASE_URL", "postgress://typo@localhost/db")
        .env("SIJILL_DATA_DIR", db.dir.join("data"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unsupported DATABASE_URL scheme"));
    assert!(!db.dir.join("data").join("sijill.db").exists());
}

/// `seed-demo --files` writes synthetic people and searches for them; an
/// index of an older key form is dropped and rebuilt at start-up, and the
/// searches find their files through it.
async fn synthetic_files_are_found_after_the_index_is_rebuilt(engine: Engine) {
    let db = TestDatabase::new(engine);
    let password = strong_password();
    let queries = std::env::temp_dir().join(format!("sijill-queries-{}", uuid::Uuid::now_v7()));
    let output = sijill(&db)
        .args([
            "seed-demo",
            "--files",
            "300",
            "--queries",
            "20",
            "--queries-out",
        ])
        .arg(&queries)
        .env("SIJILL_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("SIJILL_DEMO_PASSWORD", &password)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let searches: Vec<(String, String)> = std::fs::read_to_string(&queries)
        .unwrap()
        .lines()
        .map(|l| {
            let (q, id) = l.split_once('\t').unwrap();
            (q.to_owned(), id.to_owned())
        })
        .collect();
    std::fs::remove_file(&queries).unwrap();
    assert_eq!(searches.len(), 20);
    // As if the index had been built by an older form of the keys.
    db.execute(
        "DELETE FROM name_keys; \
         UPDATE counters SET value = 1 WHERE name = 'name_key_version';",
    )
    .unwrap();
    let settings = test_settings(&db);
    let app = spawn_on(db, settings).await;
    let (caseworker, _) = app.login_ok("demo.caseworker", &password).await;
    for (q, id) in &searches {
        let res = app
            .post(
                "/api/v1/detainees/search",
                &caseworker,
                &serde_json::json!({"q": q, "limit": 100}),
            )
            .await;
        let hits: Value = res.json().await.unwrap();
        let items = hits["items"].as_array().unwrap();
        assert!(
            items.iter().any(|h| h["file"]["id"] == id.as_str()),
            "{q}: {hits}"
        );
    }
}

/// Wait up to `seconds` for a child to exit by itself.
fn exited_within(
    child: &mut std::process::Child,
    seconds: u64,
) -> Option<std::process::ExitStatus> {
    for _ in 0..seconds * 10 {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    None
}

/// A `sijill serve` started by a test: its address (`None` if it exited
/// before listening), and everything it writes to standard output after
/// that, gathered until it exits.
struct Served {
    child: std::process::Child,
    address: Option<String>,
    rest_of_stdout: std::thread::JoinHandle<String>,
}

impl Served {
    fn start(cmd: &mut Command) -> Served {
        use std::io::{BufRead, BufReader};
        let mut child = cmd
            .arg("serve")
            .env("SIJILL_BIND", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = String::new();
        let address = lines.by_ref().map_while(Result::ok).find_map(|line| {
            seen.push_str(&line);
            seen.push('\n');
            line.strip_prefix("sijill: listening on ")
                .map(str::to_owned)
        });
        // Keep draining, so the server never blocks on a full pipe.
        let rest_of_stdout = std::thread::spawn(move || {
            seen + &lines.map_while(Result::ok).collect::<Vec<_>>().join("\n")
        });
        Served {
            child,
            address,
            rest_of_stdout,
        }
    }

    /// Stop it; its standard output and error.
    fn stop(mut self) -> (String, String) {
        let _ = self.child.kill();
        let output = self.child.wait_with_output().unwrap();
        let stdout = self.rest_of_stdout.join().unwrap();
        (stdout, String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// One SQLite file, one server process: a second `serve` on a file another
/// process serves refuses to start, saying why; once the first has
/// stopped, a new one starts.
async fn a_second_server_on_one_sqlite_file_refuses_to_start(engine: Engine) {
    let app = spawn_app(engine).await;
    let mut second = sijill(&app.db)
        .arg("serve")
        .env("SIJILL_BIND", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let Some(status) = exited_within(&mut second, 30) else {
        second.kill().unwrap();
        panic!("a second server started on a SQLite file another process serves");
    };
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("already serving the SQLite database"),
        "{stderr}"
    );
    assert!(stderr.contains("PostgreSQL"), "{stderr}");
    // The command line still works beside the running server.
    let output = sijill(&app.db).args(["audit", "verify"]).output().unwrap();
    assert!(output.status.success());

    let db = app.stop().await;
    let next = Served::start(&mut sijill(&db));
    assert!(
        next.address.is_some(),
        "no server started after the first stopped"
    );
    next.stop();
}

/// `SIJILL_BOOTSTRAP_ADMIN_PASSWORD` set on a database that already has
/// accounts is said to be unused, by every command and by `serve`; logs
/// written to a pipe carry no colour codes.
async fn an_unused_bootstrap_password_is_reported_everywhere(engine: Engine) {
    let app = spawn_app(engine).await;
    let unused = "another passphrase entirely 2026";
    let warning = "SIJILL_BOOTSTRAP_ADMIN_PASSWORD is set, but this database already has accounts";
    for args in [
        vec!["migrate"],
        vec!["audit", "verify"],
        vec![
            "organization",
            "create",
            "--name",
            "Late Board",
            "--kind",
            "independent_review",
        ],
    ] {
        let output = sijill(&app.db)
            .args(&args)
            .env("SIJILL_BOOTSTRAP_ADMIN_PASSWORD", unused)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(warning), "{args:?}: {stderr}");
    }
    // Without the variable, or with admin's own password, nothing to say.
    let output = sijill(&app.db).arg("migrate").output().unwrap();
    assert!(!String::from_utf8_lossy(&output.stderr).contains(warning));
    let output = sijill(&app.db)
        .arg("migrate")
        .env("SIJILL_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&output.stderr).contains(warning));

    let db = app.stop().await;
    let server = Served::start(
        sijill(&db)
            .env("SIJILL_BOOTSTRAP_ADMIN_PASSWORD", unused)
            .env("RUST_LOG", "info"),
    );
    assert!(server.address.is_some());
    let (stdout, stderr) = server.stop();
    assert!(stderr.contains(warning), "{stderr}");
    // Its logs went to a pipe: plain text, no colour codes.
    assert!(stdout.contains("WARN"), "{stdout}");
    assert!(
        !stdout.contains('\u{1b}'),
        "ANSI codes in a piped log: {stdout:?}"
    );
    // And `admin` kept the password it had.
    let settings = test_settings(&db);
    let app = spawn_on(db, settings).await;
    assert_eq!(app.login("admin", unused).await.status(), 401);
    app.login_ok("admin", ADMIN_PASSWORD).await;
}

scenarios! {
    both: [
        synthetic_files_are_found_after_the_index_is_rebuilt,
        scripted_set_up_creates_organisations_and_accounts,
        an_unknown_database_scheme_is_refused,
        seed_demo_loads_a_first_look,
        set_up_on_an_empty_database_creates_the_admin_first,
        an_unused_bootstrap_password_is_reported_everywhere,
    ],
    sqlite: [
        a_second_server_on_one_sqlite_file_refuses_to_start,
        sigterm_shuts_the_server_down_gracefully,
        eval_search_reports_recall_on_the_case_set,
    ],
}

/// SIGTERM stops the server cleanly (exit status 0) after it has served.
async fn sigterm_shuts_the_server_down_gracefully(_engine: Engine) {
    use std::io::{BufRead, BufReader};
    let db = TestDatabase::new(Engine::Sqlite);
    let mut child = sijill(&db)
        .arg("serve")
        .env("SIJILL_BIND", "127.0.0.1:0")
        .env("SIJILL_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("server exited early").unwrap();
        if let Some(address) = line.strip_prefix("sijill: listening on ") {
            break address.to_owned();
        }
    };
    let res = reqwest::get(format!("{address}/healthz")).await.unwrap();
    assert_eq!(res.status(), 200);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

/// Scripted set-up before the first start still leaves an administrator.
async fn set_up_on_an_empty_database_creates_the_admin_first(engine: Engine) {
    let db = TestDatabase::new(engine);
    let output = sijill(&db)
        .arg("seed-demo")
        .env("SIJILL_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("SIJILL_DEMO_PASSWORD", strong_password())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let settings = test_settings(&db);
    let app = spawn_on(db, settings).await;
    let admin = app.admin_token().await;
    let me: Value = app
        .get("/api/v1/auth/me", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");
}

async fn seed_demo_loads_a_first_look(engine: Engine) {
    let app = spawn_app(engine).await;
    let password = strong_password();
    for _ in 0..2 {
        // Twice: the second run adds nothing.
        let output = sijill(&app.db)
            .arg("seed-demo")
            .env("SIJILL_DEMO_PASSWORD", &password)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let (caseworker, _) = app.login_ok("demo.caseworker", &password).await;
    let mut files = Vec::new();
    let mut path = "/api/v1/detainees?limit=200".to_owned();
    loop {
        let page: Value = app.get(&path, &caseworker).await.json().await.unwrap();
        files.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/detainees?limit=200&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(files.len(), 36);
    assert!(files.iter().all(|f| f["name_ar"]
        .as_str()
        .is_some_and(|n| n.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)))));
    let facilities: Value = app
        .get("/api/v1/facilities?limit=200", &caseworker)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = facilities["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for expected in [
        "Sednaya Military Prison",
        "Adra Central Prison",
        "Aleppo Central Prison",
        "Hama Central Prison",
        "Homs Central Prison",
    ] {
        assert!(names.contains(&expected), "{expected} missing");
    }
    let (auditor, _) = app.login_ok("demo.auditor", &password).await;
    let entries = app.audit_entries(&auditor).await;
    recompute_chain(&entries).unwrap();
    assert!(entries.iter().any(|e| e["action"] == "custody.create"));
}

/// `sijill eval-search` reports recall on our own case set.
async fn eval_search_reports_recall_on_the_case_set(_engine: Engine) {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let output = Command::new(env!("CARGO_BIN_EXE_sijill"))
        .args([
            "eval-search",
            &format!("{data}/search-cases.csv"),
            "--files",
            &format!("{data}/search-files.csv"),
        ])
        .env(
            "SIJILL_DATA_DIR",
            std::env::temp_dir().join("sijill-eval-unused"),
        )
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let recall_at_5: f64 = stdout
        .split("recall@5 ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no recall@5 in {stdout}"));
    assert!(recall_at_5 >= 0.98, "{stdout}");
}
