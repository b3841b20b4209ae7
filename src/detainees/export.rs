//! `GET /detainees/export?format=csv|jsonl`: every file the caller may
//! see that passes the list filters, streamed a thousand at a time.
//!
//! The files are those the caller's scope holds when the export begins
//! (time-ordered ids up to that moment); the export is audited once, then,
//! as `detainee.export` with its format, filters and count, and each file
//! is written to the access log as it is sent (`detainee.export`).
//! `source_notes` are in it for callers who would see them in the file's
//! own answer (`scope::sees_source_notes`), absent otherwise.
//!
//! CSV: one header row, then a row a file, in the members' JSON forms
//! (dates as written, `2014-03`; enums by name; `aliases` as a JSON array;
//! booleans `true`/`false`; nothing as an empty cell). A cell that a
//! spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a
//! tab, a carriage return or `'` itself) is written with a `'` before it
//! (OWASP's advice against CSV injection); an import of a CSV file strips
//! exactly that one `'` (`undefused`).
//! JSONL: each file as `GET /detainees/{id}` shows it, one a line.

use actix_web::get;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::model::{Category, DetaineeStatus, ReviewStatus};
use super::scope::{sees_source_notes, FileScope};
use super::store::{self, DetaineeFilter};
use crate::audit::access::{AccessAction, AccessLog};
use crate::audit::{self, Actor, AuditAction, Changes, Origin};
use crate::auth::{can, Authorized, Caller};
use crate::db::{DbConnection, WriteTx};
use crate::error::{AppError, Problem};
use crate::http::streaming::Batch;
use crate::state::AppState;

/// Files read a query.
const BATCH: i64 = 1_000;

/// The columns of a CSV export, in order: the members of a file's answer.
/// The columns of a CSV export that the server keeps, not the file's
/// content: an import leaves them out (`imports::rows`), so that an export
/// imports back.
pub const SERVER_OWNED_COLUMNS: [&str; 11] = [
    "id",
    "reference",
    "organization_id",
    "review_status",
    "version",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "archived_at",
    "merged_into",
];

pub const CSV_COLUMNS: [&str; 28] = [
    "id",
    "reference",
    "external_ref",
    "organization_id",
    "full_name",
    "name_ar",
    "aliases",
    "sex",
    "birth_date",
    "place_of_origin",
    "status",
    "category",
    "major_crimes_accusation",
    "accusation_summary",
    "facility_id",
    "detained_on",
    "last_seen_on",
    "released_on",
    "notes",
    "source_notes",
    "review_status",
    "version",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "archived_at",
    "merged_into",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

impl ExportFormat {
    fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Jsonl => "application/x-ndjson",
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (the default) or `jsonl`.
    pub format: Option<ExportFormat>,
    pub status: Option<DetaineeStatus>,
    pub category: Option<Category>,
    pub review_status: Option<ReviewStatus>,
    pub facility_id: Option<Uuid>,
    /// The file with exactly this external reference.
    pub external_ref: Option<String>,
    /// Include archived (and merged) files; default false.
    pub include_archived: Option<bool>,
}

/// A cell as a spreadsheet must not run it. A text that starts with `'`
/// gets one more, so that `undefused` gives back exactly what was written.
pub fn defused(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\'') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// A CSV cell as it was before `defused` (imports of CSV files).
pub fn undefused(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r', '\'']) => rest,
        _ => text,
    }
}

/// A member of a file's JSON answer as a CSV cell.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => defused(text).into_owned(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => defused(&other.to_string()).into_owned(),
    }
}

fn csv_writer(buffer: &mut Vec<u8>) -> csv::Writer<&mut Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(buffer)
}

/// The header row.
pub fn csv_header() -> Result<Vec<u8>, AppError> {
    let mut buffer = Vec::new();
    {
        let mut writer = csv_writer(&mut buffer);
        writer
            .write_record(CSV_COLUMNS)
            .map_err(AppError::internal)?;
        writer.flush().map_err(AppError::internal)?;
    }
    Ok(buffer)
}

/// Who exports, and what: the part of an export every batch needs.
#[derive(Clone)]
pub struct Exporter {
    pub caller: Caller,
    pub scope: FileScope,
    pub filter: DetaineeFilter,
    pub format: ExportFormat,
    /// Files created after the export began are not in it.
    pub through: Uuid,
    pub access_log: AccessLog,
    pub origin: Origin,
}

impl Exporter {
    /// The next batch of files after `cursor` (`None`: from the first),
    /// written out; each file recorded in the access log.
    pub fn next_batch(
        &self,
        conn: &mut DbConnection,
        cursor: Option<Uuid>,
    ) -> Result<Batch<Option<Uuid>>, AppError> {
        let files: Vec<_> = store::list(conn, self.scope, &self.filter, cursor, BATCH)?
            .into_iter()
            .filter(|f| f.id <= self.through)
            .collect();
        let Some(last) = files.last().map(|f| f.id) else {
            return Ok(None);
        };
        let ids: Vec<Uuid> = files.iter().map(|f| f.id).collect();
        let mut views = Vec::with_capacity(files.len());
        for file in files {
            let visible = sees_source_notes(&self.caller, &file);
            views.push(serde_json::to_value(file.view(visible)).map_err(AppError::internal)?);
        }
        let mut buffer = Vec::with_capacity(views.len() * 400);
        match self.format {
            ExportFormat::Jsonl => {
                for view in &views {
                    serde_json::to_writer(&mut buffer, view).map_err(AppError::internal)?;
                    buffer.push(b'\n');
                }
            }
            ExportFormat::Csv => {
                let mut writer = csv_writer(&mut buffer);
                for view in &views {
                    let row = CSV_COLUMNS.iter().map(|c| cell(view.get(*c)));
                    writer.write_record(row).map_err(AppError::internal)?;
                }
                writer.flush().map_err(AppError::internal)?;
            }
        }
        self.access_log.record(
            &self.caller.account(),
            AccessAction::DetaineeExport,
            &ids,
            &self.origin,
        );
        Ok(Some((buffer, Some(last))))
    }
}

/// Audit an export about to begin (`detainee.export`: its format, filters
/// and the count of files they match now); returns the count.
pub fn begin(
    tx: &mut WriteTx<'_>,
    actor: &Actor,
    scope: FileScope,
    filter: &DetaineeFilter,
    format: ExportFormat,
    origin: &Origin,
) -> Result<i64, AppError> {
    let count = store::count(tx, scope, filter)?;
    let changes = Changes::new()
        .created("format", format.as_str())
        .created("status", filter.status.map(|s| s.as_str()))
        .created("category", filter.category.map(|c| c.as_str()))
        .created("review_status", filter.review_status.map(|r| r.as_str()))
        .created("facility_id", filter.facility_id.map(|f| f.to_string()))
        .created("external_ref", filter.external_ref.clone())
        .created("include_archived", filter.include_archived)
        .created("count", count);
    audit::append(
        tx,
        actor,
        AuditAction::DetaineeExport,
        None,
        changes,
        origin,
    )?;
    Ok(count)
}

/// The first bytes of an export: the CSV header row, or nothing.
pub fn preamble(format: ExportFormat) -> Result<Vec<u8>, AppError> {
    match format {
        ExportFormat::Csv => csv_header(),
        ExportFormat::Jsonl => Ok(Vec::new()),
    }
}

/// Export the files the caller may see (the list filters apply). Audited
/// once (`detainee.export`: format, filters, count); every file in the
/// access log.
#[utoipa::path(
    tag = "detainees",
    security(("bearer" = [])),
    params(ExportQuery),
    responses(
        (status = 200, description = "CSV (a header row, then a row a file) or JSON Lines (a file a line), streamed", content_type = "text/csv", body = String),
        (status = 400, description = "Bad query", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "This role has no access to files", body = Problem),
    )
)]
#[get("/detainees/export")]
pub async fn export(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ReadDetainees>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let format = query.format.unwrap_or(ExportFormat::Csv);
    let filter = DetaineeFilter::listed(
        query.status,
        query.category,
        query.review_status,
        query.facility_id,
        query.external_ref,
        query.include_archived,
    );
    let caller = auth.caller;
    let scope = FileScope::of(&caller);
    let through = Uuid::now_v7();
    let (actor, audited_filter, audit_origin) = (caller.actor(), filter.clone(), origin.clone());
    state
        .db
        .write(move |tx| begin(tx, &actor, scope, &audited_filter, format, &audit_origin))
        .await?;
    let exporter = Exporter {
        caller,
        scope,
        filter,
        format,
        through,
        access_log: state.access_log.clone(),
        origin,
    };
    let body = crate::http::streaming::batches(
        state.db.clone(),
        None,
        move |conn: &mut DbConnection, cursor: Option<Uuid>| exporter.next_batch(conn, cursor),
        preamble(format)?,
        Vec::new(),
    );
    Ok(crate::http::streaming::download(
        format.content_type(),
        &format!("sijill-files.{}", format.as_str()),
        body,
    ))
}
