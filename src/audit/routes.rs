//! `/audit`: auditors read the log, verify the chain and fetch signed checkpoints.

use actix_web::get;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::checkpoint::SignedHead;
use super::export as audit_export;
use super::model::AuditEntry;
use super::origin::Origin;
use super::store::{self, AuditFilter};
use crate::auth::{can, Authorized};
use crate::error::{AppError, Code, Problem};
use crate::http::{Cursor, Page};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// e.g. `user`, `auth`, `organization`.
    pub entity_type: Option<String>,
    pub entity_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    /// e.g. `user.update`.
    pub action: Option<String>,
    /// Entries at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Entries before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Entries with a greater `seq`.
    pub after_seq: Option<i64>,
    /// Entries with a smaller `seq`.
    pub before_seq: Option<i64>,
    /// `asc` (the default: oldest first) or `desc` (newest first; the
    /// cursor then leads to older entries).
    pub order: Option<SeqOrder>,
    /// 1–200, default 50.
    #[param(value_type = Option<crate::http::pagination::PageLimit>)]
    pub limit: Option<i64>,
    #[param(value_type = Option<crate::http::pagination::SeqCursor>)]
    pub cursor: Option<String>,
}

/// Which way a page of the log runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SeqOrder {
    Asc,
    Desc,
}

/// The audit log, in ascending `seq` (or descending, `order=desc`).
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of entries", body = inline(Page<AuditEntry>)),
        (status = 400, description = "Bad query", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not an auditor", body = Problem),
    )
)]
#[get("/audit")]
pub async fn list(
    state: web::Data<AppState>,
    _auth: Authorized<can::ReadAudit>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let cursor = Cursor::<i64>::parse(query.limit, query.cursor.as_deref())?;
    let newest_first = query.order == Some(SeqOrder::Desc);
    // Ascending, the cursor is the last seq shown and the page starts
    // after it; descending, the page starts below it.
    let (after, before) = if newest_first {
        let before = match (cursor.after, query.before_seq) {
            (Some(c), Some(b)) => Some(c.min(b)),
            (c, b) => c.or(b),
        };
        (query.after_seq.unwrap_or(0), before)
    } else {
        let after = cursor.after.unwrap_or(0).max(query.after_seq.unwrap_or(0));
        (after, query.before_seq)
    };
    let filter = AuditFilter {
        entity_type: query.entity_type,
        entity_id: query.entity_id.map(|id| id.to_string()),
        entity_ids: None,
        actor_id: query.actor_id.map(|id| id.to_string()),
        action: query.action,
        since: query.since,
        until: query.until,
    };
    let page = state
        .db
        .read(move |conn| {
            let rows =
                store::list_between(conn, &filter, after, before, newest_first, cursor.fetch())?;
            Ok(cursor.page(rows, |e| e.seq))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// A checkpoint kept earlier (from `/audit/head`), as `SEQ:HASH`.
    #[param(pattern = "^[0-9]{1,18}:[0-9a-fA-F]{64}$")]
    pub checkpoint: Option<String>,
}

/// `SEQ:HASH` exactly as `VerifyQuery`'s pattern says; the hash lower-cased.
fn parse_checkpoint(raw: &str) -> Option<(i64, String)> {
    let (seq, hash) = raw.split_once(':')?;
    let seq_ok = (1..=18).contains(&seq.len()) && seq.bytes().all(|b| b.is_ascii_digit());
    let hash_ok = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    (seq_ok && hash_ok).then(|| Some((seq.parse().ok()?, hash.to_ascii_lowercase())))?
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "ok": true, "checked": 1234, "head_seq": 1234, "head_hash": "9a0c…",
    "first_bad_seq": null, "checkpoint_held": null
}))]
pub struct VerifyReport {
    /// The chain recomputes, and holds the checkpoint if one was given.
    pub ok: bool,
    /// Entries that verified before the first bad one (all of them when `ok`).
    pub checked: i64,
    pub head_seq: i64,
    pub head_hash: String,
    /// The first entry that does not follow from the one before it.
    pub first_bad_seq: Option<i64>,
    /// With `?checkpoint=`: whether the log still holds that checkpoint.
    pub checkpoint_held: Option<bool>,
}

/// Recompute the whole chain.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(VerifyQuery),
    responses(
        (status = 200, description = "The verification report (ok may be false)", body = VerifyReport),
        (status = 400, description = "Bad query (a checkpoint is SEQ:HASH)", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not an auditor", body = Problem),
    )
)]
#[get("/audit/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    _auth: Authorized<can::ReadAudit>,
    query: web::Query<VerifyQuery>,
) -> Result<HttpResponse, AppError> {
    let checkpoint = match query.checkpoint.as_deref() {
        None => None,
        Some(raw) => Some(parse_checkpoint(raw).ok_or_else(|| {
            AppError::bad_request(
                Code::InvalidQuery,
                "a checkpoint is SEQ:HASH (a sequence number, a colon, 64 hex digits)",
            )
        })?),
    };
    let report = state
        .db
        .read(move |conn| store::verify(conn, checkpoint.as_ref().map(|(s, h)| (*s, h.as_str()))))
        .await?;
    Ok(HttpResponse::Ok().json(VerifyReport {
        ok: report.ok(),
        checked: report.checked,
        head_seq: report.head_seq,
        head_hash: report.head_hash,
        first_bad_seq: report.first_bad_seq,
        checkpoint_held: report.checkpoint_held,
    }))
}

/// The current head of the chain, signed with the audit checkpoint key.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A signed checkpoint", body = SignedHead),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not an auditor", body = Problem),
    )
)]
#[get("/audit/head")]
pub async fn head(
    state: web::Data<AppState>,
    _auth: Authorized<can::ReadAudit>,
) -> Result<HttpResponse, AppError> {
    let (seq, hash) = state.db.read(store::head).await?;
    let signed_at = crate::db::format_timestamp(crate::db::now());
    Ok(HttpResponse::Ok().json(state.checkpoints.sign(seq, hash, signed_at)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Entries with a greater `seq` (0, the default: from the first).
    #[param(minimum = 0)]
    pub after_seq: Option<i64>,
}

/// The log as JSON Lines: every entry after `after_seq` up to the head as
/// it is now, then one line `{"checkpoint": {…}}` signing that head (the
/// format of `GET /audit/head`). Verify a copy offline with
/// `scripts/verify_audit_chain.py --file`. Each export is audited
/// (`audit.export`).
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(ExportQuery),
    responses(
        (status = 200, description = "JSON Lines: the entries, then the signed checkpoint", content_type = "application/x-ndjson", body = String),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not an auditor", body = Problem),
        (status = 422, description = "A negative `after_seq`", body = Problem),
    )
)]
#[get("/audit/export")]
pub async fn export(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ReadAudit>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, AppError> {
    let after_seq = query.into_inner().after_seq.unwrap_or(0);
    if after_seq < 0 {
        return Err(AppError::validation("after_seq must be 0 or more"));
    }
    let actor = auth.actor();
    let (range, head_hash) = state
        .db
        .write(move |tx| audit_export::begin(tx, &actor, after_seq, &origin))
        .await?;
    let checkpoint = audit_export::checkpoint_line(&state.checkpoints, range, head_hash)?;
    // Batch by batch, each its own short read; then the checkpoint line.
    let body = crate::http::streaming::batches(
        state.db.clone(),
        range.after_seq,
        move |conn: &mut crate::db::DbConnection, cursor: i64| {
            audit_export::next_batch(conn, range, cursor)
        },
        Vec::new(),
        checkpoint,
    );
    Ok(crate::http::streaming::download(
        "application/x-ndjson",
        &audit_export::file_name(range),
        body,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccessQuery {
    /// The file that was read.
    pub entity_id: Option<Uuid>,
    /// Who read it.
    pub actor_id: Option<Uuid>,
    /// Reads at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Reads before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// 1–200, default 50.
    #[param(value_type = Option<crate::http::pagination::PageLimit>)]
    pub limit: Option<i64>,
    #[param(value_type = Option<crate::http::pagination::IdCursor>)]
    pub cursor: Option<String>,
}

/// The access log: who read which file, when; oldest first.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(AccessQuery),
    responses(
        (status = 200, description = "A page of reads", body = inline(Page<super::access::AccessEntry>)),
        (status = 400, description = "Bad query", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not an auditor", body = Problem),
    )
)]
#[get("/audit/access")]
pub async fn access(
    state: web::Data<AppState>,
    _auth: Authorized<can::ReadAudit>,
    query: web::Query<AccessQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let cursor = Cursor::<Uuid>::parse(query.limit, query.cursor.as_deref())?;
    let filter = super::access::AccessFilter {
        entity_id: query.entity_id,
        actor_id: query.actor_id,
        since: query.since,
        until: query.until,
    };
    // Reads are logged in batches; make sure the auditor sees all of them.
    state.access_log.flush().await?;
    let page = state
        .db
        .read(move |conn| {
            let rows = super::access::list(conn, &filter, cursor.after, cursor.fetch())?;
            Ok(cursor.page(rows, |e| e.id))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}
