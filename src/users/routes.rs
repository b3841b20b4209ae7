//! `/users`: admins manage accounts; admins and auditors read them.

use actix_web::http::header;
use actix_web::{get, patch, post};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{NewUser, PasswordReset, Role, User, UserPatch};
use super::store::{self, NewUserRecord, UserFilter};
use crate::audit::Origin;
use crate::audit::{self, AuditAction, Changes};
use crate::auth::store as sessions;
use crate::auth::{can, Authorized};
use crate::domain::{parse_text, Username};
use crate::error::{AppError, Problem};
use crate::http::etag::ok_with_etag;
use crate::http::{Cursor, IfMatch, Page};
use crate::organizations::store as organizations;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    pub organization_id: Option<Uuid>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// 1–200, default 50.
    #[param(value_type = Option<crate::http::pagination::PageLimit>)]
    pub limit: Option<i64>,
    #[param(value_type = Option<crate::http::pagination::IdCursor>)]
    pub cursor: Option<String>,
}

/// Create an account.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = NewUser,
    responses(
        (status = 201, description = "Created", body = User, headers(("Location" = String), ("ETag" = String))),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 409, description = "The username is taken", body = Problem),
        (status = 422, description = "Invalid value, weak password, unknown organisation, or a role that does not fit the organisation", body = Problem),
    )
)]
#[post("/users")]
pub async fn create(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ManageUsers>,
    body: web::Json<NewUser>,
) -> Result<HttpResponse, AppError> {
    let NewUser {
        username,
        password,
        display_name,
        role,
        organization_id,
    } = body.into_inner();
    let username = Username::parse(&username)?;
    let display_name = parse_text("display_name", &display_name, 200)?;
    let org = state
        .db
        .read(move |conn| organizations::find(conn, organization_id))
        .await?
        .ok_or_else(|| AppError::validation("organization_id names no organisation"))?;
    if !role.fits(org.kind) {
        return Err(AppError::validation(format!(
            "the role {role} cannot belong to a {} organisation",
            org.kind
        )));
    }
    let hash = state
        .hasher
        .hash_new(
            password,
            vec![username.as_str().to_owned(), display_name.clone()],
        )
        .await?;
    let actor = auth.actor();
    let user = state
        .db
        .write(move |conn| {
            store::create(
                conn,
                &actor,
                NewUserRecord {
                    username: username.as_str(),
                    display_name: &display_name,
                    role,
                    organization_id,
                    password_hash: &hash,
                },
                &origin,
            )
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/users/{}", user.id)))
        .insert_header((header::ETAG, crate::http::etag::etag(user.version)))
        .json(user))
}

/// List accounts.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(UserQuery),
    responses(
        (status = 200, description = "A page of accounts", body = inline(Page<User>)),
        (status = 400, description = "Bad query", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not an admin or auditor", body = Problem),
    )
)]
#[get("/users")]
pub async fn list(
    state: web::Data<AppState>,
    _auth: Authorized<can::ReadUsers>,
    query: web::Query<UserQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let cursor = Cursor::<Uuid>::parse(query.limit, query.cursor.as_deref())?;
    let filter = UserFilter {
        organization_id: query.organization_id,
        role: query.role,
        active: query.active,
    };
    let page = state
        .db
        .read(move |conn| {
            let rows = store::list(conn, &filter, cursor.after, cursor.fetch())?;
            Ok(cursor.page(rows, |u| u.id))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One account.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The account", body = User, headers(("ETag" = String))),
        (status = 400, description = "Malformed id", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not an admin or auditor", body = Problem),
        (status = 404, description = "No such account", body = Problem),
    )
)]
#[get("/users/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _auth: Authorized<can::ReadUsers>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let user = state.db.read(move |conn| store::find(conn, id)).await?;
    Ok(ok_with_etag(&user.ok_or(AppError::NotFound)?))
}

/// Change an account's display name, role or active flag. Needs `If-Match`.
/// Deactivating an account ends its sessions at once.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")),
    request_body = UserPatch,
    responses(
        (status = 200, description = "The updated account", body = User, headers(("ETag" = String))),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such account", body = Problem),
        (status = 409, description = "An admin cannot demote or deactivate themselves", body = Problem),
        (status = 412, description = "Stale If-Match", body = Problem),
        (status = 422, description = "Invalid value, or a role that does not fit the organisation", body = Problem),
        (status = 428, description = "If-Match missing", body = Problem),
    )
)]
#[patch("/users/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ManageUsers>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: web::Json<UserPatch>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let patch = body.into_inner();
    let display_name = patch
        .display_name
        .as_deref()
        .map(|v| parse_text("display_name", v, 200))
        .transpose()?;
    let actor = auth.actor();
    let caller_id = auth.caller.user.id;
    let user = state
        .db
        .write(move |conn| {
            crate::db::lock_row(conn, "users", &id.to_string())?;
            let current = store::find(conn, id)?.ok_or(AppError::NotFound)?;
            if_match.check(current.version)?;
            let mut next = current.clone();
            if let Some(name) = display_name {
                next.display_name = name;
            }
            if let Some(role) = patch.role {
                let org = organizations::find(conn, current.organization_id)?
                    .ok_or_else(|| AppError::internal_msg("account without organisation"))?;
                if !role.fits(org.kind) {
                    return Err(AppError::validation(format!(
                        "the role {role} cannot belong to a {} organisation",
                        org.kind
                    )));
                }
                next.role = role;
            }
            if let Some(active) = patch.active {
                next.active = active;
            }
            if id == caller_id && (next.role != current.role || !next.active) {
                return Err(AppError::conflict(
                    "you cannot change your own role or deactivate yourself; ask another admin",
                ));
            }
            let changes = Changes::new()
                .changed(
                    "display_name",
                    current.display_name.clone(),
                    next.display_name.clone(),
                )
                .changed("role", current.role.as_str(), next.role.as_str())
                .changed("active", current.active, next.active);
            if changes.is_empty() {
                return Ok(current);
            }
            next.version = current.version + 1;
            next.updated_at = crate::db::to_utc(crate::db::now());
            if !store::update(conn, &next, current.version)? {
                return Err(AppError::PreconditionFailed);
            }
            let mut changes = changes.changed("version", current.version, next.version);
            if current.active && !next.active {
                let ended = sessions::revoke_user_sessions(conn, id, "deactivated")?;
                changes = changes.changed("sessions_ended", 0, ended as i64);
            }
            audit::append(
                conn,
                &actor,
                AuditAction::UserUpdate,
                Some(id.to_string()),
                changes,
                &origin,
            )?;
            Ok(next)
        })
        .await?;
    Ok(ok_with_etag(&user))
}

/// Set a new password for an account; ends all its sessions.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = PasswordReset,
    responses(
        (status = 204, description = "Password set; the account's sessions are ended"),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such account", body = Problem),
        (status = 422, description = "Weak password", body = Problem),
    )
)]
#[post("/users/{id}/password")]
pub async fn reset_password(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ManageUsers>,
    id: web::Path<Uuid>,
    body: web::Json<PasswordReset>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let user = state
        .db
        .read(move |conn| store::find(conn, id))
        .await?
        .ok_or(AppError::NotFound)?;
    let hash = state
        .hasher
        .hash_new(
            body.into_inner().password,
            vec![user.username.clone(), user.display_name.clone()],
        )
        .await?;
    let actor = auth.actor();
    state
        .db
        .write(move |conn| {
            store::set_password_hash(conn, id, &hash)?;
            let ended = sessions::revoke_user_sessions(conn, id, "password_reset")?;
            audit::append(
                conn,
                &actor,
                AuditAction::UserPasswordReset,
                Some(id.to_string()),
                Changes::new().changed("sessions_ended", 0, ended as i64),
                &origin,
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
