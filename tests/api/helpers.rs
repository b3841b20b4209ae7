//! `spawn_app`: the real application on a random port against a fresh
//! database — a new SQLite file, or a new PostgreSQL schema when
//! `SIJILL_TEST_DATABASE_URL` is set — and helpers that read like the
//! scenarios they set up.

use std::path::PathBuf;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use sijill::config::Settings;
use sijill::startup::Application;
use uuid::Uuid;

pub const ADMIN_PASSWORD: &str = "correct Horse battery 1917 staple";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// What a scenario needs beyond the test binary and SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A database at `SIJILL_TEST_DATABASE_URL`.
    Postgres,
    /// `python3`, to run the documented audit script.
    Python3,
    /// Chromium and its WebDriver (`chromedriver`), for the console's
    /// scenarios (`.ci/run` installs Debian's `chromium` and `chromium-driver`).
    Chromium,
    /// An S3-compatible store: `SIJILL_TEST_S3_BUCKET` names an existing
    /// bucket, the `AWS_` variables say where and how (`.ci/run` starts
    /// moto's server for it).
    S3,
}

impl Need {
    /// Is it here?
    pub fn met(self) -> bool {
        match self {
            Need::Postgres => {
                std::env::var("SIJILL_TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty())
            }
            Need::Python3 => std::process::Command::new("python3")
                .arg("--version")
                .output()
                .is_ok_and(|out| out.status.success()),
            Need::S3 => std::env::var("SIJILL_TEST_S3_BUCKET").is_ok_and(|b| !b.is_empty()),
            Need::Chromium => std::process::Command::new(crate::browser::chromedriver())
                .arg("--version")
                .output()
                .is_ok_and(|out| out.status.success()),
        }
    }

    /// Why a scenario is ignored when it is not (shown beside each).
    pub fn reason(self) -> &'static str {
        match self {
            Need::Postgres => NO_POSTGRES,
            Need::Python3 => "no python3",
            Need::S3 => "no SIJILL_TEST_S3_BUCKET",
            Need::Chromium => "no chromedriver",
        }
    }

    /// Why, in CI, a scenario fails instead.
    pub fn missing_in_ci(self) -> &'static str {
        match self {
            Need::Postgres => {
                "CI=true but SIJILL_TEST_DATABASE_URL is not set: the PostgreSQL scenarios cannot be skipped"
            }
            Need::Python3 => {
                "CI=true but python3 is missing: the documented audit script must be checked"
            }
            Need::S3 => {
                "CI=true but SIJILL_TEST_S3_BUCKET is not set: the S3-compatible store must be tested"
            }
            Need::Chromium => {
                "CI=true but chromedriver is missing: the console must be tested in a browser"
            }
        }
    }
}

/// Why PostgreSQL scenarios are skipped outside CI, shown beside each of them.
pub const NO_POSTGRES: &str = "no SIJILL_TEST_DATABASE_URL";

/// Does this run count as CI (where nothing may be skipped)?
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

type ScenarioFn = fn(Engine) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;

/// One scenario on one engine: a trial of the test harness (`main.rs`).
pub struct Scenario {
    pub name: String,
    pub engine: Engine,
    pub needs: Vec<Need>,
    pub run: ScenarioFn,
}

impl Scenario {
    /// The scenario `name` of `module` on the engines `which` names:
    /// `both`, `sqlite`, `postgres`, `sqlite_with_python3` or `both_with_python3`.
    pub fn on(which: &str, module: &str, name: &str, run: ScenarioFn) -> Vec<Scenario> {
        let (engines, extra): (&[Engine], &[Need]) = match which {
            "both" => (&[Engine::Sqlite, Engine::Postgres], &[]),
            "sqlite" => (&[Engine::Sqlite], &[]),
            "postgres" => (&[Engine::Postgres], &[]),
            "sqlite_with_python3" => (&[Engine::Sqlite], &[Need::Python3]),
            "both_with_python3" => (&[Engine::Sqlite, Engine::Postgres], &[Need::Python3]),
            "both_with_s3" => (&[Engine::Sqlite, Engine::Postgres], &[Need::S3]),
            "both_with_chromium" => (&[Engine::Sqlite, Engine::Postgres], &[Need::Chromium]),
            other => panic!("unknown engine list `{other}` in {module}"),
        };
        let module = module.split_once("::").map_or(module, |(_, rest)| rest);
        engines
            .iter()
            .map(|&engine| {
                let mut needs = extra.to_vec();
                if engine == Engine::Postgres {
                    needs.push(Need::Postgres);
                }
                Scenario {
                    name: format!(
                        "{module}::{}::{name}",
                        match engine {
                            Engine::Sqlite => "sqlite",
                            Engine::Postgres => "postgres",
                        }
                    ),
                    engine,
                    needs,
                    run,
                }
            })
            .collect()
    }

    /// Run on a runtime of its own, as `#[tokio::test(flavor = "multi_thread")]`
    /// would; `missing` is a need that is not met (only in CI does such a
    /// scenario run at all, to fail saying why).
    pub fn run(self, missing: Option<Need>) -> Result<(), String> {
        if let Some(need) = missing {
            return Err(need.missing_in_ci().into());
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime: {e}"))?;
        runtime.block_on((self.run)(self.engine));
        Ok(())
    }
}

/// Declare a module's scenarios: `scenarios! { both: [a, b], sqlite: [c], postgres: [d] }`
/// (and `sqlite_with_python3: [e]`, `both_with_python3: [f]`).
/// Each is an `async fn name(engine: Engine)`; `main.rs` collects every
/// module's `scenarios()` into the harness.
#[macro_export]
macro_rules! scenarios {
    ($($engines:ident: [$($name:ident),* $(,)?]),+ $(,)?) => {
        pub fn scenarios() -> Vec<$crate::helpers::Scenario> {
            let mut all = Vec::new();
            $($(
                all.extend($crate::helpers::Scenario::on(
                    stringify!($engines),
                    module_path!(),
                    stringify!($name),
                    |engine| Box::pin($name(engine)),
                ));
            )*)+
            all
        }
    };
}

/// A fresh, empty database of the given engine.
pub struct TestDatabase {
    pub url: String,
    pub engine: Engine,
    pub dir: PathBuf,
}

impl TestDatabase {
    pub fn new(engine: Engine) -> Self {
        let dir = std::env::temp_dir().join(format!("sijill-test-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = match engine {
            Engine::Sqlite => format!("sqlite://{}", dir.join("sijill.db").display()),
            Engine::Postgres => {
                let base =
                    std::env::var("SIJILL_TEST_DATABASE_URL").expect("SIJILL_TEST_DATABASE_URL");
                let schema = format!("t_{}", Uuid::now_v7().simple());
                let mut conn = diesel::PgConnection::establish(&base).unwrap_or_else(|e| {
                    panic!("cannot reach PostgreSQL at SIJILL_TEST_DATABASE_URL: {e}")
                });
                conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create schema");
                let sep = if base.contains('?') { '&' } else { '?' };
                format!("{base}{sep}options=-csearch_path%3D{schema}")
            }
        };
        TestDatabase { url, engine, dir }
    }

    /// The same database again, for another server process or a restart.
    pub fn shared(&self) -> TestDatabase {
        TestDatabase {
            url: self.url.clone(),
            engine: self.engine,
            dir: self.dir.clone(),
        }
    }

    /// Run raw SQL against the test database, as someone with direct access would.
    pub fn execute(&self, sql: &str) -> Result<(), String> {
        match self.engine {
            Engine::Sqlite => {
                let path = self.url.trim_start_matches("sqlite://");
                let mut conn =
                    diesel::SqliteConnection::establish(path).map_err(|e| e.to_string())?;
                conn.batch_execute(sql).map_err(|e| e.to_string())
            }
            Engine::Postgres => {
                let mut conn =
                    diesel::PgConnection::establish(&self.url).map_err(|e| e.to_string())?;
                conn.batch_execute(sql).map_err(|e| e.to_string())
            }
        }
    }

    /// One text value from a query.
    pub fn query_text(&self, sql: &str) -> String {
        use diesel::sql_types::Text;
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            value: String,
        }
        let rows: Vec<Row> = match self.engine {
            Engine::Sqlite => {
                let path = self.url.trim_start_matches("sqlite://");
                let mut conn = diesel::SqliteConnection::establish(path).expect("sqlite");
                diesel::sql_query(sql).load(&mut conn).expect("query")
            }
            Engine::Postgres => {
                let mut conn = diesel::PgConnection::establish(&self.url).expect("postgres");
                diesel::sql_query(sql).load(&mut conn).expect("query")
            }
        };
        rows.into_iter().next().map(|r| r.value).expect("one row")
    }
}

/// A command of the real binary on `db` (and its data directory).
pub fn sijill(db: &TestDatabase) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sijill"));
    cmd.env("DATABASE_URL", &db.url)
        .env("SIJILL_DATA_DIR", db.dir.join("data"))
        .env("RUST_LOG", "warn");
    cmd
}

/// A `sijill serve` process of the real binary on `db` (and its data
/// directory), listening on a random port; killed when dropped.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub address: String,
}

impl ServerProcess {
    pub fn start(db: &TestDatabase) -> ServerProcess {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let mut child = Command::new(env!("CARGO_BIN_EXE_sijill"))
            .arg("serve")
            .env("DATABASE_URL", &db.url)
            .env("SIJILL_DATA_DIR", db.dir.join("data"))
            .env("SIJILL_BIND", "127.0.0.1:0")
            .env("SIJILL_WORKERS", "2")
            .env("SIJILL_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("SIJILL_MFA_REQUIRED_ROLES", "")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("the server exited before listening")
                .unwrap();
            if let Some(address) = line.strip_prefix("sijill: listening on ") {
                break address.to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        ServerProcess { child, address }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: TestDatabase,
    pub settings: Settings,
    server: actix_web::dev::ServerHandle,
    running: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub fn test_settings(db: &TestDatabase) -> Settings {
    let mut settings = Settings::with_data_dir(db.dir.join("data"));
    settings.database_url = db.url.clone();
    settings.bind = "127.0.0.1:0".to_owned();
    settings.workers = 2;
    settings.db_pool_size = 4;
    settings.password_hash_slots = 2;
    settings.bootstrap_admin_password = Some(ADMIN_PASSWORD.to_owned().into());
    // The suite logs accounts of every role in many times a test; a second
    // factor for admins and auditors (the default) is exercised by the
    // scenarios of `mfa.rs`, which start their servers with the default.
    settings.mfa_required_roles = Vec::new();
    // The server runs imports in a worker process of its own binary; the
    // test process is not that binary.
    settings.import_worker_program = env!("CARGO_BIN_EXE_sijill").into();
    settings
}

pub async fn spawn_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, |_| {}).await
}

pub async fn spawn_app_with(engine: Engine, customize: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDatabase::new(engine);
    let mut settings = test_settings(&db);
    customize(&mut settings);
    spawn_on(db, settings).await
}

/// Start the app with exactly these settings on an existing test database.
pub async fn spawn_on(db: TestDatabase, settings: Settings) -> TestApp {
    let build_settings = settings.clone();
    let app = tokio::task::spawn_blocking(move || Application::build(build_settings))
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("the app failed to start: {e}"));
    let address = format!("http://127.0.0.1:{}", app.port());
    let server = app.handle();
    let running = tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        db,
        settings,
        server,
        running,
    }
}

/// A user made for a test, with a live token.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub username: String,
    pub password: String,
    pub token: String,
    pub refresh_token: String,
    pub organization_id: String,
}

pub fn strong_password() -> String {
    format!("Tq-{}-vault", Uuid::now_v7().simple())
}

pub fn kind_for(role: &str) -> &'static str {
    match role {
        "admin" => "administration",
        "caseworker" => "documentation",
        "reviewer" => "independent_review",
        "family_representative" => "family_association",
        _ => "documentation",
    }
}

impl TestApp {
    /// Stop the server gracefully (as SIGTERM would) and give back its
    /// database, to start another server on it.
    pub async fn stop(self) -> TestDatabase {
        self.server.stop(true).await;
        self.running
            .await
            .expect("the server task")
            .expect("the server stopped cleanly");
        self.db
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        req.send().await.expect("request")
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, if_match: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(token)
            .header("If-Match", if_match)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// `DELETE` (an archive) with `If-Match`.
    pub async fn delete(&self, path: &str, token: &str, if_match: &str) -> Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(token)
            .header("If-Match", if_match)
            .send()
            .await
            .expect("request")
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&json!({"username": username, "password": password})),
        )
        .await
    }

    /// Log in and return `(access_token, refresh_token)`; panics unless 200.
    pub async fn login_ok(&self, username: &str, password: &str) -> (String, String) {
        let res = self.login(username, password).await;
        assert_eq!(res.status(), StatusCode::OK, "login of {username}");
        let body: Value = res.json().await.expect("json");
        (
            body["access_token"].as_str().expect("access").to_owned(),
            body["refresh_token"].as_str().expect("refresh").to_owned(),
        )
    }

    pub async fn admin_token(&self) -> String {
        self.login_ok("admin", ADMIN_PASSWORD).await.0
    }

    pub async fn create_organization(&self, admin: &str, kind: &str) -> String {
        let res = self
            .post(
                "/api/v1/organizations",
                admin,
                &json!({"name": format!("{kind} {}", Uuid::now_v7().simple()), "kind": kind}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.expect("json");
        body["id"].as_str().expect("id").to_owned()
    }

    /// A new account with `role` in a new organisation of a fitting kind, logged in.
    pub async fn user_with_role(&self, role: &str) -> TestUser {
        let admin = self.admin_token().await;
        let org = self.create_organization(&admin, kind_for(role)).await;
        self.user_in(&admin, &org, role).await
    }

    pub async fn user_in(&self, admin: &str, organization_id: &str, role: &str) -> TestUser {
        let username = format!(
            "{}-{}",
            role.replace('_', "-"),
            &Uuid::now_v7().simple().to_string()[20..]
        );
        let password = strong_password();
        let res = self
            .post(
                "/api/v1/users",
                admin,
                &json!({
                    "username": username,
                    "password": password,
                    "display_name": format!("Test {role}"),
                    "role": role,
                    "organization_id": organization_id,
                }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "create {role}");
        let body: Value = res.json().await.expect("json");
        let (token, refresh_token) = self.login_ok(&username, &password).await;
        TestUser {
            id: body["id"].as_str().expect("id").to_owned(),
            username,
            password,
            token,
            refresh_token,
            organization_id: organization_id.to_owned(),
        }
    }

    /// The OpenAPI document the server serves (`GET /openapi.json`).
    pub async fn openapi(&self) -> Value {
        let res = self.client.get(self.url("/openapi.json")).send().await;
        let res = res.expect("request");
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("json")
    }

    /// The chain's head, signed (`GET /audit/head`).
    pub async fn audit_head(&self, auditor: &str) -> Value {
        let res = self.get("/api/v1/audit/head", auditor).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    /// The server's own verification of the chain (`GET /audit/verify`).
    pub async fn verify_report(&self, auditor: &str) -> Value {
        let res = self.get("/api/v1/audit/verify", auditor).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    /// Every audit entry, walking all pages.
    pub async fn audit_entries(&self, auditor: &str) -> Vec<Value> {
        let mut entries = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/audit?limit=200&cursor={c}"),
                None => "/api/v1/audit?limit=200".to_owned(),
            };
            let res = self.get(&path, auditor).await;
            assert_eq!(res.status(), StatusCode::OK);
            let page: Value = res.json().await.expect("json");
            entries.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return entries,
            }
        }
    }
}

// ------------------------------------------------------------------------
// Case data set up as a scenario would: facilities, files, custody, reviews.

/// The `id` of a created resource.
pub fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

/// A facility with every member set.
pub fn sednaya() -> Value {
    json!({
        "name": "Sednaya Military Prison",
        "name_ar": "سجن صيدنايا العسكري",
        "kind": "military_prison",
        "governorate": "Rif Dimashq",
        "location": "Sednaya",
        "latitude": 33.6649,
        "longitude": 36.3313,
        "controlling_authority": "Military Police",
        "status": "liberated",
        "notes": "Opened on 8 December 2024.\nThe 'red building' and the 'white building'."
    })
}

/// A new facility (`sednaya()`), created by `token` (a caseworker); its id.
pub async fn new_facility(app: &TestApp, token: &str) -> String {
    let res = app.post("/api/v1/facilities", token, &sednaya()).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    id_of(&res.json().await.unwrap())
}

/// A new detainee file of `token`'s organisation, as created.
pub async fn new_file(app: &TestApp, token: &str, body: &Value) -> Value {
    let res = app.post("/api/v1/detainees", token, body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
    res.json().await.unwrap()
}

/// A file with every member set, confidential source notes included.
pub fn full_file(facility: &str) -> Value {
    json!({
        "full_name": "Mohammed Abdulrahman Al-Hassan",
        "name_ar": "مُحَمَّد عبد الرحمن الحسن",
        "aliases": ["Abu Ahmad", "أبو أحمد"],
        "sex": "male",
        "birth_date": "1987",
        "place_of_origin": "Douma",
        "status": "disappeared",
        "category": "political",
        "major_crimes_accusation": false,
        "accusation_summary": null,
        "facility_id": facility,
        "detained_on": "2013-04",
        "last_seen_on": "2014-11-02",
        "released_on": null,
        "notes": "Arrested at a checkpoint in Harasta.\nFamily informed in 2014.",
        "source_notes": "Testimony of a former cellmate (interview 12 January 2025)."
    })
}

/// A file as `token` reads it (`GET /detainees/{id}`), whatever the status.
pub async fn file_of(app: &TestApp, token: &str, file: &str) -> Value {
    app.get(&format!("/api/v1/detainees/{file}"), token)
        .await
        .json()
        .await
        .unwrap()
}

/// A new custody record of `file`; the record.
pub async fn new_custody(app: &TestApp, token: &str, file: &str, body: &Value) -> Value {
    let res = app
        .post(&format!("/api/v1/detainees/{file}/custody"), token, body)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
    res.json().await.unwrap()
}

/// A rationale long enough for a decision.
pub const RATIONALE: &str =
    "Witnesses place him in Douma throughout; no evidence of the accusation.";

/// Everyone a review involves, each in an organisation of their own but
/// for `reviewer` and `colleague`.
pub struct Cast {
    pub owner: TestUser,
    pub stranger: TestUser,
    /// Two reviewers of one independent organisation, one of another.
    pub reviewer: TestUser,
    pub colleague: TestUser,
    pub second: TestUser,
    pub family: TestUser,
    pub auditor: TestUser,
}

pub async fn cast(app: &TestApp) -> Cast {
    let admin = app.admin_token().await;
    let board = app.create_organization(&admin, "independent_review").await;
    let reviewer = app.user_in(&admin, &board, "reviewer").await;
    let colleague = app.user_in(&admin, &board, "reviewer").await;
    Cast {
        owner: app.user_with_role("caseworker").await,
        stranger: app.user_with_role("caseworker").await,
        reviewer,
        colleague,
        second: app.user_with_role("reviewer").await,
        family: app.user_with_role("family_representative").await,
        auditor: app.user_with_role("auditor").await,
    }
}

/// A file to review: political, or accused of major crimes; with notes and
/// confidential source notes.
pub fn file_body(major: bool) -> Value {
    json!({
        "full_name": if major { "Tareq Samer Haddad" } else { "Anas Firas Al-Ali" },
        "status": "detained",
        "category": if major { "criminal_accusation" } else { "political" },
        "major_crimes_accusation": major,
        "accusation_summary": if major { json!("Accused of taking part in killings at a checkpoint in 2013.") } else { json!(null) },
        "notes": "Family visits stopped in 2014.",
        "source_notes": "Informant K., interviewed 2025-02-03."
    })
}

/// Open a review of `file` (201); the review.
pub async fn open(app: &TestApp, token: &str, file: &str) -> Value {
    let res = app
        .post(
            &format!("/api/v1/detainees/{file}/reviews"),
            token,
            &json!({"reason": "The prison was opened."}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
    res.json().await.unwrap()
}

/// Take a review step (`claim`, `decision`, …); the answer, whatever it is.
pub async fn step(
    app: &TestApp,
    token: &str,
    review: &str,
    action: &str,
    body: Value,
) -> reqwest::Response {
    app.post(&format!("/api/v1/reviews/{review}/{action}"), token, &body)
        .await
}

/// Take a review step that must succeed; the review after it.
pub async fn step_ok(app: &TestApp, token: &str, review: &str, action: &str, body: Value) -> Value {
    let res = step(app, token, review, action, body).await;
    assert!(
        res.status().is_success(),
        "{action}: {} {:?}",
        res.status(),
        res.text().await
    );
    res.json().await.unwrap()
}

/// The release gate is shut for this file: marking it released is refused.
pub async fn assert_release_refused(app: &TestApp, token: &str, file: &str) {
    let path = format!("/api/v1/detainees/{file}");
    let res = app
        .patch(&path, token, "*", &json!({"status": "released"}))
        .await;
    assert_problem(res, 409, "review_required").await;
}

/// A new political file of the owner's, cleared for release by the
/// reviewer; its id.
pub async fn cleared_file(app: &TestApp, c: &Cast) -> String {
    decided_file(app, c, "cleared_for_release").await
}

/// A new political file of the owner's, reviewed to `decision`; its id.
pub async fn decided_file(app: &TestApp, c: &Cast, decision: &str) -> String {
    let id = id_of(&new_file(app, &c.owner.token, &file_body(false)).await);
    let rid = id_of(&open(app, &c.owner.token, &id).await);
    claim_and_decide(app, &c.reviewer.token, &rid, decision).await;
    assert_eq!(
        file_of(app, &c.owner.token, &id).await["review_status"],
        decision
    );
    id
}

/// Claim a review and decide it (`cleared_for_release` or
/// `release_withheld`, with `RATIONALE`); the review after the decision.
pub async fn claim_and_decide(app: &TestApp, token: &str, review: &str, decision: &str) -> Value {
    step_ok(app, token, review, "claim", json!({})).await;
    step_ok(
        app,
        token,
        review,
        "decision",
        json!({"decision": decision, "rationale": RATIONALE}),
    )
    .await
}

/// Assert a problem+json response with this status and code; returns the body.
pub async fn assert_problem(res: Response, status: u16, code: &str) -> Value {
    assert_eq!(
        res.status().as_u16(),
        status,
        "status (expected code {code})"
    );
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = res.json().await.expect("problem body is JSON");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    for member in ["type", "title", "detail"] {
        assert!(body[member].is_string(), "{member} missing in {body}");
    }
    body
}

/// Recompute the chain from `GET /audit` output, as an outside auditor would.
pub fn recompute_chain(entries: &[Value]) -> Result<(), String> {
    use sha2::{Digest, Sha256};
    let mut prev = "0".repeat(64);
    for (i, entry) in entries.iter().enumerate() {
        let seq = entry["seq"].as_i64().ok_or("seq")?;
        if seq != i as i64 + 1 {
            return Err(format!("seq {seq} at position {i}"));
        }
        if entry["prev_hash"] != prev.as_str() {
            return Err(format!("prev_hash of {seq} does not match"));
        }
        let mut without_hash = entry.clone();
        without_hash.as_object_mut().ok_or("object")?.remove("hash");
        let canonical =
            serde_json_canonicalizer::to_vec(&without_hash).map_err(|e| e.to_string())?;
        let hash = hex::encode(Sha256::digest(&canonical));
        if entry["hash"] != hash.as_str() {
            return Err(format!("hash of {seq} does not match"));
        }
        prev = hash;
    }
    Ok(())
}

/// A PDF of about `size` bytes (its magic bytes, then `marker` and filler):
/// what a caseworker would attach.
pub fn pdf(marker: &str, size: usize) -> Vec<u8> {
    let mut bytes = format!("%PDF-1.7\n% {marker}\n").into_bytes();
    let mut n = 0u32;
    while bytes.len() < size {
        n = n.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        bytes.push(b'a' + (n >> 16) as u8 % 26);
    }
    bytes
}

/// Upload `content` to `file` as `media_type` named `name` (percent-encoded
/// here); the answer, whatever it is.
pub async fn attach(
    app: &TestApp,
    token: &str,
    file: &str,
    media_type: &str,
    name: &str,
    content: Vec<u8>,
) -> Response {
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    app.client
        .post(app.url(&format!("/api/v1/detainees/{file}/attachments")))
        .bearer_auth(token)
        .header("Content-Type", media_type)
        .header("Sijill-Filename", encoded)
        .body(content)
        .send()
        .await
        .expect("request")
}

/// Attach a PDF that must be accepted; the attachment.
pub async fn attach_ok(app: &TestApp, token: &str, file: &str, content: Vec<u8>) -> Value {
    let res = attach(
        app,
        token,
        file,
        "application/pdf",
        "statement.pdf",
        content,
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
    res.json().await.unwrap()
}
