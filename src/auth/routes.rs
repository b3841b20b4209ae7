//! `/auth`: log in, refresh, log out, who am I.

use actix_web::{get, post};
use actix_web::{web, HttpResponse};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::login::{self as attempt, Passed, Verdict};
use super::store;
use super::throttle;
use crate::audit::Origin;
use crate::audit::{self, Actor, AuditAction, Changes};
use crate::auth::{can, Authorized};
use crate::error::{AppError, Problem};
use crate::state::AppState;
use crate::users::User;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "admin", "password": "long unusual passphrase 7"}))]
pub struct LoginRequest {
    pub username: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(value_type = String)]
    pub refresh_token: SecretString,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6Ii4uLiJ9…",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_token": "sjr_…"
}))]
pub struct TokenPair {
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub refresh_token: String,
}

pub fn token_pair(
    state: &AppState,
    user: &User,
    session_id: uuid::Uuid,
    refresh_token: String,
) -> Result<TokenPair, AppError> {
    Ok(TokenPair {
        access_token: state.tokens.issue(user.id, session_id)?,
        token_type: "Bearer",
        expires_in: state.tokens.ttl().as_secs(),
        refresh_token,
    })
}

/// Length bounds that keep nonsense out of the throttle table and the audit log.
fn login_name(raw: &str) -> String {
    // As `Username::parse` folds case: ASCII only.
    raw.trim().to_ascii_lowercase().chars().take(128).collect()
}

/// Log in with a username and password.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "A token pair", body = TokenPair),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Unknown user, wrong password or inactive account (one answer for all, `unauthorized`); or the password was right and the account has a second factor (`mfa_required`, with an `mfa_token` for `POST /auth/login/mfa`)", body = Problem),
        (status = 415, description = "Not JSON", body = Problem),
        (status = 429, description = "Too many failures; see Retry-After", body = Problem),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    origin: Origin,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, AppError> {
    let LoginRequest { username, password } = body.into_inner();
    let username = login_name(&username);
    let who = throttle::Attempter {
        login_key: state.fingerprints.login_key(&username),
        client_ip: origin
            .client_ip
            .clone()
            .unwrap_or_else(|| "unknown".to_owned()),
    };
    let policy = state.throttle;
    // Already locked: answered from a read, without writing anything.
    let locked = {
        let who = who.clone();
        state
            .db
            .read(move |conn| throttle::retry_after(conn, &policy, &who))
            .await?
    };
    if let Some(retry_after_secs) = locked {
        return Err(AppError::RateLimited { retry_after_secs });
    }
    // From its admission on, an attempt runs to its end on a task of its
    // own, even if the client goes away: it is recorded (and audited) as a
    // success or a failure, never left pending with nobody to settle it.
    let state = state.into_inner();
    actix_web::rt::spawn(
        async move { attempt_login(&state, origin, username, who, password).await },
    )
    .await
    .map_err(|e| AppError::internal_msg(format!("the login task ended: {e}")))?
}

/// Admitted, checked, settled: `auth::login` holds the order.
async fn attempt_login(
    state: &AppState,
    origin: Origin,
    username: String,
    who: throttle::Attempter,
    password: SecretString,
) -> Result<HttpResponse, AppError> {
    let admitted = attempt::admit(state, &username, &who)
        .await?
        .map_err(|retry_after_secs| AppError::RateLimited { retry_after_secs })?;
    match attempt::check(state, admitted, password).await? {
        (attempt, Verdict::LoggedIn { user, rehashed }) => {
            match attempt::succeed(state, origin, attempt, who, user.clone(), rehashed).await? {
                Passed::Session {
                    session_id,
                    refresh_token,
                } => Ok(HttpResponse::Ok().json(token_pair(
                    state,
                    &user,
                    session_id,
                    refresh_token,
                )?)),
                Passed::NeedsCode { mfa_token } => Err(AppError::MfaRequired {
                    mfa_token,
                    expires_in: state.mfa.token_ttl.as_secs(),
                }),
            }
        }
        (attempt, Verdict::Refused { user, reason }) => {
            attempt::fail(state, origin, attempt, who, &username, user, reason).await?;
            Err(AppError::BadCredentials)
        }
    }
}

/// Trade a refresh token for a new pair. Each refresh token works once;
/// presenting a used one ends the whole session.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = TokenPair),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Unknown, expired or reused refresh token", body = Problem),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    origin: Origin,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    use secrecy::ExposeSecret;
    let token = body.into_inner().refresh_token.expose_secret().to_owned();
    enum Outcome {
        Rotated(Box<User>, uuid::Uuid, String),
        Refused,
    }
    let outcome = state
        .db
        .write(move |conn| {
            let Some(found) = store::find_refresh_token(conn, &token)? else {
                return Ok(Outcome::Refused);
            };
            let actor = Actor::from(&found.user);
            let user_id = Some(found.user.id.to_string());
            let reused = found.already_used
                || (found.session_live && !store::consume_refresh_token(conn, &token)?);
            if reused {
                // A used token came back: it was copied. End the session it belongs to.
                let ended = store::revoke_session(conn, found.session_id, "refresh_reuse")?;
                audit::append(
                    conn,
                    &actor,
                    AuditAction::AuthRefreshReuse,
                    user_id,
                    Changes::new()
                        .created("session_id", found.session_id.to_string())
                        .changed("session_revoked", false, ended),
                    &origin,
                )?;
                return Ok(Outcome::Refused);
            }
            if !found.session_live || found.token_expired {
                return Ok(Outcome::Refused);
            }
            let refresh =
                store::issue_refresh_token(conn, found.session_id, found.session_expires_at)?;
            audit::append(
                conn,
                &actor,
                AuditAction::AuthRefresh,
                user_id,
                Changes::new().created("session_id", found.session_id.to_string()),
                &origin,
            )?;
            Ok(Outcome::Rotated(
                Box::new(found.user),
                found.session_id,
                refresh,
            ))
        })
        .await?;
    match outcome {
        Outcome::Rotated(user, session_id, refresh) => {
            Ok(HttpResponse::Ok().json(token_pair(&state, &user, session_id, refresh)?))
        }
        Outcome::Refused => Err(AppError::Unauthorized),
    }
}

/// End the caller's session (this one only).
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "Not logged in", body = Problem),
    )
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::UseOwnSession>,
) -> Result<HttpResponse, AppError> {
    let caller = auth.caller;
    state
        .db
        .write(move |conn| {
            store::revoke_session(conn, caller.session_id, "logout")?;
            audit::append(
                conn,
                &caller.actor(),
                AuditAction::AuthLogout,
                Some(caller.user.id.to_string()),
                Changes::new().created("session_id", caller.session_id.to_string()),
                &origin,
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's own account.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's account", body = User),
        (status = 401, description = "Not logged in", body = Problem),
    )
)]
#[get("/auth/me")]
pub async fn me(auth: Authorized<can::UseOwnSession>) -> HttpResponse {
    HttpResponse::Ok().json(&auth.caller.user)
}
