//! Storage: one diesel code path over PostgreSQL and SQLite.
//!
//! The engine is picked by the URL scheme here, not by diesel's derived
//! `establish` (which tries each engine in turn, loses the real PostgreSQL
//! error and silently creates a SQLite file for a mistyped URL).

pub mod backup;
pub mod health;
pub mod key_checks;
pub mod schema;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::AppError;

pub use health::{
    is_connection_failure, CHECKOUT_TIMEOUT, CHECKOUT_TIMEOUT_WHEN_UNREACHABLE,
    POOL_CONNECTION_TIMEOUT, READINESS_TIMEOUT, STALL_TIMEOUT, VALIDATE_AFTER_IDLE,
};
use health::{Call, Health, Link};

pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Session-level advisory lock that serialises migrations and the first-start
/// bootstrap between server processes starting together.
const MIGRATION_LOCK_KEY: i64 = 0x5153_494A_494C_4C01;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// The connection of a write transaction. Only [`Database::write`] and
/// [`Database::write_blocking`] make one, so a function that takes it — an
/// audit append, a row lock, the login throttle's advisory locks — cannot be
/// called outside a transaction. (On PostgreSQL an advisory lock taken
/// outside one is released at once, and an audit entry written outside the
/// change's transaction could survive a change that did not.) It derefs to
/// the connection for everything else.
pub struct WriteTx<'a> {
    conn: &'a mut DbConnection,
}

impl WriteTx<'_> {
    /// The connection, for diesel's query methods (which take a connection
    /// type, not something that derefs to one).
    pub fn conn(&mut self) -> &mut DbConnection {
        self.conn
    }
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        self.conn
    }
}

impl std::ops::DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut DbConnection {
        self.conn
    }
}

/// A multi-row `INSERT`, which diesel offers each engine but not
/// `MultiConnection`: run on the engine's own connection. Batches of rows
/// that may be there already (`or_ignore`: the name index kept in step
/// with renames and rebuilt at start-up) use it; new rows in bulk (files,
/// their keys, their audit entries, report lines) go through `load_rows!`.
#[macro_export]
macro_rules! insert_rows {
    // Rows already there are left as they are (idempotent re-runs).
    ($conn:expr, $table:expr, $rows:expr, or_ignore) => {
        match $conn {
            $crate::db::DbConnection::Postgresql(pg) => diesel::insert_into($table)
                .values($rows)
                .on_conflict_do_nothing()
                .execute(pg),
            $crate::db::DbConnection::Sqlite(sqlite) => diesel::insert_into($table)
                .values($rows)
                .on_conflict_do_nothing()
                .execute(sqlite),
        }
    };
    // A slice of rows. One row (a key check, a single recovery code) goes
    // through the plain insert, whose prepared statement diesel caches; a
    // batch's statement is prepared anew each time.
    ($conn:expr, $table:expr, $rows:expr) => {
        match $rows {
            [row] => diesel::insert_into($table).values(row).execute($conn),
            rows => match $conn {
                $crate::db::DbConnection::Postgresql(pg) => {
                    diesel::insert_into($table).values(rows).execute(pg)
                }
                $crate::db::DbConnection::Sqlite(sqlite) => {
                    diesel::insert_into($table).values(rows).execute(sqlite)
                }
            },
        }
    };
}

/// A bulk load of new rows under keys made for them (new files and their
/// name keys, audit entries at the sequence numbers the chain lock
/// reserves, report lines): on PostgreSQL one binary `COPY`, on SQLite
/// multi-row `INSERT`s of `$chunk` rows (its limit on bound parameters). `COPY` spares
/// PostgreSQL parsing and planning statements of thousands of parameters
/// (and, for name keys, which `insert_rows!` writes `or_ignore`, the
/// pre-check of `ON CONFLICT`): the database's own time for an import's
/// batch, which it spends at the same priority as the readers' queries.
/// Constraints and triggers hold as for an `INSERT`. An `Insertable`
/// struct loaded this way must not treat `None` as `DEFAULT`
/// (`treat_none_as_default_value = false`). Evaluates
/// to `QueryResult<()>`. No rows send nothing; one row (a file opened by
/// hand, a single audited change) goes through the plain insert, whose
/// prepared statement diesel caches.
#[macro_export]
macro_rules! load_rows {
    ($conn:expr, $table:expr, $rows:expr, $chunk:expr) => {
        match ($rows.as_slice(), $conn) {
            ([], _) => Ok(()),
            ([row], conn) => diesel::insert_into($table)
                .values(row)
                .execute(conn)
                .map(|_| ()),
            (rows, $crate::db::DbConnection::Postgresql(pg)) => diesel::copy_from($table)
                .from_insertable(rows)
                .execute(pg)
                .map(|_| ()),
            (rows, $crate::db::DbConnection::Sqlite(sqlite)) => {
                rows.chunks($chunk).try_for_each(|chunk| {
                    diesel::insert_into($table)
                        .values(chunk)
                        .execute(sqlite)
                        .map(|_| ())
                })
            }
        }
    };
}

/// The backend of [`DbConnection`], for boxed queries.
pub type Backend = <DbConnection as diesel::Connection>::Backend;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgresql,
    Sqlite,
}

/// A parsed `DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgresql(String),
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgresql(url.to_owned()))
        } else if let Some(rest) = url.strip_prefix("sqlite://") {
            // `sqlite://relative/path` and `sqlite:///absolute/path`.
            if rest.is_empty() {
                return Err("sqlite:// URL has no file path".into());
            }
            Ok(DatabaseUrl::Sqlite(PathBuf::from(rest)))
        } else {
            let scheme = url.split("://").next().unwrap_or("");
            Err(format!(
                "unsupported DATABASE_URL scheme `{scheme}`: use sqlite://path or postgres://…"
            ))
        }
    }

    pub fn engine(&self) -> Engine {
        match self {
            DatabaseUrl::Postgresql(_) => Engine::Postgresql,
            DatabaseUrl::Sqlite(_) => Engine::Sqlite,
        }
    }

    /// A form safe to log: no password.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgresql(url) => match (url.find("://"), url.rfind('@')) {
                (Some(scheme_end), Some(at)) if at > scheme_end => {
                    format!("{}://…@{}", &url[..scheme_end], &url[at + 1..])
                }
                _ => url.clone(),
            },
        }
    }

    fn establish(&self) -> ConnectionResult<DbConnection> {
        self.establish_with(None, Workload::Requests)
    }

    /// Open a connection for `workload`; a PostgreSQL one reports its
    /// every query to `link`.
    fn establish_with(
        &self,
        link: Option<&Arc<Link>>,
        workload: Workload,
    ) -> ConnectionResult<DbConnection> {
        match self {
            DatabaseUrl::Postgresql(url) => {
                let mut pg = PgConnection::establish(&health::with_libpq_defaults(url))?;
                if let Some(link) = link {
                    pg.set_instrumentation(link.watch());
                }
                // client_connection_check_interval exists from PostgreSQL 14
                // on; older servers skip it (the filter is checked first).
                pg.batch_execute(&format!(
                    "SET idle_in_transaction_session_timeout = {}; \
                     SET application_name = '{}'; \
                     SELECT set_config('client_connection_check_interval', '{}', false) \
                     WHERE current_setting('server_version_num')::int >= 140000",
                    health::IDLE_IN_TRANSACTION_TIMEOUT.as_millis(),
                    workload.application_name(),
                    health::CLIENT_CHECK_INTERVAL.as_millis(),
                ))
                .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
                Ok(DbConnection::Postgresql(pg))
            }
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_string_lossy();
                let mut conn = SqliteConnection::establish(&path)?;
                // WAL lets readers run beside the writer; foreign keys are off by default in SQLite.
                // busy_timeout first: switching to WAL needs a lock, and
                // another process (a server stopping) may briefly hold it.
                // Memory-mapped reads: a name search touches hundreds of
                // scattered rows, and without the map each page is a read()
                // copied into every connection's own cache. Measured at
                // 100,000 files, 8 connections: 207 searches/s without,
                // 266 with a 64 MiB cache a connection, 380 with the map
                // (2 GiB, the bundled build's ceiling). Bulk writes (an
                // import's batch of a thousand files, their name keys and
                // entries) touch more pages than the default 2 MiB cache
                // holds, and spilled to the WAL mid-transaction; and the
                // WAL was checkpointed (and synced) after nearly every such
                // batch. A 32 MiB cache and a checkpoint every 10,000 pages:
                // 136,614 imported rows in 42 s instead of 53 s
                // (docs/performance.md). An import's process reads without
                // the map (`Workload::Import`).
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = 15000;
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;
                     PRAGMA mmap_size = {};
                     PRAGMA cache_size = -32768;
                     PRAGMA wal_autocheckpoint = 10000;",
                    workload.mmap_size()
                ))
                .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// A pooled connection: for PostgreSQL with what the pool knows of it.
struct PooledDb {
    conn: DbConnection,
    link: Option<Arc<Link>>,
}

/// What a process opens the database for, which sets how its connections
/// behave: SQLite's reading of the file, and the name PostgreSQL shows
/// for them (`application_name`, in `pg_stat_activity`), by which an
/// import tells its own connections from the people's it yields to
/// (`imports::pacing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// A server's requests. SQLite's file is read through a memory map
    /// (up to 2 GiB, the bundled build's ceiling): a server's scattered
    /// reads — a name search touches hundreds of rows — without each page
    /// copied into every connection's cache.
    Requests,
    /// An import's process (the worker, `sijill import`). SQLite's pages
    /// are copied into the connection's own page cache (32 MiB), the rest
    /// left to the kernel's: an import touches most of the file once (the
    /// organisation's files for its duplicate search, the index pages its
    /// writes descend), and through a map kept every such page in its
    /// resident memory — 444 MiB resident against 133 MiB without, for the
    /// same 116 MiB of heap and the same time (docs/performance.md).
    Import,
}

impl Workload {
    fn mmap_size(self) -> u64 {
        match self {
            Workload::Requests => 2_147_418_112,
            Workload::Import => 0,
        }
    }

    /// The connections' `application_name` on PostgreSQL.
    pub fn application_name(self) -> &'static str {
        match self {
            Workload::Requests => "sijill",
            Workload::Import => "sijill import",
        }
    }
}

struct PoolManager {
    url: DatabaseUrl,
    health: Arc<Health>,
    workload: Workload,
}

impl r2d2::ManageConnection for PoolManager {
    type Connection = PooledDb;
    type Error = ConnectionError;

    fn connect(&self) -> Result<PooledDb, ConnectionError> {
        match self.url {
            DatabaseUrl::Sqlite(_) => Ok(PooledDb {
                conn: self.url.establish_with(None, self.workload)?,
                link: None,
            }),
            DatabaseUrl::Postgresql(_) => {
                let link = Link::new(Arc::clone(&self.health));
                match self.url.establish_with(Some(&link), self.workload) {
                    Ok(conn) => {
                        self.health.connected();
                        link.checked();
                        Ok(PooledDb {
                            conn,
                            link: Some(link),
                        })
                    }
                    Err(err) => {
                        self.health.connect_failed(&err);
                        Err(err)
                    }
                }
            }
        }
    }

    fn is_valid(&self, pooled: &mut PooledDb) -> Result<(), ConnectionError> {
        pooled
            .conn
            .batch_execute("SELECT 1")
            .map_err(|e| ConnectionError::BadConnection(e.to_string()))
    }

    /// diesel's own test sees only its transaction state; a PostgreSQL
    /// connection whose query failed at the connection level, or whose call
    /// stalled, is broken too.
    fn has_broken(&self, pooled: &mut PooledDb) -> bool {
        pooled.link.as_ref().is_some_and(|link| link.is_lost())
            || diesel::r2d2::R2D2Connection::is_broken(&mut pooled.conn)
    }
}

/// A connection taken for one call; when it goes back, its link notes the
/// time and the call lets go of it.
struct Checkout<'a> {
    pooled: r2d2::PooledConnection<PoolManager>,
    call: Option<&'a Call>,
}

impl Checkout<'_> {
    fn link(&self) -> Option<&Arc<Link>> {
        self.pooled.link.as_ref()
    }

    /// A query that failed because the connection went away may surface
    /// as whatever error the code around it made of it: once the
    /// connection is known lost, an internal error is its loss.
    fn settle<T>(&self, result: Result<T, AppError>) -> Result<T, AppError> {
        match result {
            Err(AppError::Internal(cause)) if self.link().is_some_and(|link| link.is_lost()) => {
                Err(AppError::Unavailable(format!(
                    "the database connection was lost: {cause}"
                )))
            }
            other => other,
        }
    }
}

impl std::ops::Deref for Checkout<'_> {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.pooled.conn
    }
}

impl std::ops::DerefMut for Checkout<'_> {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.pooled.conn
    }
}

impl Drop for Checkout<'_> {
    fn drop(&mut self) {
        if let Some(link) = &self.pooled.link {
            link.used();
        }
        if let Some(call) = self.call {
            call.detach();
        }
    }
}

fn abandoned() -> AppError {
    AppError::Unavailable("the request gave up waiting for the database".into())
}

/// The directory a SQLite file goes in, made if missing.
fn create_parent_dir(path: &std::path::Path) -> Result<(), SetupError> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|source| SetupError::Directory {
            path: dir.display().to_string(),
            source,
        }),
        None => Ok(()),
    }
}

/// One SQLite file serves one `sijill serve` process (its writer gate and
/// its access-log batches are per process). A second `serve` on the same
/// file is refused at start-up, by an OS lock on `<file>.lock` held for the
/// life of the process; the OS releases it if the process dies. The command
/// line (migrate, user create …) may still work beside a running server.
///
/// On PostgreSQL, any number of servers share a database: each holds a
/// *shared* session-level advisory lock for its life (on a connection of its
/// own), so that maintenance that must run alone (`sijill keys rotate`)
/// takes it *exclusively* and finds out whether a server runs, and no
/// server starts while it works.
pub struct ServeLock {
    _file: Option<std::fs::File>,
    _postgres: Option<PgConnection>,
}

impl std::fmt::Debug for ServeLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServeLock")
    }
}

/// The class of the two-key advisory lock servers hold shared and
/// maintenance exclusively; the second key is the schema.
const SERVE_LOCK_CLASS: i32 = 0x534A_5356;

impl ServeLock {
    /// Take the lock a server holds while it serves.
    pub fn acquire(url: &str) -> Result<Option<ServeLock>, SetupError> {
        Self::take(url, false)
    }

    /// Take the lock for maintenance that no server may run beside: refused
    /// while any server serves the database.
    pub fn exclusive(url: &str) -> Result<Option<ServeLock>, SetupError> {
        Self::take(url, true)
    }

    fn take(url: &str, exclusive: bool) -> Result<Option<ServeLock>, SetupError> {
        let path = match DatabaseUrl::parse(url).map_err(SetupError::Url)? {
            DatabaseUrl::Sqlite(path) => path,
            DatabaseUrl::Postgresql(url) => return Self::take_postgres(&url, exclusive),
        };
        create_parent_dir(&path)?;
        // The lock names the file itself, not the way it was reached: a
        // symbolic link, `..` or another working directory lead to one lock.
        let real = match std::fs::canonicalize(&path) {
            Ok(real) => real,
            Err(_) => {
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
                let dir = std::fs::canonicalize(dir.unwrap_or(std::path::Path::new("."))).map_err(
                    |source| SetupError::Directory {
                        path: path.display().to_string(),
                        source,
                    },
                )?;
                dir.join(path.file_name().unwrap_or_default())
            }
        };
        let mut lock_path = real.into_os_string();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| SetupError::Locked(format!("cannot open {}: {e}", lock_path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(ServeLock {
                _file: Some(file),
                _postgres: None,
            })),
            Err(std::fs::TryLockError::WouldBlock) => Err(SetupError::Locked(format!(
                "another sijill process is already serving the SQLite database {} \
                 (it holds {}). One SQLite file serves one process: stop the other \
                 one, or use PostgreSQL (DATABASE_URL=postgres://…) to run several",
                path.display(),
                lock_path.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(SetupError::Locked(format!(
                "cannot lock {}: {e}",
                lock_path.display()
            ))),
        }
    }

    fn take_postgres(url: &str, exclusive: bool) -> Result<Option<ServeLock>, SetupError> {
        #[derive(diesel::QueryableByName)]
        struct Taken {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            taken: bool,
        }
        let mut conn = PgConnection::establish(url)
            .map_err(|e| SetupError::Locked(format!("cannot connect to PostgreSQL: {e}")))?;
        let function = if exclusive {
            "pg_try_advisory_lock"
        } else {
            "pg_try_advisory_lock_shared"
        };
        let taken = diesel::sql_query(format!(
            "SELECT {function}({SERVE_LOCK_CLASS}, hashtext(current_schema())) AS taken"
        ))
        .get_result::<Taken>(&mut conn)
        .map_err(|e| SetupError::Locked(format!("cannot take the serve lock: {e}")))?
        .taken;
        if !taken {
            return Err(SetupError::Locked(if exclusive {
                "sijill servers are running on this PostgreSQL database: stop every one of \
                 them first"
                    .to_owned()
            } else {
                "maintenance that must run alone (sijill keys rotate) holds this PostgreSQL \
                 database: start the server once it has finished"
                    .to_owned()
            }));
        }
        Ok(Some(ServeLock {
            _file: None,
            _postgres: Some(conn),
        }))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Locked(String),
    #[error("{0}")]
    Url(String),
    #[error("cannot create the SQLite directory {path}: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] ConnectionError),
    #[error("database migration failed: {0}")]
    Migrate(String),
    #[error("database error during set-up: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("cannot build the connection pool: {0}")]
    Pool(#[from] r2d2::Error),
}

/// The shared handle to the database: a pool, and for SQLite a process-wide
/// writer gate so that writers queue here instead of spinning in SQLite's
/// busy handler (which gives long tails).
///
/// On PostgreSQL the pool also keeps dead connections out of use and bounds
/// every wait; see [`health`].
/// How long `Database::refresh_statistics` waits for the tables' lock
/// (held by a `VACUUM` of them) before it leaves the refresh to
/// autovacuum.
const STATISTICS_LOCK_WAIT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<PoolManager>,
    engine: Engine,
    sqlite_writer: Arc<Mutex<()>>,
    health: Arc<Health>,
    /// Held for the thread of each call (`sealing::Held`): the store
    /// seals and opens `source_notes` with it.
    data_key: Option<Arc<crate::sealing::SealingKey>>,
}

impl Database {
    /// This handle, sealing and opening with `key` from now on.
    pub fn with_data_key(mut self, key: Arc<crate::sealing::SealingKey>) -> Database {
        self.data_key = Some(key);
        self
    }

    pub fn data_key(&self) -> Option<&Arc<crate::sealing::SealingKey>> {
        self.data_key.as_ref()
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Refresh the query planner's statistics on `tables` after a bulk
    /// load, as PostgreSQL's manual advises for one ("Populating a
    /// Database": run `ANALYZE` afterwards). Until autovacuum comes round,
    /// a table that grew by a hundred thousand rows is planned as it was:
    /// a keyset page of an organisation's files (which an import's
    /// duplicate search reads them all by) was planned as a scan and sort
    /// of every file of the organisation, 0.1–0.5 s a page instead of
    /// 5 ms, beside the readers' queries. SQLite keeps no statistics
    /// unless asked to, so its plans do not drift. A failure is logged, not
    /// returned: what was loaded is committed either way.
    ///
    /// `written`: how many rows of the first table the load wrote. As
    /// autovacuum's own rule has it, statistics are refreshed when that is
    /// a tenth of the rows they last counted or more (or they never
    /// counted) — at once rather than at autovacuum's next round. The
    /// `ANALYZE` waits at most `STATISTICS_LOCK_WAIT` for a `VACUUM` of the
    /// same tables to let it in, and gives up (logged) rather than hold a
    /// job open.
    pub fn refresh_statistics(&self, tables: &[&str], written: i64) {
        let Some(first) = tables.first() else { return };
        if self.engine != Engine::Postgresql || written <= 0 {
            return;
        }
        #[derive(QueryableByName)]
        struct Counted {
            #[diesel(sql_type = diesel::sql_types::Double)]
            rows: f64,
        }
        let analyze = format!("ANALYZE {}", tables.join(", "));
        let done = self.read_blocking(|conn| {
            let counted: Vec<Counted> = diesel::sql_query(
                "SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = $1::regclass",
            )
            .bind::<diesel::sql_types::Text, _>(*first)
            .load(conn)?;
            let counted = counted.first().map_or(-1.0, |c| c.rows);
            // -1: never counted (PostgreSQL 14 onwards; 0 before).
            if counted > 0.0 && (written as f64) < counted / 10.0 {
                return Ok(false);
            }
            conn.transaction(|conn| {
                diesel::sql_query(format!(
                    "SET LOCAL lock_timeout = '{}ms'",
                    STATISTICS_LOCK_WAIT.as_millis()
                ))
                .execute(conn)?;
                diesel::sql_query(&analyze).execute(conn)?;
                Ok::<_, AppError>(true)
            })
        });
        match done {
            Ok(true) => {
                tracing::info!(tables = ?tables, written, "refreshed the planner's statistics")
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, tables = ?tables, "could not refresh the planner's statistics")
            }
        }
    }

    /// Connect, run pending migrations on a dedicated connection, then build the pool.
    pub fn open(url: &str, pool_size: u32) -> Result<Self, SetupError> {
        Self::open_with(url, pool_size, Workload::Requests)
    }

    /// As `open`, for `workload` (a process that runs imports:
    /// `Workload::Import`).
    pub fn open_with(url: &str, pool_size: u32, workload: Workload) -> Result<Self, SetupError> {
        let url = DatabaseUrl::parse(url).map_err(SetupError::Url)?;
        if let DatabaseUrl::Sqlite(path) = &url {
            create_parent_dir(path)?;
        }
        migrate(&url)?;
        let engine = url.engine();
        let health = Arc::new(Health::default());
        let builder = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            // No ping on every checkout (a round trip per request): on
            // PostgreSQL, `checkout` checks a connection only when it may
            // have died (see `health`); SQLite's cannot.
            .test_on_check_out(false);
        let builder = match engine {
            Engine::Sqlite => builder.connection_timeout(Duration::from_secs(10)),
            // Requests wait with their own budget (`checkout`). Failed
            // attempts are logged once, by `Health`, not each time.
            Engine::Postgresql => builder
                .connection_timeout(POOL_CONNECTION_TIMEOUT)
                .error_handler(Box::new(r2d2::NopErrorHandler)),
        };
        let pool = builder.build(PoolManager {
            url,
            health: Arc::clone(&health),
            workload,
        })?;
        Ok(Database {
            pool,
            engine,
            sqlite_writer: Arc::new(Mutex::new(())),
            health,
            data_key: None,
        })
    }

    /// A connection from the pool. On PostgreSQL, within `budget`, or 1 s
    /// while the database is unreachable; a connection that may have died
    /// answers `SELECT 1` first, and one that does not is discarded.
    fn checkout<'a>(
        &self,
        call: Option<&'a Call>,
        budget: Duration,
    ) -> Result<Checkout<'a>, AppError> {
        if self.engine == Engine::Sqlite {
            return Ok(Checkout {
                pooled: self.pool.get()?,
                call,
            });
        }
        let deadline = Instant::now() + budget;
        loop {
            let mut wait = deadline.saturating_duration_since(Instant::now());
            if self.health.unreachable() {
                wait = wait.min(CHECKOUT_TIMEOUT_WHEN_UNREACHABLE);
            }
            let mut checkout = Checkout {
                pooled: self.pool.get_timeout(wait)?,
                call,
            };
            let Some(link) = checkout.link().cloned() else {
                return Ok(checkout);
            };
            if let Some(call) = call {
                call.attach(&link);
                if call.abandoned() {
                    return Err(abandoned());
                }
            }
            if !link.needs_check() {
                return Ok(checkout);
            }
            match checkout.batch_execute("SELECT 1") {
                Ok(()) => {
                    link.checked();
                    return Ok(checkout);
                }
                Err(err) => {
                    // Discarded when it goes back (now).
                    link.mark_lost();
                    if Instant::now() >= deadline {
                        return Err(AppError::Unavailable(format!(
                            "no working database connection: {err}"
                        )));
                    }
                }
            }
        }
    }

    /// Run `f` with a pooled connection, outside any explicit transaction.
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        self.read_in(None, CHECKOUT_TIMEOUT, f)
    }

    fn read_in<T>(
        &self,
        call: Option<&Call>,
        budget: Duration,
        f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut conn = self.checkout(call, budget)?;
        let _key = crate::sealing::Held::enter(self.data_key.as_ref());
        let result = f(&mut conn);
        conn.settle(result)
    }

    /// Run `f` in one write transaction: every change and its audit entries
    /// commit together or not at all.
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        self.write_in(None, f)
    }

    fn write_in<T>(
        &self,
        call: Option<&Call>,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let _key = crate::sealing::Held::enter(self.data_key.as_ref());
        match self.engine {
            Engine::Postgresql => {
                let mut conn = self.checkout(call, CHECKOUT_TIMEOUT)?;
                let result = conn.transaction(|conn| {
                    let value = f(&mut WriteTx { conn })?;
                    // Its request was answered 503: roll back rather than
                    // commit a change that was reported as not made.
                    if call.is_some_and(Call::abandoned) {
                        return Err(abandoned());
                    }
                    Ok(value)
                });
                conn.settle(result)
            }
            Engine::Sqlite => {
                // A poisoned gate only means another writer panicked; the
                // database itself is consistent (its transaction rolled back).
                let _gate = self
                    .sqlite_writer
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                let mut conn = self.checkout(call, CHECKOUT_TIMEOUT)?;
                sqlite_immediate_transaction(&mut conn, |conn| f(&mut WriteTx { conn }))
            }
        }
    }

    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        match self.engine {
            Engine::Sqlite => {
                let db = self.clone();
                actix_web::web::block(move || db.read_blocking(f)).await?
            }
            Engine::Postgresql => {
                self.watched(STALL_TIMEOUT, move |db, call| {
                    db.read_in(Some(call), CHECKOUT_TIMEOUT, f)
                })
                .await
            }
        }
    }

    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut WriteTx<'_>) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        match self.engine {
            Engine::Sqlite => {
                let db = self.clone();
                actix_web::web::block(move || db.write_blocking(f)).await?
            }
            Engine::Postgresql => {
                self.watched(STALL_TIMEOUT, move |db, call| db.write_in(Some(call), f))
                    .await
            }
        }
    }

    /// Run `work` on the blocking pool, and answer 503 if it makes no
    /// progress for `stall`. The work itself cannot be interrupted (libpq
    /// waits in the kernel); it is abandoned: its connection is discarded
    /// when it comes back, and a write is rolled back if it reaches its
    /// commit.
    async fn watched<T, W>(&self, stall: Duration, work: W) -> Result<T, AppError>
    where
        W: FnOnce(&Database, &Call) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let call = Call::new();
        let task = {
            let (db, call) = (self.clone(), Arc::clone(&call));
            actix_web::web::block(move || work(&db, &call))
        };
        let mut task = std::pin::pin!(task);
        loop {
            tokio::select! {
                // A call that has finished is never given up.
                biased;
                result = &mut task => return result?,
                () = tokio::time::sleep(stall.saturating_sub(call.idle())) => {}
            }
            if call.idle() >= stall {
                call.abandon();
                return Err(AppError::Unavailable(format!(
                    "the database made no progress for {} s",
                    stall.as_secs_f32()
                )));
            }
        }
    }

    /// Is the database reachable? (`/readyz`) On PostgreSQL the answer
    /// comes within [`READINESS_TIMEOUT`].
    pub async fn ping(&self) -> Result<(), AppError> {
        match self.engine {
            Engine::Sqlite => {
                // Read the file itself (the schema, on its first page):
                // `SELECT 1` would answer from a connection whose file is
                // unreadable.
                self.read(|conn| {
                    conn.batch_execute("SELECT count(*) FROM sqlite_master")?;
                    Ok(())
                })
                .await
            }
            Engine::Postgresql => {
                self.watched(READINESS_TIMEOUT, |db, call| {
                    db.read_in(Some(call), READINESS_TIMEOUT, |conn| {
                        conn.batch_execute("SELECT 1")?;
                        Ok(())
                    })
                })
                .await
            }
        }
    }
}

/// Run `f` in a SQLite `BEGIN IMMEDIATE` transaction.
///
/// IMMEDIATE takes the write lock up front, so the transaction never has to
/// upgrade a read lock later (which is where SQLite deadlocks and retries).
/// The transaction is begun on the concrete connection (only it knows
/// IMMEDIATE) and finished through the enum's transaction manager, which
/// delegates to the same inner manager.
fn sqlite_immediate_transaction<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Tm = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Sqlite(sqlite) => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?
        }
        DbConnection::Postgresql(_) => return Err(AppError::internal_msg("engine mismatch")),
    }
    match f(conn) {
        Ok(value) => {
            Tm::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            Tm::rollback_transaction(conn)?;
            Err(err)
        }
    }
}

fn migrate(url: &DatabaseUrl) -> Result<(), SetupError> {
    match url.establish()? {
        DbConnection::Postgresql(mut pg) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .execute(&mut pg)?;
            let result = pg
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|_| ())
                .map_err(|e| SetupError::Migrate(e.to_string()));
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                .execute(&mut pg)?;
            result
        }
        DbConnection::Sqlite(mut sqlite) => sqlite
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|_| ())
            .map_err(|e| SetupError::Migrate(e.to_string())),
    }
}

/// Lock one row until the end of the write transaction, so a
/// read-check-write sequence (If-Match) cannot interleave with another
/// writer's. PostgreSQL needs `SELECT … FOR UPDATE` (diesel's
/// `MultiConnection` has no `for_update()`); on SQLite the `BEGIN IMMEDIATE`
/// write transaction already excludes every other writer.
pub fn lock_row(tx: &mut WriteTx<'_>, table: &'static str, id: &str) -> Result<(), AppError> {
    lock_row_by(tx, table, "id", id)
}

/// `lock_row` for a table keyed by another column than `id`.
pub fn lock_row_by(
    tx: &mut WriteTx<'_>,
    table: &'static str,
    key_column: &'static str,
    key: &str,
) -> Result<(), AppError> {
    if let DbConnection::Postgresql(pg) = tx.conn() {
        diesel::sql_query(format!(
            "SELECT 1 FROM {table} WHERE {key_column} = $1 FOR UPDATE"
        ))
        .bind::<diesel::sql_types::Text, _>(key)
        .execute(pg)?;
    }
    Ok(())
}

/// The current time, truncated to microseconds: PostgreSQL keeps
/// microseconds, SQLite would keep nanoseconds, and a value that reads back
/// differently per engine would break the audit hash chain.
pub fn now() -> NaiveDateTime {
    Utc::now().trunc_subsecs(6).naive_utc()
}

pub fn to_utc(t: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(t, Utc)
}

/// Fixed-width RFC 3339 with microseconds, as the audit log hashes it.
pub fn format_timestamp(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_engine_by_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://sijill-data/sijill.db").unwrap(),
            DatabaseUrl::Sqlite("sijill-data/sijill.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/sijill.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/sijill.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap().engine(),
            Engine::Postgresql
        );
        assert!(DatabaseUrl::parse("postgress://u@h/db").is_err());
        assert!(DatabaseUrl::parse("mysql://u@h/db").is_err());
        assert!(DatabaseUrl::parse("sijill.db").is_err());
    }

    /// An import's connections read SQLite's file without the map the
    /// server's use (`Workload`).
    #[test]
    fn sqlite_connections_map_the_file_only_when_asked_to() {
        #[derive(QueryableByName)]
        struct MmapSize {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            mmap_size: i64,
        }
        let dir =
            std::env::temp_dir().join(format!("sijill-reads-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = DatabaseUrl::Sqlite(dir.join("sijill.db"));
        for (workload, expected) in [(Workload::Requests, 2_147_418_112), (Workload::Import, 0)] {
            assert_eq!(workload.mmap_size(), expected);
            let DbConnection::Sqlite(mut conn) = url.establish_with(None, workload).unwrap() else {
                panic!("not SQLite");
            };
            let found: Vec<MmapSize> = diesel::sql_query("PRAGMA mmap_size")
                .load(&mut conn)
                .unwrap();
            assert_eq!(found[0].mmap_size as u64, expected, "{workload:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn redacted_urls_hide_passwords() {
        let url = DatabaseUrl::parse("postgres://sijill:hunter2@db:5432/sijill").unwrap();
        assert_eq!(url.redacted(), "postgres://…@db:5432/sijill");
    }
}
