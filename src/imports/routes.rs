//! `/imports`: a caseworker uploads a list into their organisation; the
//! job runs in the background (`Imports`: one job at a time per
//! organisation, `SIJILL_IMPORT_WORKERS` at a time in all); auditors read
//! every job and report, caseworkers their organisation's.

use std::io::Write;

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;
use uuid::Uuid;

use super::job::{self, ImportJob, ImportMode, NewJob, ReportLine};
use super::mapping::{self, Mapping, MappingDefinition, SavedMapping};
use super::queue::{Imports, Upload, MAX_UNFINISHED_PER_ORGANIZATION};
use super::rows::check_constants;
use super::run::{self, Request};
use super::source::ImportFormat;
use crate::audit::{self, AuditAction, Changes, Origin};
use crate::auth::{can, Authorized, Caller};
use crate::db::{self, Database};
use crate::error::{AppError, Code, Problem};
use crate::http::streaming::{batches, download, Batch};
use crate::http::{Cursor, Page};
use crate::state::AppState;
use crate::users::Role;

/// Run the job in the background, after the organisation's earlier
/// jobs, when a slot is free, in a worker process (`worker`). The upload
/// is removed when it ends.
pub fn spawn(imports: &Imports, db: Database, request: Request, upload: Upload) {
    let imports = imports.clone();
    actix_web::rt::spawn(async move {
        let organization = imports.organization_lock(request.job.organization_id);
        let _turn = organization.lock().await;
        let Ok(_slot) = imports.slots.acquire().await else {
            return;
        };
        let id = request.job.id;
        // A thread of its own that waits for the worker: not one of the
        // shared blocking threads, and it must live as long as the worker
        // (which is killed when the thread that started it ends).
        let db_if_unstarted = db.clone();
        let worker = imports.worker.clone();
        let (done, ran) = tokio::sync::oneshot::channel();
        let started = std::thread::Builder::new()
            .name(format!("import-{id}"))
            .spawn(move || {
                let ran = worker.run(&db, &request);
                drop(upload);
                let _ = done.send(ran);
            });
        if let Err(e) = started {
            tracing::error!(job = %id, error = %e, "no thread for the import");
            // Ended now, not left queued until the next start.
            let ended = web::block(move || run::end_interrupted(&db_if_unstarted, id)).await;
            if !matches!(ended, Ok(Ok(_))) {
                tracing::error!(job = %id, "the import could not be recorded as failed");
            }
            return;
        }
        match ran.await {
            Ok(Ok(job)) => {
                tracing::info!(job = %id, status = %job.status, rows = job.counts.rows_done, "import finished")
            }
            Ok(Err(e)) => {
                tracing::error!(job = %id, error = %e, "import could not be recorded as finished")
            }
            Err(_) => tracing::error!(job = %id, "import worker failed"),
        }
    });
}

/// Queue a job: its row and its `import.start` entry, in one transaction
/// — unless the organisation has `MAX_UNFINISHED_PER_ORGANIZATION` jobs
/// queued or running already (409).
pub fn queue(db: &Database, request: &Request) -> Result<ImportJob, AppError> {
    let job = &request.job;
    db.write_blocking(|tx| {
        db::lock_row(tx, "organizations", &job.organization_id.to_string())?;
        let unfinished = job::unfinished_of(tx, job.organization_id)?;
        if unfinished >= MAX_UNFINISHED_PER_ORGANIZATION {
            return Err(AppError::conflict(format!(
                "{unfinished} imports of your organisation are queued or running: wait for one to finish"
            )));
        }
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

/// Jobs a stopped server (or a killed `sijill import`) left queued or
/// running end as failed, with their `import.finish` entries: what they
/// committed stays, and running the same file again finishes their work.
/// Their uploads are removed.
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

/// Write the body to `upload` as it arrives, hashing it; refuse it past
/// `max_bytes`. (Dropping the guard removes what was written.)
async fn save_upload(
    mut body: web::Payload,
    upload: &Upload,
    max_bytes: u64,
) -> Result<(String, u64), AppError> {
    let file = std::fs::File::create(upload.path()).map_err(AppError::internal)?;
    let mut file = std::io::BufWriter::new(file);
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
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

/// Import a list into the caller's organisation. The file is the raw body
/// (up to `SIJILL_IMPORT_MAX_BYTES`); the job runs in the background.
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(ImportQuery, ("Sijill-Filename" = Option<String>, Header, description = "The file's name, percent-encoded UTF-8")),
    // Any bytes are a body to read (`serde_json::Value` is the schema `{}`):
    // what the file holds is the report's to say, row by row, not a schema's.
    request_body(content = serde_json::Value, content_type = "text/csv", description = "The list, as bytes: CSV (UTF-8, a header row), JSON Lines (an object a line) or an XLSX workbook (its first sheet)"),
    responses(
        (status = 202, description = "Queued", body = ImportJob, headers(("Location" = String))),
        (status = 400, description = "Bad query, or no format given", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 409, description = "The organisation has 4 imports queued or running already", body = Problem),
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
        Some(id) => Some(
            state
                .db
                .read(move |conn| mapping::load(conn, organization, id))
                .await?
                .ok_or_else(|| {
                    AppError::validation("mapping names no mapping of your organisation")
                })?,
        ),
    };
    let id = Uuid::now_v7();
    let upload = imports.upload(id);
    let (file_sha256, file_bytes) = save_upload(body, &upload, imports.max_bytes).await?;
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
            runner: job::Runner::this_process(job::RunnerKind::Server),
        },
        mapping,
        path: upload.path().to_owned(),
        actor: caller.actor(),
        origin,
    };
    let db = state.db.clone();
    let (queued, request) = web::block(move || {
        let queued = queue(&db, &request);
        (queued, request)
    })
    .await?;
    let queued = queued?;
    spawn(imports, state.db.clone(), request, upload);
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

/// Save a mapping for the caller's organisation (audited as `import.mapping_create`).
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    request_body = MappingDefinition,
    responses(
        (status = 201, description = "Saved", body = SavedMapping, headers(("Location" = String))),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 422, description = "A target that is no field, or a constant no rule reads", body = Problem),
    )
)]
#[post("/import-mappings")]
pub async fn create_mapping(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ImportDetainees>,
    body: web::Json<MappingDefinition>,
) -> Result<HttpResponse, AppError> {
    let mut definition = body.into_inner();
    definition.name = definition.name.trim().to_owned();
    check_constants(&Mapping::from_definition(&definition)?)?;
    let caller = auth.caller;
    let saved = SavedMapping {
        id: Uuid::now_v7(),
        organization_id: caller.user.organization_id,
        definition,
        created_by: caller.user.id,
        created_at: db::to_utc(db::now()),
    };
    let actor = caller.actor();
    let row = saved.clone();
    state
        .db
        .write(move |tx| {
            mapping::insert(tx, &row)?;
            audit::append(
                tx,
                &actor,
                AuditAction::ImportMappingCreate,
                Some(row.id.to_string()),
                Changes::new()
                    .created("name", row.definition.name.clone())
                    .created("organization_id", row.organization_id.to_string())
                    .created(
                        "definition",
                        serde_json::to_value(&row.definition).map_err(AppError::internal)?,
                    ),
                &origin,
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/import-mappings/{}", saved.id),
        ))
        .json(saved))
}

/// One of the organisation's mappings.
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The mapping", body = SavedMapping),
        (status = 400, description = "Malformed id", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 404, description = "No such mapping in your organisation", body = Problem),
    )
)]
#[get("/import-mappings/{id}")]
pub async fn get_mapping(
    state: web::Data<AppState>,
    auth: Authorized<can::ImportDetainees>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let (id, organization) = (id.into_inner(), auth.caller.user.organization_id);
    let mapping = state
        .db
        .read(move |conn| mapping::find(conn, organization, id))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok().json(mapping))
}
