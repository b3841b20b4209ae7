//! `/facilities`: caseworkers of any organisation write; every role reads.

use actix_web::http::header;
use actix_web::{get, patch, post};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{Facility, FacilityKind, FacilityPatch, FacilityStatus, NewFacility};
use super::store::{self, FacilityFilter};
use crate::audit::Origin;
use crate::audit::{self, AuditAction, Changes};
use crate::auth::{can, Authorized};
use crate::error::{AppError, Problem};
use crate::http::etag::{etag, ok_with_etag};
use crate::http::{Cursor, IfMatch, Page};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FacilityQuery {
    pub kind: Option<FacilityKind>,
    pub status: Option<FacilityStatus>,
    /// Exact match, e.g. `Rif Dimashq`.
    pub governorate: Option<String>,
    /// 1–200, default 50.
    #[param(value_type = Option<crate::http::pagination::PageLimit>)]
    pub limit: Option<i64>,
    #[param(value_type = Option<crate::http::pagination::IdCursor>)]
    pub cursor: Option<String>,
}

/// Register a facility.
#[utoipa::path(
    tag = "facilities",
    security(("bearer" = [])),
    request_body = NewFacility,
    responses(
        (status = 201, description = "Created", body = Facility, headers(("Location" = String), ("ETag" = String))),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 415, description = "Not JSON", body = Problem),
        (status = 422, description = "Invalid value", body = Problem),
    )
)]
#[post("/facilities")]
pub async fn create(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::WriteFacilities>,
    body: web::Json<NewFacility>,
) -> Result<HttpResponse, AppError> {
    let fields = body.into_inner().into_fields()?;
    let actor = auth.actor();
    let facility = state
        .db
        .write(move |conn| store::create(conn, &actor, fields, &origin))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/facilities/{}", facility.id),
        ))
        .insert_header((header::ETAG, etag(facility.version)))
        .json(facility))
}

/// List facilities.
#[utoipa::path(
    tag = "facilities",
    security(("bearer" = [])),
    params(FacilityQuery),
    responses(
        (status = 200, description = "A page of facilities", body = inline(Page<Facility>)),
        (status = 400, description = "Bad query", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
    )
)]
#[get("/facilities")]
pub async fn list(
    state: web::Data<AppState>,
    _auth: Authorized<can::ReadFacilities>,
    query: web::Query<FacilityQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let cursor = Cursor::<Uuid>::parse(query.limit, query.cursor.as_deref())?;
    let filter = FacilityFilter {
        kind: query.kind,
        status: query.status,
        governorate: query.governorate,
    };
    let page = state
        .db
        .read(move |conn| {
            let rows = store::list(conn, &filter, cursor.after, cursor.fetch())?;
            Ok(cursor.page(rows, |f| f.id))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One facility.
#[utoipa::path(
    tag = "facilities",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The facility", body = Facility, headers(("ETag" = String))),
        (status = 400, description = "Malformed id", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 404, description = "No such facility", body = Problem),
    )
)]
#[get("/facilities/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _auth: Authorized<can::ReadFacilities>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let facility = state.db.read(move |conn| store::find(conn, id)).await?;
    Ok(ok_with_etag(&facility.ok_or(AppError::NotFound)?))
}

/// Change a facility. Needs `If-Match`; `null` clears an optional field.
#[utoipa::path(
    tag = "facilities",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")),
    request_body = FacilityPatch,
    responses(
        (status = 200, description = "The updated facility", body = Facility, headers(("ETag" = String))),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 404, description = "No such facility", body = Problem),
        (status = 412, description = "Stale If-Match", body = Problem),
        (status = 422, description = "Invalid value", body = Problem),
        (status = 428, description = "If-Match missing", body = Problem),
    )
)]
#[patch("/facilities/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::WriteFacilities>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: web::Json<FacilityPatch>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let patch = body.into_inner();
    let actor = auth.actor();
    let facility = state
        .db
        .write(move |conn| {
            crate::db::lock_row(conn, "facilities", &id.to_string())?;
            let current = store::find(conn, id)?.ok_or(AppError::NotFound)?;
            if_match.check(current.version)?;
            let fields = patch.apply(&current.fields)?;
            let changes = Changes::diff(&current.fields, &fields, &[]);
            if changes.is_empty() {
                return Ok(current);
            }
            let next = Facility {
                fields,
                version: current.version + 1,
                updated_at: crate::db::to_utc(crate::db::now()),
                ..current.clone()
            };
            store::update(conn, &next)?;
            audit::append(
                conn,
                &actor,
                AuditAction::FacilityUpdate,
                Some(id.to_string()),
                changes.changed("version", current.version, next.version),
                &origin,
            )?;
            Ok(next)
        })
        .await?;
    Ok(ok_with_etag(&facility))
}
