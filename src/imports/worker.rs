//! A server's import jobs run in a process of their own: the server's own
//! binary, as `sijill import-worker JOB --file UPLOAD`.
//!
//! Why a process and not a thread: see `priority` — lowering a thread of
//! the server does not keep the readers' answers fast while an import
//! keeps the cores busy; lowering a session's scheduling group does, and a
//! session is a process's. The worker
//!
//! - leads a session of its own, lowered (`priority::lower_this_process`),
//!   and is killed when the server dies (`PR_SET_PDEATHSIG`), as the
//!   thread it replaces died with it;
//! - reads the job the server queued from the database and runs it
//!   (`run::run`) as its runner (`job::Runner`): a server starting after a
//!   crash ends the jobs whose worker is gone;
//! - is given the database and keys of the server's settings and the
//!   request's origin in its environment, which only its own user can
//!   read, not in its arguments, which anyone on the host can.
//!
//! The server waits for it, and ends the job as interrupted if the worker
//! exited without ending it (killed, out of memory, unable to start).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use uuid::Uuid;

use super::job::{self, ImportJob, ImportStatus, NewJob, Runner, RunnerKind};
use super::mapping;
use super::pacing::Pacing;
use super::priority;
use super::queue::WorkerCommand;
use super::run::{self, Request};
use crate::audit::{Actor, Fingerprints, Origin};
use crate::config::Settings;
use crate::db::{Database, DbConnection, Workload};
use crate::error::AppError;

/// The request's id and client address, for the job's audit entries.
const REQUEST_ID: &str = "SIJILL_IMPORT_REQUEST_ID";
const CLIENT_IP: &str = "SIJILL_IMPORT_CLIENT_IP";
/// The server's process id: the worker checks it is still its parent.
const SERVER_PID: &str = "SIJILL_IMPORT_SERVER_PID";

impl WorkerCommand {
    /// Run the queued job in a worker and wait for it; the job as it ended.
    /// Blocks: call it on a thread of its own, which lives while the
    /// worker does (the worker dies with it).
    pub fn run(&self, db: &Database, request: &Request) -> Result<ImportJob, AppError> {
        let id = request.job.id;
        match self
            .start(id, &request.path, &request.origin)
            .and_then(|mut worker| worker.wait())
        {
            Ok(status) if status.success() => {}
            Ok(status) => tracing::error!(job = %id, %status, "the import worker failed"),
            Err(e) => tracing::error!(job = %id, error = %e, "the import worker could not start"),
        }
        let ended = db
            .read_blocking(|conn| job::find(conn, id, None))?
            .ok_or(AppError::NotFound)?;
        match ended.status {
            status if status.is_finished() => Ok(ended),
            // It never began (a key it could not read, a program it could
            // not run): nothing was committed, and the cause is in the log.
            ImportStatus::Queued => run::end_failed(
                db,
                id,
                "the import worker could not start the job (the server's log says why); nothing was imported",
            ),
            _ => run::end_interrupted(db, id),
        }
    }

    fn start(
        &self,
        id: Uuid,
        upload: &Path,
        origin: &Origin,
    ) -> std::io::Result<std::process::Child> {
        let mut command = Command::new(&self.program);
        command
            .arg("import-worker")
            .arg(id.to_string())
            .arg("--file")
            .arg(upload)
            .envs(self.environment.iter().map(|(name, value)| (name, value)))
            .env(REQUEST_ID, &origin.request_id)
            .env_remove(CLIENT_IP)
            .env(SERVER_PID, std::process::id().to_string())
            // The worker creates no account: the first admin's password
            // stays with the server.
            .env_remove("SIJILL_BOOTSTRAP_ADMIN_PASSWORD")
            // Its log lines (on standard output, as the server's) and its
            // errors go where the server's go.
            .stdin(Stdio::null());
        if let Some(ip) = &origin.client_ip {
            command.env(CLIENT_IP, ip);
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            let server = std::process::id();
            // SAFETY: the closure runs in the child between fork and exec,
            // where only async-signal-safe calls are allowed: prctl, getppid
            // and setsid are system calls, and the errors are made without
            // allocating.
            unsafe {
                command.pre_exec(move || {
                    // Killed when the thread that started it ends: the
                    // thread that waits for it, which the server's exit ends.
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    // The server may have died before that: then nothing
                    // would kill the worker.
                    if u32::try_from(libc::getppid()).ok() != Some(server) {
                        return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                    }
                    // A session, hence a scheduling group, of its own.
                    if libc::setsid() < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        command.spawn()
    }
}

/// `sijill import-worker`: run queued job `id` from `upload`, in the worker
/// process; the job as it ended.
pub fn work(settings: &Settings, id: Uuid, upload: PathBuf) -> Result<ImportJob, String> {
    die_with_the_server()?;
    priority::lower_this_process();
    let origin = Origin {
        request_id: std::env::var(REQUEST_ID)
            .unwrap_or_else(|_| Origin::system("import-worker").request_id),
        client_ip: std::env::var(CLIENT_IP).ok(),
    };
    // The server that started it has sealed any notes in clear already
    // (`startup::open_database`): the database and its key, nothing more.
    // A process that runs imports reads SQLite's file without the map,
    // and names its PostgreSQL connections as an import's.
    let db = Database::open_with(&settings.database_url, 2, Workload::Import)
        .map_err(|e| e.to_string())?;
    let key = crate::data_key::load(settings, &db).map_err(|e| e.to_string())?;
    let db = db.with_data_key(key);
    let fingerprints = Fingerprints::for_database(&settings.fingerprint_key_file, &db)
        .map_err(|e| e.to_string())?;
    let request = db
        .read_blocking(|conn| queued(conn, id, upload, origin))
        .map_err(|e| format!("job {id}: {e:?}"))?;
    let pacing = Pacing::new(settings.import_yield);
    run::run(&db, &fingerprints, &request, pacing, &mut |_| {})
        .map_err(|e| format!("job {id}: {e:?}"))
}

/// Killed when the server dies, again: the kernel forgets the request made
/// before `exec` when the program runs with more privileges than its
/// parent (file capabilities, say, to bind port 443).
fn die_with_the_server() -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        let server: Option<u32> = std::env::var(SERVER_PID).ok().and_then(|p| p.parse().ok());
        // SAFETY: prctl with PR_SET_PDEATHSIG and getppid only set and read
        // this process's own attributes.
        let parent = unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
            libc::getppid()
        };
        if server.is_some_and(|server| u32::try_from(parent).ok() != Some(server)) {
            return Err("the server that started this worker is gone".to_owned());
        }
    }
    Ok(())
}

/// The job as the server queued it, to be run by this process.
fn queued(
    conn: &mut DbConnection,
    id: Uuid,
    path: PathBuf,
    origin: Origin,
) -> Result<Request, AppError> {
    let queued = job::find(conn, id, None)?.ok_or(AppError::NotFound)?;
    // The account as it is now (its name in the entries): the job checks
    // before each batch that it may still import.
    let user = crate::users::store::find(conn, queued.created_by)?.ok_or(AppError::NotFound)?;
    // Saved mappings are never changed: this is the one the upload named.
    let mapping = match queued.mapping_id {
        None => None,
        Some(mapping_id) => Some(
            mapping::load(conn, queued.organization_id, mapping_id)?.ok_or(AppError::NotFound)?,
        ),
    };
    Ok(Request {
        job: NewJob {
            id,
            organization_id: queued.organization_id,
            created_by: queued.created_by,
            format: queued.format,
            mode: queued.mode,
            dry_run: queued.dry_run,
            mapping_id: queued.mapping_id,
            file_name: queued.file_name,
            file_sha256: queued.file_sha256,
            file_bytes: queued.file_bytes,
            runner: Runner::this_process(RunnerKind::Server),
        },
        mapping,
        path,
        actor: Actor::from(&user),
        origin,
    })
}
