//! `/organizations`: admins create them; admins and auditors read them.

use actix_web::http::header;
use actix_web::{get, post};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{NewOrganization, Organization, OrganizationKind};
use super::store;
use crate::audit::Origin;
use crate::auth::{can, Authorized};
use crate::domain::parse_text;
use crate::error::{AppError, Problem};
use crate::http::{Cursor, Page};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrganizationQuery {
    pub kind: Option<OrganizationKind>,
    /// 1–200, default 50.
    #[param(value_type = Option<crate::http::pagination::PageLimit>)]
    pub limit: Option<i64>,
    #[param(value_type = Option<crate::http::pagination::IdCursor>)]
    pub cursor: Option<String>,
}

/// Create an organisation.
#[utoipa::path(
    tag = "organizations",
    security(("bearer" = [])),
    request_body = NewOrganization,
    responses(
        (status = 201, description = "Created", body = Organization, headers(("Location" = String))),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 409, description = "The name is taken", body = Problem),
        (status = 422, description = "Invalid name", body = Problem),
    )
)]
#[post("/organizations")]
pub async fn create(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ManageOrganizations>,
    body: web::Json<NewOrganization>,
) -> Result<HttpResponse, AppError> {
    let name = parse_text("name", &body.name, 200)?;
    let kind = body.kind;
    let actor = auth.actor();
    let org = state
        .db
        .write(move |conn| store::create(conn, &actor, &name, kind, &origin))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/organizations/{}", org.id),
        ))
        .json(org))
}

/// List organisations.
#[utoipa::path(
    tag = "organizations",
    security(("bearer" = [])),
    params(OrganizationQuery),
    responses(
        (status = 200, description = "A page of organisations", body = inline(Page<Organization>)),
        (status = 400, description = "Bad query", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not an admin or auditor", body = Problem),
    )
)]
#[get("/organizations")]
pub async fn list(
    state: web::Data<AppState>,
    _auth: Authorized<can::ReadOrganizations>,
    query: web::Query<OrganizationQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let cursor = Cursor::<Uuid>::parse(query.limit, query.cursor.as_deref())?;
    let page = state
        .db
        .read(move |conn| {
            let rows = store::list(conn, query.kind, cursor.after, cursor.fetch())?;
            Ok(cursor.page(rows, |o| o.id))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One organisation.
#[utoipa::path(
    tag = "organizations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The organisation", body = Organization),
        (status = 400, description = "Malformed id", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not an admin or auditor", body = Problem),
        (status = 404, description = "No such organisation", body = Problem),
    )
)]
#[get("/organizations/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _auth: Authorized<can::ReadOrganizations>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let org = state.db.read(move |conn| store::find(conn, id)).await?;
    Ok(HttpResponse::Ok().json(org.ok_or(AppError::NotFound)?))
}
