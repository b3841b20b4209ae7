//! `/imports`: a caseworker uploads a list into their organisation; the
//! job runs in the background (`Imports`: one job at a time per
//! organisation, `SIJILL_IMPORT_WORKERS` at a time in all); auditors read
//! every job and report, caseworkers their organisation's.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;
use uuid::Uuid;

use super::job::{self, ImportJob, ImportMode, NewJob, ReportLine};
use super::mapping::{self, Mapping};
use super::run::{self, Request};
use super::source::ImportFormat;
use crate::audit::{self, AuditAction, Changes, Fingerprints, Origin};
use crate::auth::{can, Authorized, Caller};
use crate::db::{self, Database};
use crate::error::{AppError, Code, Problem};
use crate::http::streaming::{batches, download, Batch};
use crate::http::{Cursor, Page};
use crate::state::AppState;
use crate::users::Role;

/// Where uploads wait, how large they may be, and how many jobs run.
#[derive(Clone)]
pub struct Imports {
    dir: PathBuf,
    max_bytes: u64,
    slots: Arc<tokio::sync::Semaphore>,
    /// One job at a time per organisation: two imports of one list at once
    /// would race to open the same files.
    organizations: Arc<Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Imports {
    pub fn new(dir: PathBuf, max_bytes: u64, workers: usize) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Imports {
            dir,
            max_bytes,
            slots: Arc::new(tokio::sync::Semaphore::new(workers.max(1))),
            organizations: Arc::default(),
        })
    }

    pub fn upload_path(&self, id: Uuid) -> PathBuf {
        self.dir.join(format!("{id}.upload"))
    }

    fn organization_lock(&self, organization: Uuid) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .organizations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        locks.entry(organization).or_default().clone()
    }

    /// Run the job in the background, after the organisation's earlier
    /// jobs, when a slot is free. The upload is removed when it ends.
    pub fn spawn(&self, db: Database, fingerprints: Fingerprints, request: Request) {
        let imports = self.clone();
        actix_web::rt::spawn(async move {
            let organization = imports.organization_lock(request.job.organization_id);
            let _turn = organization.lock().await;
            let Ok(_slot) = imports.slots.acquire().await else {
                return;
            };
            let id = request.job.id;
            let ran = web::block(move || {
                let ran = run::run(&db, &fingerprints, &request, &mut |_| {});
                let _ = std::fs::remove_file(&request.path);
                ran
            })
            .await;
            match ran {
                Ok(Ok(job)) => {
                    tracing::info!(job = %id, status = %job.status, rows = job.counts.rows_done, "import finished")
                }
                Ok(Err(e)) => {
                    tracing::error!(job = %id, error = %e, "import could not be recorded as finished")
                }
                Err(e) => tracing::error!(job = %id, error = %e, "import worker failed"),
            }
        });
    }
}

/// Queue a job: its row and its `import.start` entry, in one transaction.
pub fn queue(db: &Database, request: &Request) -> Result<ImportJob, AppError> {
    let job = &request.job;
    db.write_blocking(|tx| {
        job::insert(tx, job)?;
        let changes = Changes::new()
            .created("organization_id", job.organization_id.to_string())
            .created("format", job.format.as_str())
            .created("mode", job.mode.as_str())
            .created("dry_run", job.dry_run)
            .created("mapping_id", job.mapping_id.map(|m| m.to_string()))
            .created("file_name", job.file_name.clone())
            .created("file_sha256", job.file_sha256.clone())
            .created("file_bytes", job.file_bytes);
        audit::append(
            tx,
            &request.actor,
            AuditAction::ImportStart,
            Some(job.id.to_string()),
            changes,
            &request.origin,
        )?;
        job::find(tx, job.id, None)?.ok_or(AppError::NotFound)
    })
}

/// Jobs a stopped server left queued or running end as failed, with their
/// `import.finish` entries: what they committed stays, and running the
/// same file again finishes their work. Their uploads are removed.
pub fn end_interrupted(db: &Database, imports: &Imports) -> Result<usize, AppError> {
    let ids = db.read_blocking(job::interrupted)?;
    for id in &ids {
        run::end_interrupted(db, *id)?;
        let _ = std::fs::remove_file(imports.upload_path(*id));
    }
    Ok(ids.len())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The file's format; when absent, from `Content-Type` (`text/csv`,
    /// `application/x-ndjson` or `application/json`, the XLSX type).
    pub format: Option<ImportFormat>,
    /// Default `all_or_nothing`.
    pub mode: Option<ImportMode>,
    /// Check and count, commit nothing. Default false.
    pub dry_run: Option<bool>,
    /// A saved mapping of the organisation (`POST /import-mappings`).
    pub mapping: Option<Uuid>,
}

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn format_of(request: &HttpRequest, asked: Option<ImportFormat>) -> Result<ImportFormat, AppError> {
    if let Some(format) = asked {
        return Ok(format);
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    match content_type.as_deref() {
        Some("text/csv") => Ok(ImportFormat::Csv),
        // One JSON object is a JSON Lines file of one line.
        Some(
            "application/x-ndjson"
            | "application/jsonl"
            | "application/jsonlines"
            | "application/json",
        ) => Ok(ImportFormat::Jsonl),
        Some(XLSX_TYPE) => Ok(ImportFormat::Xlsx),
        _ => Err(AppError::bad_request(
            Code::InvalidQuery,
            "say the file's format: ?format=csv|jsonl|xlsx, or its Content-Type",
        )),
    }
}

/// The file's name as the client gave it (`Sijill-Filename`,
/// percent-encoded UTF-8), for the job's record only.
fn file_name(request: &HttpRequest) -> Result<Option<String>, AppError> {
    let Some(value) = request.headers().get("sijill-filename") else {
        return Ok(None);
    };
    let bad = || AppError::validation("Sijill-Filename must be percent-encoded UTF-8 text");
    let raw = value.to_str().map_err(|_| bad())?;
    let bytes = percent_decoded(raw).ok_or_else(bad)?;
    let name = String::from_utf8(bytes).map_err(|_| bad())?;
    crate::domain::parse_text("Sijill-Filename", &name, 255).map(Some)
}

fn percent_decoded(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

/// Write the body to `path` as it arrives, hashing it; refuse it (and
/// remove what was written) past `max_bytes`.
async fn save_upload(
    mut body: web::Payload,
    path: &Path,
    max_bytes: u64,
) -> Result<(String, u64), AppError> {
    let mut file =
        std::io::BufWriter::new(std::fs::File::create(path).map_err(AppError::internal)?);
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let result = async {
        while let Some(chunk) = body.next().await {
            let chunk =
                chunk.map_err(|e| AppError::validation(format!("the upload broke off: {e}")))?;
            size += chunk.len() as u64;
            if size > max_bytes {
                return Err(AppError::PayloadTooLarge);
            }
            hasher.update(&chunk);
            // Small writes into the page cache: not worth a thread hop each.
            file.write_all(&chunk).map_err(AppError::internal)?;
        }
        file.flush().map_err(AppError::internal)?;
        if size == 0 {
            return Err(AppError::validation("the body is empty: send the file"));
        }
        Ok((hex::encode(hasher.finalize()), size))
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// Import a list into the caller's organisation. The file is the raw body
/// (up to `SIJILL_IMPORT_MAX_BYTES`); the job runs in the background.
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(ImportQuery, ("Sijill-Filename" = Option<String>, Header, description = "The file's name, percent-encoded UTF-8")),
    request_body(content = Vec<u8>, content_type = "text/csv", description = "The list: CSV (UTF-8, a header row), JSON Lines (an object a line) or an XLSX workbook (its first sheet)"),
    responses(
        (status = 202, description = "Queued", body = ImportJob, headers(("Location" = String))),
        (status = 400, description = "Bad query, or no format given", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 413, description = "Larger than SIJILL_IMPORT_MAX_BYTES", body = Problem),
        (status = 422, description = "An empty body, a bad file name, or a mapping not of your organisation", body = Problem),
    )
)]
#[post("/imports")]
pub async fn create(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ImportDetainees>,
    request: HttpRequest,
    query: web::Query<ImportQuery>,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let format = format_of(&request, query.format)?;
    let file_name = file_name(&request)?;
    let caller = auth.caller;
    let organization = caller.user.organization_id;
    let imports = &state.imports;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > imports.max_bytes) {
        return Err(AppError::PayloadTooLarge);
    }
    let mapping = match query.mapping {
        None => None,
        Some(id) => {
            let saved = state
                .db
                .read(move |conn| mapping::find(conn, organization, id))
                .await?
                .ok_or_else(|| {
                    AppError::validation("mapping names no mapping of your organisation")
                })?;
            Some(Mapping::from_definition(&saved.definition)?)
        }
    };
    let id = Uuid::now_v7();
    let path = imports.upload_path(id);
    let (file_sha256, file_bytes) = save_upload(body, &path, imports.max_bytes).await?;
    let request = Request {
        job: NewJob {
            id,
            organization_id: organization,
            created_by: caller.user.id,
            format,
            mode: query.mode.unwrap_or(ImportMode::AllOrNothing),
            dry_run: query.dry_run.unwrap_or(false),
            mapping_id: query.mapping,
            file_name,
            file_sha256,
            file_bytes: i64::try_from(file_bytes).unwrap_or(i64::MAX),
        },
        mapping,
        path,
        actor: caller.actor(),
        origin,
    };
    let db = state.db.clone();
    let (queued, request) = web::block(move || {
        let queued = queue(&db, &request);
        (queued, request)
    })
    .await?;
    let queued = match queued {
        Ok(queued) => queued,
        Err(e) => {
            let _ = std::fs::remove_file(&request.path);
            return Err(e);
        }
    };
    imports.spawn(state.db.clone(), state.fingerprints.clone(), request);
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/api/v1/imports/{id}")))
        .json(queued))
}

/// The organisation whose jobs the caller sees: their own, or (auditors) all.
fn scope(caller: &Caller) -> Option<Uuid> {
    (caller.user.role != Role::Auditor).then_some(caller.user.organization_id)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    /// 1–200, default 50.
    #[param(value_type = Option<crate::http::pagination::PageLimit>)]
    pub limit: Option<i64>,
    #[param(value_type = Option<crate::http::pagination::IdCursor>)]
    pub cursor: Option<String>,
}

/// Import jobs, newest first.
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(JobsQuery),
    responses(
        (status = 200, description = "A page of jobs", body = inline(Page<ImportJob>)),
        (status = 400, description = "Bad query", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Neither a caseworker nor an auditor", body = Problem),
    )
)]
#[get("/imports")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Authorized<can::ReadImports>,
    query: web::Query<JobsQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let cursor = Cursor::<Uuid>::parse(query.limit, query.cursor.as_deref())?;
    let organization = scope(&auth.caller);
    let page = state
        .db
        .read(move |conn| {
            let jobs = job::list(conn, organization, cursor.after, cursor.fetch())?;
            Ok(cursor.page(jobs, |j| j.id))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn visible_job(state: &AppState, caller: &Caller, id: Uuid) -> Result<ImportJob, AppError> {
    let organization = scope(caller);
    state
        .db
        .read(move |conn| job::find(conn, id, organization))
        .await?
        .ok_or(AppError::NotFound)
}

/// One import job: where it stands and what it counted.
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The job", body = ImportJob),
        (status = 400, description = "Malformed id", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Neither a caseworker nor an auditor", body = Problem),
        (status = 404, description = "No such job, or not of your organisation", body = Problem),
    )
)]
#[get("/imports/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    auth: Authorized<can::ReadImports>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let job = visible_job(&state, &auth.caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(job))
}

/// Report lines a batch of the download.
const REPORT_BATCH: i64 = 2_000;

/// A job's report as CSV — `row,column,code,message`, one line a problem
/// or a possible duplicate — as far as the job has gone.
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The report (text/csv)", content_type = "text/csv", body = String),
        (status = 400, description = "Malformed id", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Neither a caseworker nor an auditor", body = Problem),
        (status = 404, description = "No such job, or not of your organisation", body = Problem),
    )
)]
#[get("/imports/{id}/report")]
pub async fn report(
    state: web::Data<AppState>,
    auth: Authorized<can::ReadImports>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let job = visible_job(&state, &auth.caller, id.into_inner()).await?;
    let id = job.id;
    let next = move |conn: &mut db::DbConnection, after: i64| -> Result<Batch<i64>, AppError> {
        let lines = job::report_lines(conn, id, after, REPORT_BATCH)?;
        let Some(last) = lines.last().map(|(line, _)| *line) else {
            return Ok(None);
        };
        let lines: Vec<ReportLine> = lines.into_iter().map(|(_, line)| line).collect();
        Ok(Some((report_csv(&lines, false)?, last)))
    };
    let head = report_csv(&[], true)?;
    Ok(download(
        "text/csv; charset=utf-8",
        &format!("import-{id}-report.csv"),
        batches(state.db.clone(), 0, next, head, Vec::new()),
    ))
}

/// Report lines as CSV (with the header row when `header`). Cells that a
/// spreadsheet would run as a formula are prefixed with `'`.
pub fn report_csv(lines: &[ReportLine], header: bool) -> Result<Vec<u8>, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    if header {
        writer
            .write_record(["row", "column", "code", "message"])
            .map_err(AppError::internal)?;
    }
    for line in lines {
        writer
            .write_record([
                line.row.to_string().as_str(),
                &crate::detainees::export::defused(&line.column),
                &line.code,
                &crate::detainees::export::defused(&line.message),
            ])
            .map_err(AppError::internal)?;
    }
    writer.into_inner().map_err(AppError::internal)
}

/// Ask a queued or running job to stop: it stops between batches, what it
/// committed stays (audited as `import.cancel`).
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 202, description = "The job will stop", body = ImportJob),
        (status = 400, description = "Malformed id", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 404, description = "No such job in your organisation", body = Problem),
        (status = 409, description = "The job has finished", body = Problem),
    )
)]
#[post("/imports/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ImportDetainees>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let caller = auth.caller;
    let (organization, actor) = (caller.user.organization_id, caller.actor());
    let job = state
        .db
        .write(move |tx| {
            db::lock_row(tx, "import_jobs", &id.to_string())?;
            job::find(tx, id, Some(organization))?.ok_or(AppError::NotFound)?;
            if !job::request_cancel(tx, id)? {
                return Err(AppError::conflict("the import has finished"));
            }
            audit::append(
                tx,
                &actor,
                AuditAction::ImportCancel,
                Some(id.to_string()),
                Changes::new().changed("cancel_requested", false, true),
                &origin,
            )?;
            job::find(tx, id, None)?.ok_or(AppError::NotFound)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(job))
}
