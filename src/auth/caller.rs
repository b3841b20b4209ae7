//! Who is calling: the bearer token is checked once per request by a
//! middleware (signature, claims, then the live session and account in the
//! database), before any handler extractor runs; `Authorized<P>` then gives
//! the handler the caller, or answers 401 / 403. A session of a role that
//! needs a second factor, not proven with one, is refused everything but
//! enrolling (403 `mfa_enrolment_required`), whatever its role allows.

use std::marker::PhantomData;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use uuid::Uuid;

use super::mfa::SecondFactor;
use super::permissions::{self, Permission};
use super::store;
use crate::audit::{Account, Actor};
use crate::error::AppError;
use crate::state::AppState;
use crate::users::User;

/// An authenticated caller: a live session of an active account.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub session_id: Uuid,
    /// How the session's login was proven beyond the password, if it was.
    pub second_factor: Option<SecondFactor>,
    /// The role needs a second factor this session was not proven with:
    /// it may do nothing but enrol (and read its account, log out).
    pub enrolment_only: bool,
}

impl Caller {
    /// The caller as an audit entry records who acted.
    pub fn actor(&self) -> Actor {
        Actor::from(&self.user)
    }

    /// The caller as the access log records a reader.
    pub fn account(&self) -> Account {
        Account::from(&self.user)
    }
}

/// The outcome of checking the `Authorization` header, kept in the request.
#[derive(Clone)]
enum Authentication {
    Valid(Box<Caller>),
    Invalid,
}

fn bearer_token(req: &ServiceRequest) -> Option<Result<String, ()>> {
    let value = req.headers().get(AUTHORIZATION)?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    Some(token.ok_or(()))
}

async fn authenticate_token(state: &AppState, token: &str) -> Result<Caller, AppError> {
    let claims = state.tokens.verify(token)?;
    let (session_id, user_id) = (claims.sid, claims.sub);
    let user = state
        .db
        .read(move |conn| store::live_session_user(conn, session_id, user_id))
        .await?;
    match user {
        Some((user, second_factor)) => Ok(Caller {
            enrolment_only: second_factor.is_none() && state.mfa.requires(user.role),
            user,
            session_id,
            second_factor,
        }),
        None => Err(AppError::Unauthorized),
    }
}

pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // Only the API has callers: /healthz, /readyz, /metrics and
    // /openapi.json answer without looking a token up (so that a probe that
    // sends one still learns whether the process is alive when the database
    // is not).
    let token = req
        .path()
        .starts_with("/api/")
        .then(|| bearer_token(&req))
        .flatten();
    if let Some(token) = token {
        let outcome = match (token, req.app_data::<web::Data<AppState>>()) {
            (Ok(token), Some(state)) => match authenticate_token(state, &token).await {
                Ok(caller) => Authentication::Valid(Box::new(caller)),
                // A database outage is not the caller's fault: say so, not 401.
                Err(err @ (AppError::Unavailable(_) | AppError::Internal(_))) => {
                    return Err(err.into())
                }
                Err(_) => Authentication::Invalid,
            },
            _ => Authentication::Invalid,
        };
        req.extensions_mut().insert(outcome);
    }
    next.call(req).await
}

fn caller_from(req: &HttpRequest) -> Result<Caller, AppError> {
    match req.extensions().get::<Authentication>() {
        Some(Authentication::Valid(caller)) => Ok((**caller).clone()),
        Some(Authentication::Invalid) | None => Err(AppError::Unauthorized),
    }
}

/// An authenticated caller whose role may perform `P`.
pub struct Authorized<P: Permission> {
    pub caller: Caller,
    _permission: PhantomData<P>,
}

impl<P: Permission> std::ops::Deref for Authorized<P> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<P: Permission> FromRequest for Authorized<P> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let result = caller_from(req).and_then(|caller| {
            if caller.enrolment_only && !permissions::open_before_enrolment(P::ACTION) {
                Err(AppError::MfaEnrolmentRequired(
                    "your role needs a second factor, and this session was not proven with one: \
                     enrol (POST /auth/mfa/totp, then /auth/mfa/totp/confirm), or log in again \
                     with your code",
                ))
            } else if permissions::allows(caller.user.role, P::ACTION) {
                Ok(Authorized {
                    caller,
                    _permission: PhantomData,
                })
            } else {
                Err(AppError::Forbidden)
            }
        });
        std::future::ready(result.map_err(Into::into))
    }
}
