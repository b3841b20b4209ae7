//! The database goes away and comes back. sijill reaches PostgreSQL through
//! a TCP proxy the test controls, under a load of audited writes: while the
//! proxy is cut, every request is answered 503 `unavailable` (problem+json,
//! `Retry-After`) within a bound, and `/readyz` 503; when it is restored,
//! the same server process serves again within a bound, and every write it
//! acknowledged is there, each with its audit entry, on a chain that
//! verifies.
//!
//! The proxy cuts two ways: *refused* (every established connection closed,
//! nothing listening: new connections are refused, as when the server is
//! down) and *black-holed* (connections stay open and new ones are accepted,
//! but nothing gets through either way, as when the network or the server
//! hangs: only sijill's own bounds end a wait then). A third, *reset*, closes
//! every established connection and accepts new ones at once, as a restart
//! of PostgreSQL does.
//!
//! `/readyz` on its own: 503 `unavailable` while the database is gone, on
//! PostgreSQL through the proxy, on SQLite with the database file's
//! contents destroyed in place.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use sijill::db::{
    CHECKOUT_TIMEOUT, CHECKOUT_TIMEOUT_WHEN_UNREACHABLE, READINESS_TIMEOUT, STALL_TIMEOUT,
    VALIDATE_AFTER_IDLE,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;

use crate::helpers::*;
use crate::scenarios;

/// Slack for a loaded test machine on top of the server's own bounds.
const SLACK: Duration = Duration::from_millis(1500);

/// Back after a cut: r2d2 retries a failed connection at most every
/// POOL_CONNECTION_TIMEOUT / 2, and an attempt caught in a black hole takes up to
/// libpq's connect_timeout (5 s).
const RECOVERY: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------- the proxy

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Open,
    /// Nothing listens; the connections of the last cut are closed.
    Refused,
    /// Everything stays connected and nothing gets through.
    BlackHoled,
}

/// The proxy's state: a mode, and how many times established connections
/// were cut (a connection older than the last cut closes).
type State = (Mode, u64);

struct Proxy {
    port: u16,
    state: watch::Sender<State>,
}

impl Proxy {
    fn start(upstream: SocketAddr) -> Proxy {
        let listener = listen(0).expect("the proxy listens");
        let port = listener.local_addr().unwrap().port();
        let (state, watcher) = watch::channel((Mode::Open, 0));
        tokio::spawn(serve(Some(listener), port, upstream, watcher));
        Proxy { port, state }
    }

    fn set(&self, mode: Mode, cut: bool) {
        self.state.send_modify(|(m, cuts)| {
            *m = mode;
            *cuts += u64::from(cut);
        });
    }

    /// Close every connection and refuse new ones.
    fn refuse(&self) {
        self.set(Mode::Refused, true);
    }

    /// Let nothing through, closing nothing.
    fn black_hole(&self) {
        self.set(Mode::BlackHoled, false);
    }

    /// Close every connection; new ones get through at once.
    fn reset(&self) {
        self.set(Mode::Open, true);
    }

    fn restore(&self) {
        self.set(Mode::Open, false);
    }
}

fn listen(port: u16) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
    socket.listen(128)
}

async fn serve(
    mut listener: Option<TcpListener>,
    port: u16,
    upstream: SocketAddr,
    mut state: watch::Receiver<State>,
) {
    loop {
        let (mode, _) = *state.borrow_and_update();
        match (mode, listener.is_some()) {
            // Dropping the listener makes the kernel refuse connections.
            (Mode::Refused, true) => listener = None,
            (Mode::Open | Mode::BlackHoled, false) => {
                listener = Some(listen(port).expect("the proxy listens on its port again"))
            }
            _ => {}
        }
        match &listener {
            Some(open) => tokio::select! {
                accepted = open.accept() => {
                    if let Ok((client, _)) = accepted {
                        tokio::spawn(pipe(client, upstream, state.clone()));
                    }
                }
                changed = state.changed() => if changed.is_err() { return },
            },
            None => {
                if state.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Wait while black-holed; false once this connection is to close.
async fn flowing(state: &mut watch::Receiver<State>, born: u64) -> bool {
    loop {
        let (mode, cuts) = *state.borrow_and_update();
        if cuts != born {
            return false;
        }
        match mode {
            Mode::Open => return true,
            Mode::Refused => return false,
            Mode::BlackHoled => {}
        }
        if state.changed().await.is_err() {
            return false;
        }
    }
}

async fn pipe(client: TcpStream, upstream: SocketAddr, mut state: watch::Receiver<State>) {
    let born = state.borrow().1;
    // Accepted while black-holed: the client waits, nothing reaches the server.
    if !flowing(&mut state, born).await {
        return;
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    // Either direction ending (or a cut) drops both sockets: closed both ways.
    tokio::select! {
        () = forward(client_read, server_write, state.clone(), born) => {}
        () = forward(server_read, client_write, state, born) => {}
    }
}

async fn forward(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut state: watch::Receiver<State>,
    born: u64,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if !flowing(&mut state, born).await {
            return;
        }
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            changed = state.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
        };
        // Read as it was cut: held while black-holed, dropped if refused.
        if !flowing(&mut state, born).await {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// The byte range of `host:port` in a `postgres://user@host:port/db?…` URL.
fn authority(url: &str) -> std::ops::Range<usize> {
    let start = url.find("://").expect("a URL") + 3;
    let end = url[start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| start + i);
    let host = url[start..end]
        .rfind('@')
        .map_or(start, |at| start + at + 1);
    assert!(
        host < end,
        "the outage scenarios need a TCP host in SIJILL_TEST_DATABASE_URL"
    );
    host..end
}

/// A fresh test database, and sijill serving it through a proxy.
async fn behind_a_proxy(engine: Engine) -> (Proxy, TestApp) {
    let db = TestDatabase::new(engine);
    let range = authority(&db.url);
    let mut upstream = db.url[range.clone()].to_owned();
    if !upstream.contains(':') {
        upstream.push_str(":5432");
    }
    let upstream = tokio::net::lookup_host(&upstream)
        .await
        .expect("the PostgreSQL host resolves")
        .next()
        .expect("an address");
    let proxy = Proxy::start(upstream);
    let mut settings = test_settings(&db);
    settings
        .database_url
        .replace_range(range, &format!("127.0.0.1:{}", proxy.port));
    let app = spawn_on(db, settings).await;
    (proxy, app)
}

// ----------------------------------------------------------------- the load

/// One answer the load got.
#[derive(Debug, Clone)]
struct Outcome {
    what: &'static str,
    started: Instant,
    elapsed: Duration,
    status: u16,
    content_type: String,
    retry_after: Option<String>,
    body: Value,
}

impl Outcome {
    fn id(&self) -> Option<String> {
        (self.status == 201).then(|| self.body["id"].as_str().expect("an id").to_owned())
    }
}

/// Send one request; no request may take a minute (a hang fails the test).
async fn send(what: &'static str, request: reqwest::RequestBuilder) -> Outcome {
    let started = Instant::now();
    let res = request
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{what}: no answer after {:?} (a hang?): {e}",
                started.elapsed()
            )
        });
    let status = res.status().as_u16();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type").unwrap_or_default();
    let retry_after = header("retry-after");
    let body = res.json().await.unwrap_or(Value::Null);
    Outcome {
        what,
        started,
        elapsed: started.elapsed(),
        status,
        content_type,
        retry_after,
        body,
    }
}

/// Writers creating detainee files, each followed by a custody record,
/// through the API, until stopped; every answer is kept.
struct Load {
    stop: Arc<AtomicBool>,
    acknowledged: Arc<AtomicUsize>,
    writers: Vec<tokio::task::JoinHandle<Vec<Outcome>>>,
}

impl Load {
    fn start(app: &TestApp, token: &str, facility: &str, writers: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(AtomicUsize::new(0));
        let writers = (0..writers)
            .map(|w| {
                let (stop, acknowledged) = (stop.clone(), acknowledged.clone());
                let (base, token, facility) =
                    (app.address.clone(), token.to_owned(), facility.to_owned());
                tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    let mut outcomes = Vec::new();
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let file = send(
                            "create a file",
                            client
                                .post(format!("{base}/api/v1/detainees"))
                                .bearer_auth(&token)
                                .json(&json!({"full_name": format!("Outage Writer{w} File{n}")})),
                        )
                        .await;
                        let created = file.id();
                        outcomes.push(file);
                        match created {
                            Some(id) => {
                                acknowledged.fetch_add(1, Ordering::Relaxed);
                                let custody = send(
                                    "record custody",
                                    client
                                        .post(format!("{base}/api/v1/detainees/{id}/custody"))
                                        .bearer_auth(&token)
                                        .json(&json!({"facility_id": facility, "from": "2013"})),
                                )
                                .await;
                                let mut custody = custody;
                                // Keep which file the record belongs to.
                                if custody.status == 201 {
                                    custody.body["detainee_id"] = json!(id);
                                }
                                outcomes.push(custody);
                            }
                            // As a client honouring Retry-After would, a little.
                            None => tokio::time::sleep(Duration::from_millis(100)).await,
                        }
                    }
                    outcomes
                })
            })
            .collect();
        Load {
            stop,
            acknowledged,
            writers,
        }
    }

    /// Wait until `more` further files have been acknowledged.
    async fn progress(&self, more: usize, within: Duration) {
        let target = self.acknowledged.load(Ordering::Relaxed) + more;
        let started = Instant::now();
        while self.acknowledged.load(Ordering::Relaxed) < target {
            assert!(
                started.elapsed() < within,
                "the load made no progress in {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for writer in self.writers {
            all.extend(writer.await.expect("a writer"));
        }
        all
    }
}

/// The longest any request may take while the database is away: a call
/// that stalls (no query starting or finishing, or no connection) is given
/// up after STALL_TIMEOUT, and a request makes two calls (its token, its work).
const REQUEST_BOUND: Duration = STALL_TIMEOUT.saturating_add(STALL_TIMEOUT);

/// Every answer is a success or a 503 `unavailable` problem with
/// Retry-After, never a 500, and none took longer than REQUEST_BOUND.
fn assert_only_successes_and_unavailable(outcomes: &[Outcome]) {
    for o in outcomes {
        match o.status {
            201 => {}
            503 => {
                assert_eq!(o.content_type, "application/problem+json", "{o:?}");
                assert_eq!(o.body["code"], "unavailable", "{o:?}");
                assert_eq!(o.body["status"], 503, "{o:?}");
                assert!(o.retry_after.is_some(), "no Retry-After: {o:?}");
            }
            _ => panic!("neither a success nor 503: {o:?}"),
        }
        assert!(
            o.elapsed <= REQUEST_BOUND + SLACK,
            "{}: answered after {:?}",
            o.what,
            o.elapsed
        );
    }
}

// ------------------------------------------------------------------- checks

/// One request, asserted 503 `unavailable` (problem+json, Retry-After)
/// within `bound`.
async fn assert_unavailable_within(
    what: &'static str,
    request: reqwest::RequestBuilder,
    bound: Duration,
) -> Duration {
    let o = send(what, request).await;
    assert_eq!(o.status, 503, "{what} while the database is away: {o:?}");
    assert_eq!(o.content_type, "application/problem+json", "{o:?}");
    assert_eq!(o.body["code"], "unavailable", "{o:?}");
    assert!(o.retry_after.is_some(), "{o:?}");
    assert!(
        o.elapsed <= bound,
        "{what}: 503 after {:?}, over the bound of {bound:?}",
        o.elapsed
    );
    o.elapsed
}

/// Wait until `/readyz` is 200 and a write succeeds, within RECOVERY.
async fn assert_back_within(app: &TestApp, token: &str, bound: Duration) -> Duration {
    let started = Instant::now();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    loop {
        let ready = client.get(app.url("/readyz")).send().await.unwrap();
        if ready.status() == 200 {
            let res = client
                .post(app.url("/api/v1/detainees"))
                .bearer_auth(token)
                .json(&json!({"full_name": "Recovery Probe"}))
                .send()
                .await
                .unwrap();
            match res.status().as_u16() {
                201 => return started.elapsed(),
                503 => {}
                other => panic!(
                    "after the database came back: {other} {:?}",
                    res.text().await
                ),
            }
        }
        assert!(
            started.elapsed() < bound,
            "sijill was not serving again {bound:?} after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Once back, it stays back: no dead connection is handed out.
async fn assert_serving(app: &TestApp, token: &str, requests: usize) {
    for n in 0..requests {
        let res = app
            .post(
                "/api/v1/detainees",
                token,
                &json!({"full_name": format!("Steady Probe {n}")}),
            )
            .await;
        assert_eq!(res.status(), 201, "request {n}: {:?}", res.text().await);
    }
}

/// Every acknowledged file and custody record reads back, each has exactly
/// one audit entry, and the chain verifies (recomputed, and by sijill).
async fn assert_nothing_acknowledged_is_lost(
    app: &TestApp,
    caseworker: &TestUser,
    auditor: &TestUser,
    outcomes: &[Outcome],
) {
    let files: Vec<String> = outcomes
        .iter()
        .filter(|o| o.what == "create a file")
        .filter_map(Outcome::id)
        .collect();
    let custody: Vec<(String, String)> = outcomes
        .iter()
        .filter(|o| o.what == "record custody")
        .filter_map(|o| {
            let id = o.id()?;
            Some((o.body["detainee_id"].as_str().unwrap().to_owned(), id))
        })
        .collect();
    assert!(!files.is_empty() && !custody.is_empty());
    for id in &files {
        let res = app
            .get(&format!("/api/v1/detainees/{id}"), &caseworker.token)
            .await;
        assert_eq!(res.status(), 200, "acknowledged file {id} is gone");
    }
    for (file, id) in &custody {
        let page: Value = app
            .get(
                &format!("/api/v1/detainees/{file}/custody?limit=200"),
                &caseworker.token,
            )
            .await
            .json()
            .await
            .unwrap();
        assert!(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["id"] == id.as_str()),
            "acknowledged custody record {id} of {file} is gone"
        );
    }
    let entries = app.audit_entries(&auditor.token).await;
    recompute_chain(&entries).unwrap();
    let count = |action: &str, id: &str| {
        entries
            .iter()
            .filter(|e| e["action"] == action && e["entity_id"] == id)
            .count()
    };
    for id in &files {
        assert_eq!(
            count("detainee.create", id),
            1,
            "audit entries of file {id}"
        );
    }
    for (_, id) in &custody {
        assert_eq!(
            count("custody.create", id),
            1,
            "audit entries of custody {id}"
        );
    }
    let report: Value = app.verify_report(&auditor.token).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["checked"], report["head_seq"], "{report}");
}

// ---------------------------------------------------------------- scenarios

/// Cut three times under load — refused, black-holed, refused again — and
/// restored each time, in one server process.
async fn a_cut_database_is_answered_503_and_loses_nothing_acknowledged(engine: Engine) {
    let (proxy, app) = behind_a_proxy(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let auditor = app.user_with_role("auditor").await;
    let facility = new_facility(&app, &caseworker.token).await;
    let known = app
        .post(
            "/api/v1/detainees",
            &caseworker.token,
            &json!({"full_name": "Known Before"}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let load = Load::start(&app, &caseworker.token, &facility, 4);
    let mut report = Vec::new();

    for (round, black_hole) in [false, true, false].into_iter().enumerate() {
        load.progress(10, Duration::from_secs(30)).await;
        // While it is away: every request is a quick 503. Refused
        // connections fail at once (and the pool fails fast once it knows);
        // a black hole is ended by sijill's own bounds: a call that makes no
        // progress, a connection attempt that does not finish.
        let (request_bound, name) = if black_hole {
            proxy.black_hole();
            (STALL_TIMEOUT + SLACK, "black-holed")
        } else {
            proxy.refuse();
            (CHECKOUT_TIMEOUT + SLACK, "refused")
        };
        let cut = Instant::now();
        let mut probes = Vec::new();
        probes.push(
            assert_unavailable_within(
                "GET /readyz",
                app.client.get(app.url("/readyz")),
                READINESS_TIMEOUT + SLACK,
            )
            .await,
        );
        // A write probe: a new file, while the database is away.
        let new_file = || {
            app.client
                .post(app.url("/api/v1/detainees"))
                .bearer_auth(&caseworker.token)
                .json(&json!({"full_name": "Probe While Away"}))
        };
        // (Each black-holed probe may wait out a whole stall: one is enough.)
        for _ in 0..if black_hole { 1 } else { 2 } {
            probes.push(
                assert_unavailable_within("POST /detainees", new_file(), request_bound).await,
            );
            probes.push(
                assert_unavailable_within(
                    "GET /detainees/{id}",
                    app.client
                        .get(app.url(&format!("/api/v1/detainees/{known}")))
                        .bearer_auth(&caseworker.token),
                    request_bound,
                )
                .await,
            );
        }
        if !black_hole {
            // Known unreachable: the pool no longer waits its full timeout.
            probes.push(
                assert_unavailable_within(
                    "POST /detainees (known unreachable)",
                    new_file(),
                    CHECKOUT_TIMEOUT_WHEN_UNREACHABLE + SLACK,
                )
                .await,
            );
        }
        // A black hole lasts longer than any request may: the load's
        // requests caught in it must have been answered by sijill's own
        // bounds, not by the database coming back.
        let hold = if black_hole {
            REQUEST_BOUND + SLACK * 2
        } else {
            Duration::from_secs(1)
        };
        tokio::time::sleep(
            hold.saturating_sub(cut.elapsed())
                .max(Duration::from_secs(1)),
        )
        .await;
        let away = cut.elapsed();

        proxy.restore();
        let back = assert_back_within(&app, &caseworker.token, RECOVERY).await;
        assert_serving(&app, &caseworker.token, 20).await;
        report.push(format!(
            "round {round} ({name}): 503s in {probes:.1?}, away {away:.1?}, back after {back:.1?}"
        ));
    }

    load.progress(10, Duration::from_secs(30)).await;
    let outcomes = load.stop().await;
    assert_only_successes_and_unavailable(&outcomes);
    let unavailable = outcomes.iter().filter(|o| o.status == 503).count();
    assert!(unavailable > 0, "the load never saw the database away");
    let slowest = outcomes.iter().map(|o| o.elapsed).max().unwrap();
    eprintln!(
        "outage: {} answers to the load, {unavailable} of them 503, slowest {slowest:.1?}; {}",
        outcomes.len(),
        report.join("; ")
    );
    assert_nothing_acknowledged_is_lost(&app, &caseworker, &auditor, &outcomes).await;
}

/// A restart of PostgreSQL (every connection closed, new ones welcome)
/// costs at most the requests in flight; requests after it all succeed,
/// whether the pool was busy or idle: no dead connection is handed out.
async fn a_restarted_database_fails_only_the_requests_in_flight(engine: Engine) {
    let (proxy, app) = behind_a_proxy(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let auditor = app.user_with_role("auditor").await;
    let facility = new_facility(&app, &caseworker.token).await;

    // Busy: connections in use and idle for milliseconds.
    let load = Load::start(&app, &caseworker.token, &facility, 3);
    load.progress(10, Duration::from_secs(30)).await;
    proxy.reset();
    let reset = Instant::now();
    load.progress(20, Duration::from_secs(10)).await;
    let outcomes = load.stop().await;
    assert_only_successes_and_unavailable(&outcomes);
    let settled = reset + Duration::from_millis(500);
    let late: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.started > settled && o.status != 201)
        .collect();
    assert!(late.is_empty(), "failed well after the restart: {late:?}");

    // Idle: every pooled connection dies unseen.
    tokio::time::sleep(VALIDATE_AFTER_IDLE + Duration::from_millis(200)).await;
    proxy.reset();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_serving(&app, &caseworker.token, 10).await;

    assert_nothing_acknowledged_is_lost(&app, &caseworker, &auditor, &outcomes).await;
}

/// `/readyz` is ready, with its body.
async fn assert_ready(app: &TestApp) {
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"status": "ready"})
    );
}

/// `/readyz` is the whole problem document of `unavailable`, within
/// READINESS_TIMEOUT, asked without a token; `/healthz` is alive all the same.
async fn assert_not_ready(app: &TestApp) {
    let started = Instant::now();
    let res = app
        .client
        .get(app.url("/readyz"))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed <= READINESS_TIMEOUT + SLACK,
        "/readyz answered after {elapsed:?}"
    );
    let headers = res.headers().clone();
    let problem = assert_problem(res, 503, "unavailable").await;
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(
        problem,
        json!({
            "type": "urn:sijill:problem:unavailable",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "the service is temporarily unavailable",
            "code": "unavailable",
        })
    );
    let alive = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(alive.status(), StatusCode::OK);
}

/// On SQLite a database whose file cannot be read any more is still "ready".
/// `/readyz` while the database is gone: 503 `unavailable` within its bound,
/// and ready again once the database is back. On PostgreSQL the proxy
/// refuses, then black-holes. On SQLite the database is a file the server
/// holds open: removing it changes nothing the server sees (it serves on,
/// into a file that no longer has a name), so here the file, its
/// write-ahead log and its shared-memory index are overwritten in place, and
/// no query can read them.
async fn readyz_answers_503_unavailable_while_the_database_is_gone(engine: Engine) {
    match engine {
        Engine::Postgres => {
            let (proxy, app) = behind_a_proxy(engine).await;
            let caseworker = app.user_with_role("caseworker").await;
            assert_ready(&app).await;
            for black_hole in [false, true] {
                if black_hole {
                    proxy.black_hole();
                } else {
                    proxy.refuse();
                }
                assert_not_ready(&app).await;
                proxy.restore();
                assert_back_within(&app, &caseworker.token, RECOVERY).await;
                assert_ready(&app).await;
            }
        }
        Engine::Sqlite => {
            let app = spawn_app(engine).await;
            let caseworker = app.user_with_role("caseworker").await;
            new_file(
                &app,
                &caseworker.token,
                &json!({"full_name": "Known Before"}),
            )
            .await;
            assert_ready(&app).await;
            let database = app.db.url.trim_start_matches("sqlite://").to_owned();
            for path in [
                database.clone(),
                format!("{database}-wal"),
                format!("{database}-shm"),
            ] {
                let len = std::fs::metadata(&path).unwrap().len();
                std::fs::write(&path, vec![0u8; len as usize]).unwrap();
            }
            // Gone indeed: what needs the database fails.
            let res = app.get("/api/v1/detainees", &caseworker.token).await;
            assert!(res.status().is_server_error(), "{}", res.status());
            assert_not_ready(&app).await;
        }
    }
}

scenarios! {
    postgres: [
        a_cut_database_is_answered_503_and_loses_nothing_acknowledged,
        a_restarted_database_fails_only_the_requests_in_flight,
        readyz_answers_503_unavailable_while_the_database_is_gone,
    ],
    sqlite: [readyz_answers_503_unavailable_while_the_database_is_gone],
}
