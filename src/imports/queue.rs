//! Where uploads wait, how large they may be, and how many import jobs
//! run at once: one at a time per organisation, `SIJILL_IMPORT_WORKERS` in
//! all. Held in the application state; jobs are started by `routes`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use crate::config::Settings;

/// Where uploads wait, how large they may be, and how many jobs run.
#[derive(Clone)]
pub struct Imports {
    dir: PathBuf,
    pub max_bytes: u64,
    pub slots: Arc<tokio::sync::Semaphore>,
    /// How the server's jobs are run.
    pub worker: WorkerCommand,
    /// One job at a time per organisation: two imports of one list at once
    /// would race to open the same files.
    organizations: Arc<Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Imports {
    /// The imports of `settings`: uploads in the data directory's
    /// `imports`, `SIJILL_IMPORT_WORKERS` jobs at once.
    pub fn for_settings(settings: &Settings) -> std::io::Result<Self> {
        let dir = settings.data_dir.join("imports");
        std::fs::create_dir_all(&dir)?;
        Ok(Imports {
            dir,
            max_bytes: settings.import_max_bytes,
            slots: Arc::new(tokio::sync::Semaphore::new(settings.import_workers.max(1))),
            worker: WorkerCommand {
                program: settings.import_worker_program.clone(),
                environment: settings.worker_environment(),
            },
            organizations: Arc::default(),
        })
    }

    pub fn upload_path(&self, id: Uuid) -> PathBuf {
        self.dir.join(format!("{id}.upload"))
    }

    /// Where job `id`'s upload is written: removed whenever the guard is
    /// dropped — a refused or broken-off upload, a job that ended.
    pub fn upload(&self, id: Uuid) -> Upload {
        Upload {
            path: self.upload_path(id),
        }
    }

    pub fn organization_lock(&self, organization: Uuid) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .organizations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        locks.entry(organization).or_default().clone()
    }
}

/// How the server starts a job's worker process (`worker`): the program,
/// and the variables that give it the server's database and keys.
#[derive(Clone)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub environment: Vec<(&'static str, std::ffi::OsString)>,
}

/// An uploaded file, removed from disk when dropped (also when the request
/// that writes it is dropped half-way, or a worker panics).
pub struct Upload {
    path: PathBuf,
}

impl Upload {
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Jobs of one organisation queued or running at most: uploads wait on
/// disk, and a caseworker should not fill it.
pub const MAX_UNFINISHED_PER_ORGANIZATION: i64 = 4;
