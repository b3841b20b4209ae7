//! Builds the application from settings and serves it.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpServer};

use crate::audit::access::AccessLog;
use crate::audit::{CheckpointSigner, Fingerprints};
use crate::auth::password::PasswordHasher;
use crate::auth::throttle::ThrottlePolicy;
use crate::auth::tokens::TokenService;
use crate::config::Settings;
use crate::db::{Database, ServeLock};
use crate::error::{self, AppError};
use crate::http::routing::resource;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::{
    audit, auth, bootstrap, detainees, facilities, keys, ops, organizations, reviews, search,
    telemetry, users,
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
    if db.write_blocking(crate::search::store::retire_old_keys)? {
        tracing::info!(
            version = crate::search::store::KEY_VERSION,
            "the name keys changed form: rebuilding the name index"
        );
    }
    let mut total = 0;
    loop {
        let indexed = db.write_blocking(|conn| crate::search::store::index_missing(conn, 1_000))?;
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
    }
    Ok(())
}

/// Open the database (migrating it) and build the shared state.
pub fn build_state(settings: &Settings) -> Result<AppState, StartupError> {
    let db = Database::open(&settings.database_url, settings.db_pool_size)?;
    let tokens = TokenService::load(
        &settings.token_issuer,
        settings.access_token_ttl,
        &settings.token_key_file,
        &settings.token_verify_key_files,
    )?;
    let checkpoints = CheckpointSigner::new(keys::load_or_generate(&settings.audit_key_file)?);
    let fingerprints = Fingerprints::for_database(&settings.fingerprint_key_file, &db)?;
    let hasher = PasswordHasher::new(settings.password_hash, settings.password_hash_slots)?;
    index_names(&db)?;
    let access_log = AccessLog::start(db.clone())?;
    Ok(AppState {
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
    let metrics = web::Data::new(Metrics::default());
    let proxies = web::Data::new(settings.trusted_proxies.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(metrics.clone())
            .app_data(proxies.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(MAX_BODY_BYTES)
                    .content_type_required(true)
                    .error_handler(error::json_error),
            )
            .app_data(web::PathConfig::default().error_handler(error::path_error))
            .app_data(web::QueryConfig::default().error_handler(error::query_error))
            // Wrapped last = runs first: request id, then metrics, then headers, then the caller.
            .wrap(from_fn(auth::caller::authenticate))
            .wrap(
                DefaultHeaders::new()
                    .add((header::CACHE_CONTROL, "no-store"))
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff")),
            )
            .wrap(from_fn(crate::http::limits::limit_headers))
            .wrap(from_fn(crate::metrics::record))
            .wrap(from_fn(telemetry::request_context))
            .service(web::scope("/api/v1").configure(api_routes))
            .service(resource("/healthz").get(ops::healthz).build())
            .service(resource("/readyz").get(ops::readyz).build())
            .service(resource("/metrics").get(ops::metrics).build())
            .service(resource("/openapi.json").get(ops::openapi).build())
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(AppError::NotFound)
            }))
    })
    .workers(settings.workers)
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    Ok(server)
}

fn api_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/auth/login").post(auth::routes::login).build())
        .service(
            resource("/auth/refresh")
                .post(auth::routes::refresh)
                .build(),
        )
        .service(resource("/auth/logout").post(auth::routes::logout).build())
        .service(resource("/auth/me").get(auth::routes::me).build())
        .service(
            resource("/organizations")
                .get(organizations::routes::list)
                .post(organizations::routes::create)
                .build(),
        )
        .service(
            resource("/organizations/{id}")
                .get(organizations::routes::get)
                .build(),
        )
        .service(
            resource("/users")
                .get(users::routes::list)
                .post(users::routes::create)
                .build(),
        )
        .service(
            resource("/users/{id}")
                .get(users::routes::get)
                .patch(users::routes::update)
                .build(),
        )
        .service(
            resource("/users/{id}/password")
                .post(users::routes::reset_password)
                .build(),
        )
        .service(
            resource("/facilities")
                .get(facilities::routes::list)
                .post(facilities::routes::create)
                .build(),
        )
        .service(
            resource("/facilities/{id}")
                .get(facilities::routes::get)
                .patch(facilities::routes::update)
                .build(),
        )
        .service(
            resource("/detainees")
                .get(detainees::routes::list)
                .post(detainees::routes::create)
                .build(),
        )
        .service(
            resource("/detainees/search")
                .post(search::routes::search)
                .build(),
        )
        .service(
            resource("/detainees/{id}")
                .get(detainees::routes::get)
                .patch(detainees::routes::update)
                .delete(detainees::routes::archive)
                .build(),
        )
        .service(
            resource("/detainees/{id}/restore")
                .post(detainees::routes::restore)
                .build(),
        )
        .service(
            resource("/detainees/{id}/duplicates")
                .get(search::routes::duplicates)
                .build(),
        )
        .service(
            resource("/detainees/{id}/merge")
                .post(detainees::merge::merge)
                .build(),
        )
        .service(
            resource("/detainees/{id}/unmerge")
                .post(detainees::merge::unmerge)
                .build(),
        )
        .service(
            resource("/detainees/{id}/custody")
                .get(detainees::routes::list_custody)
                .post(detainees::routes::create_custody)
                .build(),
        )
        .service(
            resource("/detainees/{id}/history")
                .get(detainees::routes::history)
                .build(),
        )
        .service(
            resource("/detainees/{id}/reviews")
                .get(reviews::routes::list_for_file)
                .post(reviews::routes::open)
                .build(),
        )
        .service(resource("/reviews").get(reviews::routes::list).build())
        .service(resource("/reviews/{id}").get(reviews::routes::get).build())
        .service(
            resource("/reviews/{id}/claim")
                .post(reviews::routes::claim)
                .build(),
        )
        .service(
            resource("/reviews/{id}/decision")
                .post(reviews::routes::decide)
                .build(),
        )
        .service(
            resource("/reviews/{id}/confirm")
                .post(reviews::routes::confirm)
                .build(),
        )
        .service(
            resource("/reviews/{id}/dispute")
                .post(reviews::routes::dispute)
                .build(),
        )
        .service(
            resource("/reviews/{id}/withdraw")
                .post(reviews::routes::withdraw)
                .build(),
        )
        .service(
            resource("/reviews/{id}/consultations")
                .post(reviews::routes::consult)
                .build(),
        )
        .service(resource("/audit").get(audit::routes::list).build())
        .service(resource("/audit/access").get(audit::routes::access).build())
        .service(resource("/audit/verify").get(audit::routes::verify).build())
        .service(resource("/audit/head").get(audit::routes::head).build());
}
