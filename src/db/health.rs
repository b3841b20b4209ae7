//! When PostgreSQL goes away and comes back.
//!
//! Four things, all for PostgreSQL only (SQLite is a file in the process and
//! behaves as it always did):
//!
//! - **Bounds on the network.** libpq is given a connect timeout, TCP
//!   keepalives and a TCP user timeout (unless `DATABASE_URL` sets them), and
//!   each session an `idle_in_transaction_session_timeout`, so that neither
//!   side waits forever on a peer that has vanished: a connection attempt
//!   into a black hole fails after 5 s, data nobody acknowledges after
//!   15 s ([`LIBPQ_DEFAULTS`]), and a transaction whose client is gone stops
//!   holding its locks (the audit chain's among them) after
//!   [`IDLE_IN_TRANSACTION_TIMEOUT`].
//! - **Which failures are the connection's.** [`is_connection_failure`]
//!   tells a lost connection from a failed query; `error.rs` answers those
//!   503 `unavailable`, never 500.
//! - **No dead connection stays in the pool.** Every PostgreSQL connection
//!   carries a [`Link`], fed by diesel's instrumentation with every query's
//!   outcome. A connection whose query failed at the connection level is
//!   *lost* and is discarded when it goes back to the pool (r2d2's
//!   `has_broken` only sees diesel's transaction state). Any such failure,
//!   and any failed attempt to connect, also starts a new *generation*: a
//!   pooled connection last known good in an older generation, or idle for
//!   more than [`VALIDATE_AFTER_IDLE`], answers a `SELECT 1` before it is
//!   handed out. That costs one round trip (about 40 µs on loopback) only
//!   after a failure or a quiet second; a busy server never pays it, which
//!   is why this is preferred to r2d2's `test_on_check_out`, a round trip on
//!   every request.
//! - **No request waits forever.** A request's database call that makes no
//!   progress (no query starts or finishes) for [`STALL_TIMEOUT`] is
//!   answered 503 ([`Call`]); its connection is marked lost, and a write
//!   given up this way is rolled back rather than committed if it ever gets
//!   as far as its commit. Waiting for a pooled connection is bounded by
//!   [`CHECKOUT_TIMEOUT`], or [`CHECKOUT_TIMEOUT_WHEN_UNREACHABLE`] while
//!   the last attempt to connect failed, so that requests fail fast during
//!   an outage instead of piling up.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::result::{DatabaseErrorKind, Error};

/// libpq parameters added to a PostgreSQL `DATABASE_URL` that does not set
/// them itself (set one in the URL to override it: `…?tcp_user_timeout=30000`).
///
/// A connection attempt (TCP and the start-up handshake) that has not
/// finished after `connect_timeout` seconds fails. Keepalives find a dead
/// peer of an idle connection (10 s idle, then probes 5 s apart);
/// `tcp_user_timeout` (milliseconds, Linux) closes a connection whose sent
/// data stays unacknowledged for 15 s, and bounds the keepalive probes too.
pub const LIBPQ_DEFAULTS: &[(&str, &str)] = &[
    ("connect_timeout", "5"),
    ("keepalives", "1"),
    ("keepalives_idle", "10"),
    ("keepalives_interval", "5"),
    ("keepalives_count", "3"),
    ("tcp_user_timeout", "15000"),
];

/// Server side: a session that sits in an open transaction this long (its
/// client gone, or stuck) is ended by PostgreSQL, releasing its locks.
/// sijill never leaves a transaction idle: its transactions run from
/// `BEGIN` to `COMMIT` in one closure.
pub const IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(30);

/// Server side (PostgreSQL 14 and later): while a query runs, check this
/// often that its client is still there, and end it if not, so that a
/// client lost in a network partition does not keep its locks (the audit
/// chain's) until its query ends.
pub const CLIENT_CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// The longest a request waits for a pooled PostgreSQL connection. As long
/// as the stall bound: a burst of writes to one file queues for the pool
/// behind the row lock, and on a busy machine that queue can take seconds
/// (5 s answered such bursts 503 in CI). An outage is told apart sooner:
/// [`CHECKOUT_TIMEOUT_WHEN_UNREACHABLE`].
pub const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

/// r2d2's own connection timeout, which also sets its pause between
/// attempts to reconnect (half of it): back within 2.5 s of the database.
pub const POOL_CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// … and while the last attempt to connect to PostgreSQL failed.
pub const CHECKOUT_TIMEOUT_WHEN_UNREACHABLE: Duration = Duration::from_secs(1);

/// A request's database call with no query starting or finishing for this
/// long is answered 503.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// `/readyz`: the whole check (a connection, then `SELECT 1`) within this.
pub const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// A pooled connection unused for longer than this is checked with
/// `SELECT 1` before it is handed out.
pub const VALIDATE_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Milliseconds on a monotonic clock shared by everything here.
fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// `url` with the [`LIBPQ_DEFAULTS`] it does not set itself.
pub fn with_libpq_defaults(url: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    let present: Vec<&str> = query
        .split('&')
        .map(|pair| pair.split('=').next().unwrap_or(""))
        .collect();
    let mut out = url.to_owned();
    for (key, value) in LIBPQ_DEFAULTS {
        if present.contains(key) {
            continue;
        }
        if !out.contains('?') {
            out.push('?');
        } else if !out.ends_with('?') && !out.ends_with('&') {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// Is this the connection failing (lost, closed, unreachable) rather than
/// the query? Such a failure says nothing about the request: it is answered
/// 503 and may be retried.
///
/// diesel reports a PostgreSQL connection that libpq found closed as
/// `ClosedConnection`, and a command it could not send (or whose result
/// never came) as `UnableToSendCommand`. libpq's and the server's own words
/// for a connection going away are matched too, for the moment before
/// libpq has noticed the socket is gone. (SQLite, in-process, raises none
/// of these.)
pub fn is_connection_failure(err: &Error) -> bool {
    match err {
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            names_a_lost_connection(info.message())
        }
        Error::RollbackErrorOnCommit {
            rollback_error,
            commit_error,
        } => is_connection_failure(commit_error) || is_connection_failure(rollback_error),
        _ => false,
    }
}

fn names_a_lost_connection(message: &str) -> bool {
    const LOST: &[&str] = &[
        "server closed the connection unexpectedly",
        "no connection to the server",
        "could not receive data from server",
        "could not send data to server",
        "connection to server was lost",
        "terminating connection due to",
        "ssl connection has been closed unexpectedly",
        "ssl syscall error",
        "the database system is shutting down",
    ];
    let message = message.to_ascii_lowercase();
    LOST.iter().any(|words| message.contains(words))
}

/// What the pool knows about the server as a whole.
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// A new generation starts at every connection-level failure: pooled
    /// connections last known good before it are checked before use.
    generation: AtomicU64,
    /// The last attempt to open a connection failed.
    unreachable: AtomicBool,
}

impl Health {
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn new_generation(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub fn unreachable(&self) -> bool {
        self.unreachable.load(Ordering::Acquire)
    }

    /// An attempt to connect failed.
    pub fn connect_failed(&self, err: &dyn std::fmt::Display) {
        self.new_generation();
        if !self.unreachable.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                error = %err,
                "the database is unreachable; requests are answered 503 until it is back"
            );
        }
    }

    /// An attempt to connect succeeded.
    pub fn connected(&self) {
        if self.unreachable.swap(false, Ordering::AcqRel) {
            tracing::info!("the database is reachable again");
        }
    }
}

/// One PostgreSQL connection, as the pool sees it; shared with the
/// connection's instrumentation, which reports every query to it.
#[derive(Debug)]
pub(crate) struct Link {
    health: Arc<Health>,
    /// A query failed at the connection level, or a call on it stalled:
    /// the pool discards the connection when it comes back.
    lost: AtomicBool,
    /// The generation in which the connection was last known good.
    checked: AtomicU64,
    /// When it was last handed back (`now_ms`).
    last_used: AtomicU64,
    /// When a query last started or finished on it (`now_ms`).
    progress: AtomicU64,
}

impl Link {
    pub fn new(health: Arc<Health>) -> Arc<Self> {
        let now = now_ms();
        Arc::new(Link {
            checked: AtomicU64::new(health.generation()),
            health,
            lost: AtomicBool::new(false),
            last_used: AtomicU64::new(now),
            progress: AtomicU64::new(now),
        })
    }

    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Acquire)
    }

    pub fn mark_lost(&self) {
        if !self.lost.swap(true, Ordering::AcqRel) {
            self.health.new_generation();
        }
    }

    /// Must it answer `SELECT 1` before it is handed out?
    pub fn needs_check(&self) -> bool {
        self.checked.load(Ordering::Acquire) != self.health.generation()
            || now_ms().saturating_sub(self.last_used.load(Ordering::Acquire))
                > millis(VALIDATE_AFTER_IDLE)
    }

    /// It is good as of now.
    pub fn checked(&self) {
        self.checked
            .store(self.health.generation(), Ordering::Release);
    }

    /// It goes back to the pool.
    pub fn used(&self) {
        self.last_used.store(now_ms(), Ordering::Release);
    }

    /// The instrumentation diesel calls on this connection's every event.
    pub fn watch(self: &Arc<Self>) -> impl Instrumentation {
        Watch(Arc::clone(self))
    }
}

struct Watch(Arc<Link>);

impl Instrumentation for Watch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => {
                self.0.progress.store(now_ms(), Ordering::Release);
            }
            InstrumentationEvent::FinishQuery { error, .. } => {
                self.0.progress.store(now_ms(), Ordering::Release);
                if error.is_some_and(is_connection_failure) {
                    self.0.mark_lost();
                }
            }
            _ => {}
        }
    }
}

/// One request's database call, watched from the request's side: it is
/// given up when it makes no progress for [`STALL_TIMEOUT`].
#[derive(Debug)]
pub(crate) struct Call {
    /// When it started, or last took a connection (`now_ms`).
    progress: AtomicU64,
    /// The request was answered 503; nobody waits for the outcome.
    abandoned: AtomicBool,
    /// The connection it runs on, once it has one.
    link: Mutex<Option<Arc<Link>>>,
}

impl Call {
    pub fn new() -> Arc<Self> {
        Arc::new(Call {
            progress: AtomicU64::new(now_ms()),
            abandoned: AtomicBool::new(false),
            link: Mutex::new(None),
        })
    }

    fn link(&self) -> std::sync::MutexGuard<'_, Option<Arc<Link>>> {
        self.link
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// It runs on this connection from now on.
    pub fn attach(&self, link: &Arc<Link>) {
        *self.link() = Some(Arc::clone(link));
        self.progress.store(now_ms(), Ordering::Release);
    }

    pub fn detach(&self) {
        self.link().take();
    }

    /// How long since it last made progress.
    pub fn idle(&self) -> Duration {
        let own = self.progress.load(Ordering::Acquire);
        let last = match self.link().as_ref() {
            Some(link) => own.max(link.progress.load(Ordering::Acquire)),
            None => own,
        };
        Duration::from_millis(now_ms().saturating_sub(last))
    }

    /// Give it up: the connection it is stuck on is not to be used again.
    pub fn abandon(&self) {
        self.abandoned.store(true, Ordering::Release);
        if let Some(link) = self.link().as_ref() {
            link.mark_lost();
        }
    }

    pub fn abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_defaults_are_added_unless_the_url_sets_them() {
        let url = with_libpq_defaults("postgres://u@h:5432/db");
        assert!(url.starts_with("postgres://u@h:5432/db?connect_timeout=5&keepalives=1&"));
        assert!(url.ends_with("&tcp_user_timeout=15000"));

        let url = with_libpq_defaults(
            "postgres://u@h/db?options=-csearch_path%3Dt&connect_timeout=2&tcp_user_timeout=1000",
        );
        assert!(url.starts_with("postgres://u@h/db?options=-csearch_path%3Dt&connect_timeout=2&tcp_user_timeout=1000&keepalives=1&"));
        assert_eq!(url.matches("connect_timeout").count(), 1);
        assert_eq!(url.matches("tcp_user_timeout").count(), 1);

        assert!(with_libpq_defaults("postgres://h/db?")
            .starts_with("postgres://h/db?connect_timeout=5&"));
    }

    #[test]
    fn lost_connections_are_told_from_failed_queries() {
        let db = |kind, message: &str| Error::DatabaseError(kind, Box::new(message.to_owned()));
        assert!(is_connection_failure(&db(
            DatabaseErrorKind::ClosedConnection,
            "server closed the connection unexpectedly"
        )));
        assert!(is_connection_failure(&db(
            DatabaseErrorKind::UnableToSendCommand,
            "no connection to the server"
        )));
        assert!(is_connection_failure(&db(
            DatabaseErrorKind::Unknown,
            "FATAL:  terminating connection due to administrator command"
        )));
        assert!(is_connection_failure(&Error::RollbackErrorOnCommit {
            rollback_error: Box::new(db(DatabaseErrorKind::UnableToSendCommand, "x")),
            commit_error: Box::new(db(DatabaseErrorKind::ClosedConnection, "y")),
        }));
        assert!(!is_connection_failure(&db(
            DatabaseErrorKind::UniqueViolation,
            "duplicate key value violates unique constraint"
        )));
        assert!(!is_connection_failure(&db(
            DatabaseErrorKind::Unknown,
            "the audit log is append-only"
        )));
        assert!(!is_connection_failure(&Error::NotFound));
    }

    #[test]
    fn a_lost_link_starts_a_new_generation_and_others_are_checked() {
        let health = Arc::new(Health::default());
        let first = Link::new(Arc::clone(&health));
        let second = Link::new(Arc::clone(&health));
        assert!(!second.needs_check());
        first.mark_lost();
        assert!(first.is_lost());
        assert!(second.needs_check(), "a connection of an older generation");
        second.checked();
        assert!(!second.needs_check());
        health.connect_failed(&"refused");
        assert!(health.unreachable());
        assert!(second.needs_check());
        health.connected();
        assert!(!health.unreachable());
    }

    #[test]
    fn an_abandoned_call_marks_its_connection_lost() {
        let health = Arc::new(Health::default());
        let link = Link::new(Arc::clone(&health));
        let call = Call::new();
        call.attach(&link);
        assert!(call.idle() < Duration::from_secs(1));
        call.abandon();
        assert!(call.abandoned());
        assert!(link.is_lost());
        call.detach();
    }
}
