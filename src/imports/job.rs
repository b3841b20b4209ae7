//! Import jobs as stored: what was asked, where the job stands, what it
//! counted, and its report. Counts are added in SQL in the transaction of
//! the batch they count, so a job's counts are what was committed.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::source::ImportFormat;
use crate::db::schema::{import_jobs, import_report};
use crate::db::{self, DbConnection, WriteTx};
use crate::domain::{stored_optional_uuid, stored_uuid};
use crate::error::AppError;
use crate::text_enum;

text_enum! {
    pub enum ImportStatus {
        Queued => "queued",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
        Cancelled => "cancelled",
    }
}

impl ImportStatus {
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            ImportStatus::Succeeded | ImportStatus::Failed | ImportStatus::Cancelled
        )
    }
}

text_enum! {
    /// `all_or_nothing` (the default) commits nothing if any row is
    /// invalid; `skip_invalid` commits the valid rows and reports the rest.
    pub enum ImportMode {
        AllOrNothing => "all_or_nothing",
        SkipInvalid => "skip_invalid",
    }
}

/// What a job counted so far (or would, in a dry run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Counts {
    pub rows_done: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub invalid: i64,
    pub possible_duplicates: i64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.rows_done += other.rows_done;
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.invalid += other.invalid;
        self.possible_duplicates += other.possible_duplicates;
    }
}

/// An import job as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportJob {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub created_by: Uuid,
    pub status: ImportStatus,
    pub format: ImportFormat,
    pub mode: ImportMode,
    pub dry_run: bool,
    pub mapping_id: Option<Uuid>,
    pub file_name: Option<String>,
    /// SHA-256 of the file as uploaded (hex).
    pub file_sha256: String,
    pub file_bytes: i64,
    /// Known once the job has read the file through.
    pub rows_total: Option<i64>,
    #[serde(flatten)]
    pub counts: Counts,
    pub cancel_requested: bool,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Why a job failed.
    pub error: Option<String>,
    /// How long the job has paused, in all, while others were being
    /// served (PostgreSQL only: see docs/imports.md, "Yielding").
    pub yielded_ms: i64,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = import_jobs)]
struct JobRow {
    id: String,
    organization_id: String,
    created_by: String,
    format: String,
    mode: String,
    dry_run: bool,
    mapping_id: Option<String>,
    file_name: Option<String>,
    file_sha256: String,
    file_bytes: i64,
    status: String,
    rows_total: Option<i64>,
    rows_done: i64,
    created: i64,
    updated: i64,
    unchanged: i64,
    invalid: i64,
    possible_duplicates: i64,
    error: Option<String>,
    cancel_requested: bool,
    queued_at: NaiveDateTime,
    started_at: Option<NaiveDateTime>,
    finished_at: Option<NaiveDateTime>,
    yielded_ms: i64,
}

impl TryFrom<JobRow> for ImportJob {
    type Error = AppError;
    fn try_from(row: JobRow) -> Result<Self, AppError> {
        Ok(ImportJob {
            id: stored_uuid(&row.id)?,
            organization_id: stored_uuid(&row.organization_id)?,
            created_by: stored_uuid(&row.created_by)?,
            status: row.status.parse()?,
            format: row.format.parse()?,
            mode: row.mode.parse()?,
            dry_run: row.dry_run,
            mapping_id: stored_optional_uuid(row.mapping_id)?,
            file_name: row.file_name,
            file_sha256: row.file_sha256,
            file_bytes: row.file_bytes,
            rows_total: row.rows_total,
            counts: Counts {
                rows_done: row.rows_done,
                created: row.created,
                updated: row.updated,
                unchanged: row.unchanged,
                invalid: row.invalid,
                possible_duplicates: row.possible_duplicates,
            },
            cancel_requested: row.cancel_requested,
            queued_at: db::to_utc(row.queued_at),
            started_at: row.started_at.map(db::to_utc),
            finished_at: row.finished_at.map(db::to_utc),
            error: row.error,
            yielded_ms: row.yielded_ms,
        })
    }
}

/// A job as asked for, before it runs.
pub struct NewJob {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub created_by: Uuid,
    pub format: ImportFormat,
    pub mode: ImportMode,
    pub dry_run: bool,
    pub mapping_id: Option<Uuid>,
    pub file_name: Option<String>,
    pub file_sha256: String,
    pub file_bytes: i64,
    pub runner: Runner,
}

/// Who runs a job: a server's background queue or `sijill import`, as a
/// process on a host — so that a process starting can tell the jobs of a
/// process that died (on its own host) from those another one still runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runner {
    pub kind: RunnerKind,
    pub host: String,
    pub pid: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerKind {
    Server,
    Cli,
}

impl Runner {
    /// This process, as `kind`.
    pub fn this_process(kind: RunnerKind) -> Self {
        Runner {
            kind,
            host: host_name(),
            pid: std::process::id(),
        }
    }

    fn stored(&self) -> String {
        let kind = match self.kind {
            RunnerKind::Server => "server",
            RunnerKind::Cli => "cli",
        };
        format!("{kind} {} {}", self.host, self.pid)
    }

    fn from_stored(text: &str) -> Option<Self> {
        let (kind, rest) = text.split_once(' ')?;
        let kind = match kind {
            "server" => RunnerKind::Server,
            "cli" => RunnerKind::Cli,
            _ => return None,
        };
        let (host, pid) = rest.rsplit_once(' ')?;
        Some(Runner {
            kind,
            host: host.to_owned(),
            pid: pid.parse().ok()?,
        })
    }

    /// Has the process that runs the job gone? Only a process of this host
    /// can be told; this process itself has not. A process that has died
    /// but is not yet reaped (a zombie) has gone.
    pub fn is_gone(&self) -> bool {
        if self.host != host_name() || self.pid == std::process::id() {
            return false;
        }
        match std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            // Another user's process behind `hidepid`: there, so not gone.
            Err(_) => false,
            // `pid (command) state …`; the command may hold spaces and parentheses.
            Ok(stat) => stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state == "Z" || state == "X"),
        }
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Jobs of the organisation queued or running (a limit on uploads waiting).
pub fn unfinished_of(conn: &mut DbConnection, organization: Uuid) -> Result<i64, AppError> {
    Ok(import_jobs::table
        .filter(import_jobs::organization_id.eq(organization.to_string()))
        .filter(import_jobs::status.eq_any([
            ImportStatus::Queued.as_str(),
            ImportStatus::Running.as_str(),
        ]))
        .count()
        .get_result(conn)?)
}

pub fn insert(conn: &mut DbConnection, job: &NewJob) -> Result<(), AppError> {
    diesel::insert_into(import_jobs::table)
        .values((
            (
                import_jobs::id.eq(job.id.to_string()),
                import_jobs::organization_id.eq(job.organization_id.to_string()),
                import_jobs::created_by.eq(job.created_by.to_string()),
                import_jobs::format.eq(job.format.as_str()),
                import_jobs::mode.eq(job.mode.as_str()),
                import_jobs::dry_run.eq(job.dry_run),
                import_jobs::mapping_id.eq(job.mapping_id.map(|id| id.to_string())),
                import_jobs::file_name.eq(&job.file_name),
                import_jobs::file_sha256.eq(&job.file_sha256),
                import_jobs::file_bytes.eq(job.file_bytes),
                import_jobs::status.eq(ImportStatus::Queued.as_str()),
            ),
            (
                import_jobs::rows_done.eq(0),
                import_jobs::created.eq(0),
                import_jobs::updated.eq(0),
                import_jobs::unchanged.eq(0),
                import_jobs::invalid.eq(0),
                import_jobs::possible_duplicates.eq(0),
                import_jobs::cancel_requested.eq(false),
                import_jobs::runner.eq(job.runner.stored()),
                import_jobs::queued_at.eq(db::now()),
            ),
        ))
        .execute(conn)?;
    Ok(())
}

/// The job, if `organization` (when given) owns it.
pub fn find(
    conn: &mut DbConnection,
    id: Uuid,
    organization: Option<Uuid>,
) -> Result<Option<ImportJob>, AppError> {
    let mut query = import_jobs::table
        .filter(import_jobs::id.eq(id.to_string()))
        .select(JobRow::as_select())
        .into_boxed();
    if let Some(organization) = organization {
        query = query.filter(import_jobs::organization_id.eq(organization.to_string()));
    }
    query
        .first(conn)
        .optional()?
        .map(ImportJob::try_from)
        .transpose()
}

/// Jobs newest first, before `before` (a job id: they are UUIDv7).
pub fn list(
    conn: &mut DbConnection,
    organization: Option<Uuid>,
    before: Option<Uuid>,
    fetch: i64,
) -> Result<Vec<ImportJob>, AppError> {
    let mut query = import_jobs::table.select(JobRow::as_select()).into_boxed();
    if let Some(organization) = organization {
        query = query.filter(import_jobs::organization_id.eq(organization.to_string()));
    }
    if let Some(before) = before {
        query = query.filter(import_jobs::id.lt(before.to_string()));
    }
    query
        .order(import_jobs::id.desc())
        .limit(fetch)
        .load(conn)?
        .into_iter()
        .map(ImportJob::try_from)
        .collect()
}

/// Whether a queued job could start.
#[derive(Debug, PartialEq, Eq)]
pub enum Start {
    Running,
    /// Another job of the organisation runs (in this process or another):
    /// one at a time per organisation, across processes.
    Waiting(Uuid),
    /// It is no longer queued (ended by someone else).
    NotQueued,
}

/// Start a queued job as `runner`'s, unless another job of its
/// organisation runs. The organisation's row is locked first, so two
/// processes starting jobs of one organisation take turns. The runner is
/// the process that does the work (a server's import worker, not the
/// server that queued the job): when it dies, its job is known to be
/// interrupted.
pub fn start(
    tx: &mut WriteTx<'_>,
    id: Uuid,
    organization: Uuid,
    rows_total: Option<i64>,
    runner: &Runner,
) -> Result<Start, AppError> {
    db::lock_row(tx, "organizations", &organization.to_string())?;
    let running = import_jobs::table
        .filter(import_jobs::organization_id.eq(organization.to_string()))
        .filter(import_jobs::status.eq(ImportStatus::Running.as_str()))
        .filter(import_jobs::id.ne(id.to_string()))
        .select((import_jobs::id, import_jobs::runner))
        .load::<(String, String)>(tx.conn())?;
    // A job whose process died blocks no one (a start ends it as failed).
    if let Some((other, _)) = running
        .iter()
        .find(|(_, runner)| Runner::from_stored(runner).is_some_and(|r| !r.is_gone()))
    {
        return Ok(Start::Waiting(stored_uuid(other)?));
    }
    let started = diesel::update(
        import_jobs::table
            .find(id.to_string())
            .filter(import_jobs::status.eq(ImportStatus::Queued.as_str())),
    )
    .set((
        import_jobs::status.eq(ImportStatus::Running.as_str()),
        import_jobs::rows_total.eq(rows_total),
        import_jobs::started_at.eq(Some(db::now())),
        import_jobs::runner.eq(runner.stored()),
    ))
    .execute(tx.conn())?;
    Ok(if started == 1 {
        Start::Running
    } else {
        Start::NotQueued
    })
}

/// Add a batch's counts to the job's, and the pause before it, in SQL.
pub fn count(
    conn: &mut DbConnection,
    id: Uuid,
    counts: &Counts,
    yielded: Duration,
) -> Result<(), AppError> {
    let yielded_ms = i64::try_from(yielded.as_millis()).unwrap_or(i64::MAX);
    diesel::update(import_jobs::table.find(id.to_string()))
        .set((
            import_jobs::yielded_ms.eq(import_jobs::yielded_ms + yielded_ms),
            import_jobs::rows_done.eq(import_jobs::rows_done + counts.rows_done),
            import_jobs::created.eq(import_jobs::created + counts.created),
            import_jobs::updated.eq(import_jobs::updated + counts.updated),
            import_jobs::unchanged.eq(import_jobs::unchanged + counts.unchanged),
            import_jobs::invalid.eq(import_jobs::invalid + counts.invalid),
            import_jobs::possible_duplicates
                .eq(import_jobs::possible_duplicates + counts.possible_duplicates),
        ))
        .execute(conn)?;
    Ok(())
}

/// Start the counts again (the second pass of an all-or-nothing import
/// counts what it commits, not what the check counted).
pub fn reset_counts(conn: &mut DbConnection, id: Uuid) -> Result<(), AppError> {
    diesel::update(import_jobs::table.find(id.to_string()))
        .set((
            import_jobs::rows_done.eq(0),
            import_jobs::created.eq(0),
            import_jobs::updated.eq(0),
            import_jobs::unchanged.eq(0),
            import_jobs::invalid.eq(0),
            import_jobs::possible_duplicates.eq(0),
        ))
        .execute(conn)?;
    Ok(())
}

/// Has someone asked the job to stop?
pub fn cancel_requested(conn: &mut DbConnection, id: Uuid) -> Result<bool, AppError> {
    Ok(import_jobs::table
        .find(id.to_string())
        .select(import_jobs::cancel_requested)
        .first(conn)?)
}

/// Ask a job to stop, if it has not finished: it stops between batches.
/// Returns whether it was still going. The job row must be locked.
pub fn request_cancel(conn: &mut DbConnection, id: Uuid) -> Result<bool, AppError> {
    let changed = diesel::update(import_jobs::table.find(id.to_string()).filter(
        import_jobs::status.eq_any([
            ImportStatus::Queued.as_str(),
            ImportStatus::Running.as_str(),
        ]),
    ))
    .set(import_jobs::cancel_requested.eq(true))
    .execute(conn)?;
    Ok(changed == 1)
}

/// The job ends, if it had not: returns whether this call ended it.
pub fn finish(
    conn: &mut DbConnection,
    id: Uuid,
    status: ImportStatus,
    error: Option<&str>,
) -> Result<bool, AppError> {
    let ended = diesel::update(import_jobs::table.find(id.to_string()).filter(
        import_jobs::status.eq_any([
            ImportStatus::Queued.as_str(),
            ImportStatus::Running.as_str(),
        ]),
    ))
    .set((
        import_jobs::status.eq(status.as_str()),
        import_jobs::error.eq(error),
        import_jobs::finished_at.eq(Some(db::now())),
    ))
    .execute(conn)?;
    Ok(ended == 1)
}

/// Jobs queued or running whose runner is gone: a stopped server's, or a
/// killed `sijill import`'s on this host. They end as failed (what they
/// committed stays; running the file again finishes the work).
pub fn interrupted(conn: &mut DbConnection) -> Result<Vec<Uuid>, AppError> {
    let unfinished = import_jobs::table
        .filter(import_jobs::status.eq_any([
            ImportStatus::Queued.as_str(),
            ImportStatus::Running.as_str(),
        ]))
        .select((import_jobs::id, import_jobs::runner))
        .load::<(String, String)>(conn)?;
    unfinished
        .into_iter()
        .filter(|(_, runner)| Runner::from_stored(runner).is_none_or(|r| r.is_gone()))
        .map(|(id, _)| stored_uuid(&id))
        .collect()
}

/// One line of a job's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLine {
    pub row: i64,
    pub column: String,
    pub code: String,
    pub message: String,
}

/// Add lines to the report, numbered from `first`.
pub fn report(
    conn: &mut DbConnection,
    id: Uuid,
    first: i64,
    lines: &[ReportLine],
) -> Result<(), AppError> {
    let id = id.to_string();
    let rows: Vec<_> = lines
        .iter()
        .zip(first..)
        .map(|(line, number)| NewReportRow {
            job_id: &id,
            line: number,
            row_number: line.row,
            column_name: &line.column,
            code: &line.code,
            message: &line.message,
        })
        .collect();
    // New lines at numbers no one else writes (one runner a job): a bulk
    // load. 6 parameters a row.
    crate::load_rows!(conn, import_report::table, rows, 1000)?;
    Ok(())
}

/// A report line's row, loaded in bulk (`load_rows!`).
#[derive(Insertable)]
#[diesel(table_name = import_report, treat_none_as_default_value = false)]
struct NewReportRow<'a> {
    job_id: &'a str,
    line: i64,
    row_number: i64,
    column_name: &'a str,
    code: &'a str,
    message: &'a str,
}

/// Report lines after `after`, in order: `(line, line)`.
pub fn report_lines(
    conn: &mut DbConnection,
    id: Uuid,
    after: i64,
    fetch: i64,
) -> Result<Vec<(i64, ReportLine)>, AppError> {
    Ok(import_report::table
        .filter(import_report::job_id.eq(id.to_string()))
        .filter(import_report::line.gt(after))
        .order(import_report::line.asc())
        .select((
            import_report::line,
            import_report::row_number,
            import_report::column_name,
            import_report::code,
            import_report::message,
        ))
        .limit(fetch)
        .load::<(i64, i64, String, String, String)>(conn)?
        .into_iter()
        .map(|(line, row, column, code, message)| {
            (
                line,
                ReportLine {
                    row,
                    column,
                    code,
                    message,
                },
            )
        })
        .collect())
}
