//! `/auth/mfa/totp` (an account's own second factor), `/auth/login/mfa`
//! (the second step of a login) and `/users/{id}/mfa/reset` (an admin
//! removing another account's).

use actix_web::http::header;
use actix_web::{delete, get, post};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::check::{self, CodeCheck, Settled};
use super::codes::{self, Typed};
use super::store;
use super::SecondFactor;
use crate::audit::{self, AuditAction, Changes, Origin};
use crate::auth::routes::{token_pair, TokenPair};
use crate::auth::throttle::{self, Attempter};
use crate::auth::{can, login, Authorized};
use crate::error::{AppError, Code, Problem};
use crate::state::AppState;
use crate::users;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "492039"}))]
pub struct CodeRequest {
    /// The six digits the phone app shows now, or (where a recovery code
    /// is accepted) a recovery code such as `k7mq-2xfd-9trw`.
    #[schema(value_type = String, format = Password)]
    pub code: SecretString,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"mfa_token": "sjm_…", "code": "492039"}))]
pub struct MfaLoginRequest {
    /// From the `mfa_required` answer of `POST /auth/login`.
    #[schema(value_type = String, format = Password)]
    pub mfa_token: SecretString,
    /// A TOTP code, or one of the recovery codes.
    #[schema(value_type = String, format = Password)]
    pub code: SecretString,
}

/// A new secret, shown once: type it into a phone app, or give the app the URI.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "otpauth_uri": "otpauth://totp/sijill:rima.k?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=sijill",
    "algorithm": "SHA1",
    "digits": 6,
    "period": 30
}))]
pub struct TotpEnrolment {
    /// Base32, as phone apps take it typed in.
    pub secret: String,
    /// `otpauth://totp/…`, as phone apps read it from a QR code.
    pub otpauth_uri: String,
    pub algorithm: &'static str,
    pub digits: usize,
    /// Seconds a code lasts.
    pub period: u64,
}

/// Ten single-use recovery codes, shown once.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// Whether the caller has a second factor.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "confirmed", "confirmed_at": "2026-11-30T09:12:44.512093Z", "recovery_codes_left": 9, "required": true, "session_second_factor": "totp"}))]
pub struct MfaStatus {
    /// `none`, `pending` (started, not confirmed) or `confirmed`.
    pub status: &'static str,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub recovery_codes_left: i64,
    /// Whether the caller's role must have one (`SIJILL_MFA_REQUIRED_ROLES`).
    pub required: bool,
    /// How this session's login was proven: `totp`, `recovery_code`, or `null`.
    pub session_second_factor: Option<&'static str>,
}

fn no_store(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

fn client_ip(origin: &Origin) -> String {
    origin
        .client_ip
        .clone()
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The caller's second factor.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's second factor", body = MfaStatus),
        (status = 401, description = "Not logged in", body = Problem),
    )
)]
#[get("/auth/mfa/totp")]
pub async fn status(
    state: web::Data<AppState>,
    auth: Authorized<can::ManageOwnSecondFactor>,
) -> Result<HttpResponse, AppError> {
    let user_id = auth.user.id;
    let (credential, left) = state
        .db
        .read(move |conn| {
            let credential = store::credential(conn, user_id)?;
            let left = match &credential {
                Some(c) if c.confirmed() => store::recovery_codes_left(conn, &c.id)?,
                _ => 0,
            };
            Ok((credential, left))
        })
        .await?;
    let status = match &credential {
        None => "none",
        Some(c) if c.confirmed() => "confirmed",
        Some(_) => "pending",
    };
    Ok(no_store(
        HttpResponse::Ok().json(MfaStatus {
            status,
            confirmed_at: credential
                .and_then(|c| c.confirmed_at)
                .map(crate::db::to_utc),
            recovery_codes_left: left,
            required: state.mfa.requires(auth.user.role),
            session_second_factor: auth.second_factor.map(SecondFactor::as_str),
        }),
    ))
}

/// Start enrolling: a new secret for a phone app. Replaces an enrolment
/// that was started and not confirmed.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The secret, shown this once", body = TotpEnrolment),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 409, description = "A second factor is confirmed already (`mfa_already_enrolled`): disable it first", body = Problem),
    )
)]
#[post("/auth/mfa/totp")]
pub async fn start(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ManageOwnSecondFactor>,
) -> Result<HttpResponse, AppError> {
    let user = auth.caller.user.clone();
    let secret = codes::new_secret();
    let sealed = state.mfa.seal_secret(user.id, &secret)?;
    let actor = auth.actor();
    let user_id = user.id;
    state
        .db
        .write(move |tx| {
            let before = store::lock_credential(tx, user_id)?;
            if before.as_ref().is_some_and(store::Credential::confirmed) {
                return Err(already_enrolled());
            }
            let credential_id = store::start(tx, user_id, &sealed)?;
            // A restart replaces a pending enrolment: from its id to the new.
            let changes = match before {
                None => Changes::new()
                    .created("status", "pending")
                    .created("credential_id", credential_id),
                Some(pending) => Changes::new().changed("credential_id", pending.id, credential_id),
            };
            audit::append(
                tx,
                &actor,
                AuditAction::AuthMfaEnrol,
                Some(user_id.to_string()),
                changes,
                &origin,
            )?;
            Ok(())
        })
        .await?;
    Ok(no_store(HttpResponse::Ok().json(TotpEnrolment {
        secret: codes::base32(&secret),
        otpauth_uri: codes::otpauth_uri(&secret, &state.mfa.issuer, &user.username),
        algorithm: "SHA1",
        digits: codes::DIGITS,
        period: codes::STEP_SECONDS,
    })))
}

fn already_enrolled() -> AppError {
    AppError::Conflict {
        code: Code::MfaAlreadyEnrolled,
        detail: "a second factor is confirmed already: disable it (with a code) before enrolling another"
            .into(),
    }
}

fn not_enrolled(detail: &str) -> AppError {
    AppError::Conflict {
        code: Code::MfaNotEnrolled,
        detail: detail.into(),
    }
}

fn code_mismatch() -> AppError {
    AppError::unprocessable(
        Code::MfaCodeMismatch,
        "the code does not match (or was used already): type the code the app shows now, and \
         check that the phone's clock is right",
    )
}

/// Confirm the enrolment with the first code the phone app shows. Answers
/// ten single-use recovery codes, this once; this session then counts as
/// proven with the second factor.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    request_body = CodeRequest,
    responses(
        (status = 200, description = "Confirmed; the recovery codes, shown this once", body = RecoveryCodes),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 409, description = "Nothing to confirm (`mfa_not_enrolled`), or confirmed already (`mfa_already_enrolled`)", body = Problem),
        (status = 422, description = "The code does not match (`mfa_code_mismatch`)", body = Problem),
    )
)]
#[post("/auth/mfa/totp/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ManageOwnSecondFactor>,
    body: web::Json<CodeRequest>,
) -> Result<HttpResponse, AppError> {
    let (user_id, session_id, actor) = (auth.user.id, auth.session_id, auth.actor());
    let credential = state
        .db
        .read(move |conn| store::credential(conn, user_id))
        .await?
        .ok_or_else(|| not_enrolled("nothing to confirm: start with POST /auth/mfa/totp"))?;
    if credential.confirmed() {
        return Err(already_enrolled());
    }
    let secret = state.mfa.open_secret(user_id, &credential.secret_sealed)?;
    let now = chrono::Utc::now().timestamp();
    let step = match codes::classify(body.code.expose_secret()) {
        Typed::Totp(code) => codes::step_of(&secret, &code, now),
        _ => None,
    }
    .ok_or_else(code_mismatch)?;
    let recovery = codes::new_recovery_codes();
    let (shown, raw): (Vec<String>, Vec<SecretString>) = recovery.into_iter().unzip();
    let hashes = state.hasher.hash_secrets(raw).await?;
    state
        .db
        .write(move |tx| {
            match store::lock_credential(tx, user_id)? {
                Some(now) if now.id == credential.id && !now.confirmed() => {}
                Some(now) if now.confirmed() => return Err(already_enrolled()),
                _ => {
                    return Err(not_enrolled(
                        "this enrolment was replaced or removed: start again",
                    ))
                }
            }
            if !store::confirm(tx, &credential.id, step, &hashes)? {
                return Err(already_enrolled());
            }
            store::set_session_factor(tx, session_id, Some(SecondFactor::Totp))?;
            let ended = store::end_password_only_sessions(tx, user_id, Some(session_id))?;
            audit::append(
                tx,
                &actor,
                AuditAction::AuthMfaEnrol,
                Some(user_id.to_string()),
                Changes::new()
                    .changed("status", "pending", "confirmed")
                    .created("credential_id", credential.id.clone())
                    .created("recovery_codes", hashes.len())
                    .changed("sessions_ended", 0, ended as i64),
                &origin,
            )?;
            Ok(())
        })
        .await?;
    Ok(no_store(HttpResponse::Ok().json(RecoveryCodes {
        recovery_codes: shown,
    })))
}

/// Turn the second factor off, proven with a code (or a recovery code).
/// A wrong code counts toward the login limit. The caller's sessions then
/// count as proven by password alone: where the role needs a second
/// factor, they can do nothing but enrol again.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    request_body = CodeRequest,
    responses(
        (status = 204, description = "Disabled"),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 409, description = "No confirmed second factor (`mfa_not_enrolled`)", body = Problem),
        (status = 422, description = "The code does not match, or was used (`mfa_code_mismatch`)", body = Problem),
        (status = 429, description = "Too many wrong codes or passwords; see Retry-After", body = Problem),
    )
)]
#[delete("/auth/mfa/totp")]
pub async fn disable(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ManageOwnSecondFactor>,
    body: web::Json<CodeRequest>,
) -> Result<HttpResponse, AppError> {
    let user = auth.caller.user.clone();
    let (user_id, actor) = (user.id, auth.actor());
    let who = Attempter {
        login_key: state.fingerprints.login_key(&user.username),
        client_ip: client_ip(&origin),
    };
    let check = CodeCheck {
        user,
        who,
        during: "disable",
    };
    let code = body.into_inner().code;
    let audit_origin = origin.clone();
    let settled = check::throttled(
        &state,
        origin,
        check,
        code,
        move |tx| store::lock_credential(tx, user_id),
        move |tx, _credential, factor| {
            store::remove(tx, user_id)?;
            store::forget_sessions_factor(tx, user_id)?;
            audit::append(
                tx,
                &actor,
                AuditAction::AuthMfaDisable,
                Some(user_id.to_string()),
                Changes::new()
                    .changed("status", "confirmed", None::<String>)
                    .created("proven_with", factor.as_str()),
                &audit_origin,
            )?;
            Ok(())
        },
    )
    .await?;
    match settled {
        Settled::Accepted(()) => Ok(HttpResponse::NoContent().finish()),
        Settled::Refused => Err(code_mismatch()),
        Settled::Gone => Err(not_enrolled(
            "there is no confirmed second factor to disable",
        )),
    }
}

/// Finish a login: the `mfa_token` of its `mfa_required` answer and a code
/// (or a recovery code). A code works once; a wrong one counts toward the
/// login limit as a wrong password does. The token works once, only from
/// the address that logged in, and only while the account is as it was.
#[utoipa::path(
    tag = "auth",
    request_body = MfaLoginRequest,
    responses(
        (status = 200, description = "A token pair", body = TokenPair),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "A wrong or used code (`mfa_code_invalid`: try again with the same token), or an unknown, used or expired token (`mfa_token_invalid`: log in again)", body = Problem),
        (status = 429, description = "Too many failures; see Retry-After", body = Problem),
    )
)]
#[post("/auth/login/mfa")]
pub async fn login_with_code(
    state: web::Data<AppState>,
    origin: Origin,
    body: web::Json<MfaLoginRequest>,
) -> Result<HttpResponse, AppError> {
    let MfaLoginRequest { mfa_token, code } = body.into_inner();
    let token = mfa_token.expose_secret().to_owned();
    let found = state
        .db
        .read(move |conn| {
            let Some(challenge) = store::find_challenge(conn, &token)? else {
                return Ok(None);
            };
            let user = users::store::find(conn, challenge.user_id)?;
            Ok(user.map(|user| (challenge, user)))
        })
        .await?;
    let from = client_ip(&origin);
    let (challenge, user) = found
        .filter(|(challenge, user)| {
            challenge.live()
                && challenge.client_ip == from
                && user.active
                && user.version == challenge.user_version
        })
        .ok_or(AppError::MfaTokenInvalid)?;
    // Already locked: answered from a read, without writing anything (as
    // `POST /auth/login` does).
    let (policy, who) = (
        state.throttle,
        Attempter {
            login_key: challenge.login_key.clone(),
            client_ip: from,
        },
    );
    let locked = state
        .db
        .read(move |conn| throttle::retry_after(conn, &policy, &who))
        .await?;
    if let Some(retry_after_secs) = locked {
        return Err(AppError::RateLimited { retry_after_secs });
    }
    // As with passwords: from its admission on, the check runs to its end
    // on a task of its own, even if the client goes away.
    let state = state.into_inner();
    actix_web::rt::spawn(async move { finish_login(&state, origin, challenge, user, code).await })
        .await
        .map_err(|e| AppError::internal_msg(format!("the login task ended: {e}")))?
}

async fn finish_login(
    state: &AppState,
    origin: Origin,
    challenge: store::Challenge,
    user: users::User,
    code: SecretString,
) -> Result<HttpResponse, AppError> {
    let check = CodeCheck {
        user: user.clone(),
        who: Attempter {
            login_key: challenge.login_key.clone(),
            client_ip: client_ip(&origin),
        },
        during: "login",
    };
    let session_ttl = state.refresh_token_ttl;
    let (hash, session_user, session_origin) =
        (challenge.token_hash.clone(), user.clone(), origin.clone());
    let settled = check::throttled(
        state,
        origin,
        check,
        code,
        move |tx| {
            // The account's lock (with its credential), then the
            // challenge's: the order of every transaction that takes both
            // (`store::lock_credential`).
            let credential = store::lock_credential(tx, challenge.user_id)?;
            // Read again under its lock: used or expired since, or the
            // account changed (a new password, a new role, deactivated)?
            let Some(now) = store::lock_challenge(tx, &challenge.token_hash)? else {
                return Ok(None);
            };
            let account = users::store::find(tx, now.user_id)?;
            let stands =
                now.live() && account.is_some_and(|a| a.active && a.version == now.user_version);
            Ok(credential.filter(|c| stands && c.id == now.credential_id))
        },
        move |tx, credential, factor| {
            if !store::use_challenge(tx, &hash)? {
                // Checked live under its lock a moment ago: cannot happen.
                return Err(AppError::internal_msg(
                    "a locked, live challenge was used already",
                ));
            }
            let mut changes = Changes::new();
            if factor == SecondFactor::RecoveryCode {
                let left = store::recovery_codes_left(tx, &credential.id)?;
                changes = changes.created("recovery_codes_left", left);
            }
            login::open_session(
                tx,
                &session_origin,
                &session_user,
                session_ttl,
                Some(factor),
                changes,
            )
        },
    )
    .await?;
    match settled {
        Settled::Accepted((session_id, refresh_token)) => {
            Ok(HttpResponse::Ok().json(token_pair(state, &user, session_id, refresh_token)?))
        }
        Settled::Refused => Err(AppError::MfaCodeInvalid),
        Settled::Gone => Err(AppError::MfaTokenInvalid),
    }
}

/// Remove another account's second factor (a lost phone, no recovery code
/// left) and end its sessions; it enrols again at its next login. Your own
/// is removed only with a code (`DELETE /auth/mfa/totp`).
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The account")),
    responses(
        (status = 204, description = "Removed; the account's sessions ended"),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not an admin, or your own account", body = Problem),
        (status = 404, description = "No such account", body = Problem),
        (status = 409, description = "The account has no second factor (`mfa_not_enrolled`)", body = Problem),
    )
)]
#[post("/users/{id}/mfa/reset")]
pub async fn reset(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ManageUsers>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    if id == auth.user.id {
        return Err(AppError::ForbiddenBecause(
            "your own second factor is removed only with a code: DELETE /auth/mfa/totp",
        ));
    }
    let actor = auth.actor();
    state
        .db
        .write(move |tx| reset_account(tx, &actor, id, &origin))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Remove an account's second factor, end its sessions and audit
/// `auth.mfa_reset` (the route above and `sijill user mfa-reset`).
pub fn reset_account(
    tx: &mut crate::db::WriteTx<'_>,
    actor: &audit::Actor,
    user_id: Uuid,
    origin: &Origin,
) -> Result<(), AppError> {
    if users::store::find(tx, user_id)?.is_none() {
        return Err(AppError::NotFound);
    }
    let removed = store::remove(tx, user_id)?
        .ok_or_else(|| not_enrolled("this account has no second factor"))?;
    let was = if removed.confirmed() {
        "confirmed"
    } else {
        "pending"
    };
    let ended = crate::auth::store::revoke_user_sessions(tx, user_id, "mfa_reset")?;
    audit::append(
        tx,
        actor,
        AuditAction::AuthMfaReset,
        Some(user_id.to_string()),
        Changes::new()
            .changed("status", was, None::<String>)
            .changed("sessions_ended", 0, ended as i64),
        origin,
    )?;
    Ok(())
}

/// Enrol an account at once, confirmed without a first code, and audit
/// `auth.mfa_enrol` (`sijill user mfa-enrol`: scripted set-up by whoever
/// runs the server). Codes of the current steps stay usable once.
pub fn enrol_confirmed(
    tx: &mut crate::db::WriteTx<'_>,
    actor: &audit::Actor,
    user_id: Uuid,
    secret_sealed: &str,
    recovery_hashes: &[String],
    origin: &Origin,
) -> Result<(), AppError> {
    let before = store::lock_credential(tx, user_id)?;
    if before.as_ref().is_some_and(store::Credential::confirmed) {
        return Err(already_enrolled());
    }
    let credential_id = store::start(tx, user_id, secret_sealed)?;
    let before_now = codes::step_at(chrono::Utc::now().timestamp()) - codes::DRIFT_STEPS - 1;
    if !store::confirm(tx, &credential_id, before_now, recovery_hashes)? {
        return Err(AppError::internal_msg(
            "a credential just made was not pending",
        ));
    }
    let ended = store::end_password_only_sessions(tx, user_id, None)?;
    audit::append(
        tx,
        actor,
        AuditAction::AuthMfaEnrol,
        Some(user_id.to_string()),
        Changes::new()
            .changed("status", before.map(|_| "pending"), "confirmed")
            .created("credential_id", credential_id)
            .created("recovery_codes", recovery_hashes.len())
            .changed("sessions_ended", 0, ended as i64),
        origin,
    )?;
    Ok(())
}
