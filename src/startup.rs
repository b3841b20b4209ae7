//! Builds the application from settings and serves it.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpServer};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{scope, AppExt};

use crate::audit::access::AccessLog;
use crate::audit::{CheckpointSigner, Fingerprints};
use crate::auth::mfa::Mfa;
use crate::auth::password::PasswordHasher;
use crate::auth::throttle::ThrottlePolicy;
use crate::auth::tokens::TokenService;
use crate::config::Settings;
use crate::db::{Database, ServeLock, Workload};
use crate::error::{self, AppError};
use crate::http::routing::MethodTable;
use crate::imports::queue::Imports;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::{
    audit, auth, bootstrap, facilities, keys, ops, organizations, search, telemetry, users,
};

/// Request bodies above this are refused with 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] crate::db::SetupError),
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
    #[error(transparent)]
    Tokens(#[from] auth::tokens::TokenSetupError),
    #[error("{0:?}")]
    App(AppError),
    #[error("{0}")]
    Setup(String),
    #[error("cannot listen on {bind}: {source}")]
    Bind {
        bind: String,
        source: std::io::Error,
    },
}

impl From<AppError> for StartupError {
    fn from(err: AppError) -> Self {
        StartupError::App(err)
    }
}

pub struct Application {
    port: u16,
    server: Server,
    access_log: AccessLog,
    /// Held while serving (SQLite only): see `db::ServeLock`.
    serve_lock: Option<ServeLock>,
}

/// Index the names of files that are not indexed yet (created before the
/// name index or its current form), a thousand a transaction.
fn index_names(db: &Database) -> Result<(), StartupError> {
    if db.write_blocking(|conn| crate::search::index::retire_old_keys(conn))? {
        tracing::info!(
            version = crate::search::index::KEY_VERSION,
            "the name keys changed form: rebuilding the name index"
        );
    }
    let mut total = 0;
    loop {
        let indexed =
            db.write_blocking(|conn| crate::detainees::store::index_unindexed(conn, 1_000))?;
        if indexed == 0 {
            break;
        }
        total += indexed;
        tracing::info!(
            total,
            "indexing the names of files created before the name index"
        );
    }
    if total > 0 {
        tracing::info!(total, "indexed the names of files");
        db.refresh_statistics(crate::detainees::store::BULK_LOADED_TABLES, total as i64);
    }
    Ok(())
}

/// Open the database (migrating it) with the data key, which every server
/// and command on it must share; `source_notes` written before they were
/// encrypted are sealed now.
pub fn open_database(settings: &Settings, pool_size: u32) -> Result<Database, StartupError> {
    open_database_with(settings, pool_size, Workload::Requests)
}

/// As `open_database`, for `workload` (`sijill import`: `Import`).
pub fn open_database_with(
    settings: &Settings,
    pool_size: u32,
    workload: Workload,
) -> Result<Database, StartupError> {
    let db = Database::open_with(&settings.database_url, pool_size, workload)?;
    let key = crate::data_key::load(settings, &db)?;
    let db = db.with_data_key(key);
    let sealed = crate::data_key::seal_clear_notes(&db)?;
    if sealed > 0 {
        tracing::info!(
            sealed,
            "source notes stored in clear text are now encrypted"
        );
    }
    Ok(db)
}

/// The attachment store `settings` name.
pub fn open_attachment_store(
    settings: &Settings,
) -> Result<crate::attachments::Storage, StartupError> {
    crate::attachments::Storage::open(
        settings.attachment_store.as_deref(),
        &settings.data_dir.join("attachments"),
    )
    .map_err(StartupError::Setup)
}

/// Open the database (migrating it) and build the shared state.
pub fn build_state(settings: &Settings) -> Result<AppState, StartupError> {
    let db = open_database(settings, settings.db_pool_size)?;
    let tokens = TokenService::load(
        &settings.token_issuer,
        settings.access_token_ttl,
        &settings.token_key_file,
        &settings.token_verify_key_files,
    )?;
    let checkpoints = CheckpointSigner::new(keys::load_or_generate(&settings.audit_key_file)?);
    let fingerprints = Fingerprints::for_database(&settings.fingerprint_key_file, &db)?;
    let mfa = Mfa::new(
        settings.mfa_required_roles.clone(),
        settings.mfa_token_ttl,
        settings.token_issuer.clone(),
        crate::db::key_checks::sealing_key(
            &settings.mfa_key_file,
            &db,
            crate::auth::mfa::KEY_CHECK,
            "SIJILL_MFA_KEY_FILE",
        )?,
    );
    let hasher = PasswordHasher::new(settings.password_hash, settings.password_hash_slots)?;
    index_names(&db)?;
    let access_log = AccessLog::start(db.clone())?;
    let imports = Imports::for_settings(settings)
        .map_err(|e| StartupError::Setup(format!("the imports directory: {e}")))?;
    let interrupted = crate::imports::routes::end_interrupted(&db, &imports)?;
    if interrupted > 0 {
        tracing::warn!(
            interrupted,
            "imports the last run left unfinished ended as failed"
        );
    }
    let attachments = crate::attachments::Attachments {
        storage: open_attachment_store(settings)?,
        max_bytes: settings.attachment_max_bytes,
    };
    Ok(AppState {
        attachments,
        imports,
        access_log,
        db,
        tokens: Arc::new(tokens),
        hasher,
        throttle: ThrottlePolicy {
            window: settings.login_throttle_window,
            max_per_user: settings.login_max_failures_per_user,
            max_per_client: settings.login_max_failures_per_client,
        },
        checkpoints,
        fingerprints,
        refresh_token_ttl: settings.refresh_token_ttl,
        common_keys: Arc::default(),
        mfa,
    })
}

impl Application {
    pub fn build(settings: Settings) -> Result<Self, StartupError> {
        if cfg!(feature = "unlogged-reads-benchmark-only") {
            eprintln!(
                "WARNING: this binary was built for benchmarks: reads of files are NOT logged"
            );
            tracing::warn!("built with unlogged-reads-benchmark-only: the access log is off");
        }
        // Before anything touches the database: a second server on one
        // SQLite file stops here, saying why.
        let serve_lock = ServeLock::acquire(&settings.database_url)?;
        let state = build_state(&settings)?;
        if let Some(password) = bootstrap::ensure_first_admin(
            &state.db,
            &state.hasher,
            settings.bootstrap_admin_password.as_ref(),
        )? {
            bootstrap::announce(&password);
        }
        let listener = TcpListener::bind(&settings.bind).map_err(|source| StartupError::Bind {
            bind: settings.bind.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                bind: settings.bind.clone(),
                source,
            })?
            .port();
        let access_log = state.access_log.clone();
        let server = serve(listener, state, &settings).map_err(|source| StartupError::Bind {
            bind: settings.bind.clone(),
            source,
        })?;
        Ok(Application {
            port,
            server,
            access_log,
            serve_lock,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (as SIGTERM would) from another task.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serve until SIGINT/SIGTERM; in-flight requests get time to finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let _serve_lock = self.serve_lock;
        let result = self.server.await;
        // Requests have finished: write the reads they logged.
        if !self
            .access_log
            .flush_blocking(std::time::Duration::from_secs(10))
        {
            tracing::error!("the access log could not be flushed at shutdown");
        }
        result
    }
}

fn serve(listener: TcpListener, state: AppState, settings: &Settings) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    let metrics = web::Data::new(Metrics::new().map_err(std::io::Error::other)?);
    let proxies = web::Data::new(settings.trusted_proxies.clone());
    let openapi = crate::openapi::document(routes);
    let methods = web::Data::new(MethodTable::from_document(&openapi));
    let document = crate::openapi::Document::new(&openapi).map_err(std::io::Error::other)?;
    let document = web::Data::new(document);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(metrics.clone())
            .app_data(proxies.clone())
            .app_data(methods.clone())
            .app_data(document.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(MAX_BODY_BYTES)
                    .content_type_required(true)
                    .error_handler(error::json_error),
            )
            .app_data(web::PathConfig::default().error_handler(error::path_error))
            .app_data(web::QueryConfig::default().error_handler(error::query_error))
            // Wrapped last = runs first: request id, then metrics, then headers, then the
            // caller, then literal paths' methods.
            .wrap(from_fn(crate::http::routing::literal_paths))
            .wrap(from_fn(auth::caller::authenticate))
            .wrap(
                DefaultHeaders::new()
                    .add((header::CACHE_CONTROL, "no-store"))
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff")),
            )
            .wrap(from_fn(crate::http::limits::limit_headers))
            .wrap(from_fn(crate::metrics::record))
            .wrap(from_fn(telemetry::request_context))
            .into_utoipa_app()
            .configure(routes)
            .into_app()
            .configure(crate::console::configure)
            .default_service(web::to(crate::http::routing::unrouted))
    })
    .workers(settings.workers)
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Every route the server answers, registered once: actix serves what this
/// registers, and the OpenAPI document's paths are collected from the same
/// calls (`openapi::document(routes)`). A handler without a `#[utoipa::path]`
/// annotation cannot be registered here: `service` requires one.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(scope("/api/v1").configure(api_routes))
        .service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(ops::openapi);
}

fn api_routes(cfg: &mut ServiceConfig) {
    use crate::detainees::merge;
    use crate::detainees::routes as files;
    use crate::reviews::routes as review;
    cfg.service(auth::routes::login)
        .service(auth::routes::refresh)
        .service(auth::routes::logout)
        .service(auth::routes::me)
        .service(auth::mfa::routes::login_with_code)
        .service(auth::mfa::routes::status)
        .service(auth::mfa::routes::start)
        .service(auth::mfa::routes::confirm)
        .service(auth::mfa::routes::disable)
        .service(organizations::routes::list)
        .service(organizations::routes::create)
        .service(organizations::routes::get)
        .service(users::routes::list)
        .service(users::routes::create)
        .service(users::routes::get)
        .service(users::routes::update)
        .service(users::routes::reset_password)
        .service(auth::mfa::routes::reset)
        .service(facilities::routes::list)
        .service(facilities::routes::create)
        .service(facilities::routes::get)
        .service(facilities::routes::update)
        .service(files::list)
        .service(files::create)
        // Before `/detainees/{id}`, which would otherwise take "search" for an id.
        .service(search::routes::search)
        .service(crate::detainees::export::export)
        .service(files::get)
        .service(files::read_source_notes)
        .service(crate::attachments::routes::upload)
        .service(crate::attachments::routes::list)
        .service(crate::attachments::routes::get)
        .service(crate::attachments::routes::content)
        .service(crate::attachments::routes::archive)
        .service(crate::attachments::routes::purge)
        .service(files::update)
        .service(files::archive)
        .service(files::restore)
        .service(search::routes::duplicates)
        .service(merge::routes::merge)
        .service(merge::routes::unmerge)
        .service(files::list_custody)
        .service(files::create_custody)
        .service(files::history)
        .service(review::list_for_file)
        .service(review::open)
        .service(review::list)
        .service(review::get)
        .service(review::claim)
        .service(review::decide)
        .service(review::confirm)
        .service(review::dispute)
        .service(review::withdraw)
        .service(review::consult)
        .service(audit::routes::list)
        .service(audit::routes::access)
        .service(audit::routes::verify)
        .service(audit::routes::head)
        .service(audit::routes::export)
        .service(crate::imports::routes::create)
        .service(crate::imports::routes::list)
        .service(crate::imports::routes::get)
        .service(crate::imports::routes::report)
        .service(crate::imports::routes::cancel)
        .service(crate::imports::routes::create_mapping)
        .service(crate::imports::routes::get_mapping);
}
