//! `/detainees`: caseworkers of the owning organisation write; who reads is
//! decided by `scope`. Every file shown is written to the access log.

use actix_web::http::header;
use actix_web::{delete, get, patch, post};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::custody::{self, CustodyEvent, NewCustodyEvent};
use super::model::{
    Category, Detainee, DetaineePatch, DetaineeStatus, DetaineeView, NewDetainee, ReviewStatus,
};
use super::scope::{sees_source_notes, FileScope};
use super::store::{self, DetaineeFilter};
use crate::audit::access::AccessAction;
use crate::audit::store::AuditFilter;
use crate::audit::Origin;
use crate::audit::{self, Actor, AuditAction, AuditEntry, Changes};
use crate::auth::{can, Authorized, Caller};
use crate::db::{self, WriteTx};
use crate::error::{AppError, Problem};
use crate::facilities::store as facilities;
use crate::http::etag::{etag, ok_with_etag};
use crate::http::{Cursor, IfMatch, Page};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DetaineeQuery {
    pub status: Option<DetaineeStatus>,
    pub category: Option<Category>,
    pub review_status: Option<ReviewStatus>,
    pub facility_id: Option<Uuid>,
    /// The file with exactly this external reference (imports).
    pub external_ref: Option<String>,
    /// Include archived (and merged) files; default false.
    pub include_archived: Option<bool>,
    /// 1–200, default 50.
    #[param(value_type = Option<crate::http::pagination::PageLimit>)]
    pub limit: Option<i64>,
    #[param(value_type = Option<crate::http::pagination::IdCursor>)]
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1–200, default 50.
    #[param(value_type = Option<crate::http::pagination::PageLimit>)]
    pub limit: Option<i64>,
    #[param(value_type = Option<crate::http::pagination::IdCursor>)]
    pub cursor: Option<String>,
}

/// A page of a file's history, which is in audit order.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// 1–200, default 50.
    #[param(value_type = Option<crate::http::pagination::PageLimit>)]
    pub limit: Option<i64>,
    #[param(value_type = Option<crate::http::pagination::SeqCursor>)]
    pub cursor: Option<String>,
}

fn view_for(caller: &Caller, file: Detainee) -> DetaineeView {
    let visible = sees_source_notes(caller, &file);
    file.view(visible)
}

/// Archive (`Some(time)`) or restore (`None`) a locked file, with its audit entry.
fn set_archived(
    conn: &mut WriteTx<'_>,
    current: &Detainee,
    archived_at: Option<chrono::DateTime<chrono::Utc>>,
    user_id: Uuid,
    actor: &Actor,
    origin: &Origin,
) -> Result<Detainee, AppError> {
    let mut next = Detainee {
        archived_at,
        updated_at: db::to_utc(db::now()),
        updated_by: user_id,
        ..current.clone()
    };
    store::save(conn, &mut next)?;
    let stamp =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| db::format_timestamp(t.naive_utc()));
    let changes = Changes::new()
        .changed(
            "archived_at",
            stamp(current.archived_at),
            stamp(archived_at),
        )
        .changed("version", current.version, next.version);
    let action = if archived_at.is_some() {
        AuditAction::DetaineeArchive
    } else {
        AuditAction::DetaineeRestore
    };
    audit::append(
        conn,
        actor,
        action,
        Some(current.id.to_string()),
        changes,
        origin,
    )?;
    Ok(next)
}

/// Open a new file. The owning organisation is the caller's.
#[utoipa::path(
    tag = "detainees",
    security(("bearer" = [])),
    request_body = NewDetainee,
    responses(
        (status = 201, description = "Created", body = DetaineeView, headers(("Location" = String), ("ETag" = String))),
        (status = 400, description = "Malformed body, or a server-owned field (organization_id, reference, review_status, version) sent", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 409, description = "`released` without a cleared review (review_required)", body = Problem),
        (status = 415, description = "Not JSON", body = Problem),
        (status = 422, description = "Invalid value, or an unknown facility", body = Problem),
    )
)]
#[post("/detainees")]
pub async fn create(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::WriteDetainees>,
    body: web::Json<NewDetainee>,
) -> Result<HttpResponse, AppError> {
    let (fields, source_notes) = body.into_inner().into_parts()?;
    fields.release_gate(None, ReviewStatus::NotReviewed)?;
    let caller = auth.caller;
    let actor = caller.actor();
    let author = store::Author {
        organization_id: caller.user.organization_id,
        user_id: caller.user.id,
    };
    let fingerprints = state.fingerprints.clone();
    let file = state
        .db
        .write(move |conn| {
            facilities::require_registered(conn, fields.facility_id)?;
            store::create(
                conn,
                &actor,
                author,
                fields,
                source_notes,
                &fingerprints,
                &origin,
            )
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/detainees/{}", file.id)))
        .insert_header((header::ETAG, etag(file.version)))
        .json(view_for(&caller, file)))
}

/// List the files the caller may see. `source_notes` is never in lists.
#[utoipa::path(
    tag = "detainees",
    security(("bearer" = [])),
    params(DetaineeQuery),
    responses(
        (status = 200, description = "A page of files", body = inline(Page<DetaineeView>)),
        (status = 400, description = "Bad query", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "This role has no access to files", body = Problem),
    )
)]
#[get("/detainees")]
pub async fn list(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ReadDetainees>,
    query: web::Query<DetaineeQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let cursor = Cursor::<Uuid>::parse(query.limit, query.cursor.as_deref())?;
    let filter = DetaineeFilter::listed(
        query.status,
        query.category,
        query.review_status,
        query.facility_id,
        query.external_ref,
        query.include_archived,
    );
    let scope = FileScope::of(&auth.caller);
    let page = state
        .db
        .read(move |conn| {
            let rows = store::list(conn, scope, &filter, cursor.after, cursor.fetch())?;
            Ok(cursor.page(rows, |f| f.id))
        })
        .await?;
    let ids: Vec<Uuid> = page.items.iter().map(|f| f.id).collect();
    state.access_log.record(
        &auth.caller.account(),
        AccessAction::DetaineeView,
        &ids,
        &origin,
    );
    Ok(HttpResponse::Ok().json(Page {
        items: page
            .items
            .into_iter()
            .map(|f| f.view(false))
            .collect::<Vec<_>>(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FileQuery {
    /// `false` leaves `source_notes` out even for a caller who may read
    /// them, to be read apart (`GET /detainees/{id}/source-notes`), so that
    /// reading them is logged as such (the auditor's console). Default true.
    pub source_notes: Option<bool>,
}

/// One file (archived files too, with `archived_at` set).
#[utoipa::path(
    tag = "detainees",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), FileQuery),
    responses(
        (status = 200, description = "The file", body = DetaineeView, headers(("ETag" = String))),
        (status = 400, description = "Malformed id", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "This role has no access to files", body = Problem),
        (status = 404, description = "No such file, or not visible to you", body = Problem),
    )
)]
#[get("/detainees/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ReadDetainees>,
    id: web::Path<Uuid>,
    query: web::Query<FileQuery>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let scope = FileScope::of(&auth.caller);
    let file = state
        .db
        .read(move |conn| store::find_in_scope(conn, id, scope))
        .await?
        .ok_or(AppError::NotFound)?;
    state.access_log.record(
        &auth.caller.account(),
        AccessAction::DetaineeView,
        &[id],
        &origin,
    );
    if query.source_notes == Some(false) {
        return Ok(ok_with_etag(&file.view(false)));
    }
    Ok(ok_with_etag(&view_for(&auth.caller, file)))
}

/// A file's source notes alone.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceNotes {
    /// The notes; `null` when the file has none.
    #[schema(value_type = Option<String>)]
    pub source_notes: Option<String>,
}

/// A file's confidential source notes alone, for a caller who may read
/// them (as in the file itself); the read is in the access log as
/// `detainee.source_notes`, apart from the file's views.
#[utoipa::path(
    tag = "detainees",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The file's source notes", body = SourceNotes),
        (status = 400, description = "Malformed id", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "This role has no access to files", body = Problem),
        (status = 404, description = "No such file, or not visible to you", body = Problem),
    )
)]
#[get("/detainees/{id}/source-notes")]
pub async fn read_source_notes(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ReadDetainees>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let scope = FileScope::of(&auth.caller);
    let file = state
        .db
        .read(move |conn| store::find_in_scope(conn, id, scope))
        .await?
        .ok_or(AppError::NotFound)?;
    if !sees_source_notes(&auth.caller, &file) {
        return Err(AppError::NotFound);
    }
    state.access_log.record(
        &auth.caller.account(),
        AccessAction::DetaineeSourceNotes,
        &[id],
        &origin,
    );
    Ok(HttpResponse::Ok().json(SourceNotes {
        source_notes: file.source_notes,
    }))
}

/// Change a file. Needs `If-Match`. A change to `category`,
/// `major_crimes_accusation` or `accusation_summary` after a review decision
/// sends the file back to `not_reviewed`.
#[utoipa::path(
    tag = "detainees",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")),
    request_body = DetaineePatch,
    responses(
        (status = 200, description = "The updated file", body = DetaineeView, headers(("ETag" = String))),
        (status = 400, description = "Malformed body, or a server-owned field sent", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 404, description = "No such file in your organisation", body = Problem),
        (status = 409, description = "Archived (restore first), or `released` without a cleared review (review_required)", body = Problem),
        (status = 412, description = "Stale If-Match", body = Problem),
        (status = 422, description = "Invalid value, or an unknown facility", body = Problem),
        (status = 428, description = "If-Match missing", body = Problem),
    )
)]
#[patch("/detainees/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::WriteDetainees>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: web::Json<DetaineePatch>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let patch = body.into_inner();
    let caller = auth.caller;
    let (actor, scope, user_id) = (caller.actor(), FileScope::of(&caller), caller.user.id);
    let fingerprints = state.fingerprints.clone();
    let file = state
        .db
        .write(move |conn| {
            let current = store::lock(conn, id, scope)?;
            if_match.check(current.version)?;
            store::editable(&current)?;
            let (fields, source_notes) = patch.apply(&current.fields, &current.source_notes)?;
            let revised =
                store::revise(conn, &current, fields, source_notes, user_id, &fingerprints)?;
            let Some((next, entry)) = revised else {
                return Ok(current);
            };
            audit::store::append_all(conn, &actor, vec![entry], &origin)?;
            Ok(next)
        })
        .await?;
    Ok(ok_with_etag(&view_for(&caller, file)))
}

/// Archive a file (nothing is ever deleted). Needs `If-Match`.
#[utoipa::path(
    tag = "detainees",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")),
    responses(
        (status = 204, description = "Archived"),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 404, description = "No such file in your organisation", body = Problem),
        (status = 409, description = "Already archived, or under an undecided review", body = Problem),
        (status = 412, description = "Stale If-Match", body = Problem),
        (status = 428, description = "If-Match missing", body = Problem),
    )
)]
#[delete("/detainees/{id}")]
pub async fn archive(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::WriteDetainees>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let caller = auth.caller;
    let (actor, scope, user_id) = (caller.actor(), FileScope::of(&caller), caller.user.id);
    state
        .db
        .write(move |conn| {
            let current = store::lock(conn, id, scope)?;
            if_match.check(current.version)?;
            if current.archived_at.is_some() {
                return Err(AppError::conflict("the file is already archived"));
            }
            // A file under review stays where its reviewers can see it.
            if crate::reviews::store::undecided_exists(conn, id)? {
                return Err(AppError::conflict(
                    "the file is under an undecided review; withdraw the review first",
                ));
            }
            let now = db::to_utc(db::now());
            set_archived(conn, &current, Some(now), user_id, &actor, &origin)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Bring an archived file back.
#[utoipa::path(
    tag = "detainees",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The restored file", body = DetaineeView, headers(("ETag" = String))),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 404, description = "No such file in your organisation", body = Problem),
        (status = 409, description = "Not archived, or merged into another file", body = Problem),
    )
)]
#[post("/detainees/{id}/restore")]
pub async fn restore(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::WriteDetainees>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let caller = auth.caller;
    let (actor, scope, user_id) = (caller.actor(), FileScope::of(&caller), caller.user.id);
    let file = state
        .db
        .write(move |conn| {
            let current = store::lock(conn, id, scope)?;
            if current.archived_at.is_none() {
                return Err(AppError::conflict("the file is not archived"));
            }
            if current.merged_into.is_some() {
                return Err(AppError::conflict(
                    "the file was merged into another; undo the merge instead",
                ));
            }
            set_archived(conn, &current, None, user_id, &actor, &origin)
        })
        .await?;
    Ok(ok_with_etag(&view_for(&caller, file)))
}

/// Where the person was held.
#[utoipa::path(
    tag = "detainees",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), PageQuery),
    responses(
        (status = 200, description = "A page of custody events, oldest record first", body = inline(Page<CustodyEvent>)),
        (status = 400, description = "Bad id or query", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "This role has no access to files", body = Problem),
        (status = 404, description = "No such file, or not visible to you", body = Problem),
    )
)]
#[get("/detainees/{id}/custody")]
pub async fn list_custody(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ReadDetainees>,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let cursor = Cursor::<Uuid>::parse(query.limit, query.cursor.as_deref())?;
    let scope = FileScope::of(&auth.caller);
    let page = state
        .db
        .read(move |conn| {
            store::find_in_scope(conn, id, scope)?.ok_or(AppError::NotFound)?;
            let rows = custody::list(conn, id, cursor.after, cursor.fetch())?;
            Ok(cursor.page(rows, |e| e.id))
        })
        .await?;
    state.access_log.record(
        &auth.caller.account(),
        AccessAction::DetaineeCustody,
        &[id],
        &origin,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Record a place and time of custody.
#[utoipa::path(
    tag = "detainees",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = NewCustodyEvent,
    responses(
        (status = 201, description = "Recorded", body = CustodyEvent, headers(("Location" = String))),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 404, description = "No such file in your organisation", body = Problem),
        (status = 409, description = "The file is archived", body = Problem),
        (status = 422, description = "`from` after `to`, an invalid date, or an unknown facility", body = Problem),
    )
)]
#[post("/detainees/{id}/custody")]
pub async fn create_custody(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::WriteDetainees>,
    id: web::Path<Uuid>,
    body: web::Json<NewCustodyEvent>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let new = body.into_inner().validated()?;
    let caller = auth.caller;
    let (actor, scope, user_id) = (caller.actor(), FileScope::of(&caller), caller.user.id);
    let event = state
        .db
        .write(move |conn| custody::record(conn, &actor, id, scope, new, user_id, &origin))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/detainees/{id}/custody")))
        .json(event))
}

/// The file's audit entries (and its custody events'), oldest first, with
/// the same `seq` and `hash` as in `/audit`.
#[utoipa::path(
    tag = "detainees",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), HistoryQuery),
    responses(
        (status = 200, description = "A page of audit entries", body = inline(Page<AuditEntry>)),
        (status = 400, description = "Bad id or query", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "This role has no access to files", body = Problem),
        (status = 404, description = "No such file, or not visible to you", body = Problem),
    )
)]
#[get("/detainees/{id}/history")]
pub async fn history(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ReadDetainees>,
    id: web::Path<Uuid>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let cursor = Cursor::<i64>::parse(query.limit, query.cursor.as_deref())?;
    let scope = FileScope::of(&auth.caller);
    let page = state
        .db
        .read(move |conn| {
            store::find_in_scope(conn, id, scope)?.ok_or(AppError::NotFound)?;
            let mut entities = custody::ids_of(conn, id)?;
            entities.extend(crate::reviews::store::ids_for_file(conn, id)?);
            entities.push(id.to_string());
            let filter = AuditFilter {
                entity_ids: Some(entities),
                ..AuditFilter::default()
            };
            let rows =
                audit::store::list(conn, &filter, cursor.after.unwrap_or(0), cursor.fetch())?;
            Ok(cursor.page(rows, |e| e.seq))
        })
        .await?;
    state.access_log.record(
        &auth.caller.account(),
        AccessAction::DetaineeHistory,
        &[id],
        &origin,
    );
    Ok(HttpResponse::Ok().json(page))
}
