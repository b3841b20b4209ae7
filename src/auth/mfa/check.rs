//! A code checked where a wrong one must count: finishing a login, and
//! disabling the second factor (else a stolen session could guess its way
//! to turning the factor off). Each check is a login attempt of its own,
//! through the same throttle as passwords, in the same order: **admitted**
//! under the lock before the code is looked at (so guesses sent at once
//! cannot all be checked), then **settled** — the code consumed and the
//! attempt a success, or a failure counted and audited (`auth.mfa_failed`)
//! — in one transaction with what the code was for.

use secrecy::SecretString;

use super::codes::{self, Typed};
use super::store::{self, Credential};
use super::SecondFactor;
use crate::audit::{Actor, AuditAction, Changes, Origin};
use crate::auth::login::{self, Failure};
use crate::auth::throttle::{self, Attempter};
use crate::db::WriteTx;
use crate::error::AppError;
use crate::state::AppState;
use crate::users::User;

/// What a typed code was found to be, before anything is consumed.
#[derive(Debug, Clone)]
pub enum Candidate {
    /// The code of this time step.
    Step(i64),
    /// This unused recovery code.
    Recovery(String),
    Nothing,
}

/// Which step's code, or which recovery code, `typed` is for `credential`.
/// A recovery code is compared with each unused one's argon2id hash (up
/// to ten, in one hashing slot); a TOTP code costs an HMAC a step.
pub async fn candidate(
    state: &AppState,
    credential: &Credential,
    typed: &str,
) -> Result<Candidate, AppError> {
    match codes::classify(typed) {
        Typed::Totp(code) => {
            let secret = state
                .mfa
                .open_secret(credential.user_id, &credential.secret_sealed)?;
            let now = chrono::Utc::now().timestamp();
            Ok(codes::step_of(&secret, &code, now).map_or(Candidate::Nothing, Candidate::Step))
        }
        Typed::Recovery(code) => {
            let credential_id = credential.id.clone();
            let unused = state
                .db
                .read(move |conn| store::unused_recovery_codes(conn, &credential_id))
                .await?;
            let (ids, hashes): (Vec<String>, Vec<String>) = unused.into_iter().unzip();
            Ok(match state.hasher.find_match(code, hashes).await? {
                Some(i) => Candidate::Recovery(ids[i].clone()),
                None => Candidate::Nothing,
            })
        }
        Typed::Neither => Ok(Candidate::Nothing),
    }
}

/// Consume the candidate: the factor it proves, or why it is refused. A
/// step already used (or older than one used) is a replay.
pub fn consume(
    tx: &mut WriteTx<'_>,
    credential_id: &str,
    candidate: &Candidate,
) -> Result<Result<SecondFactor, &'static str>, AppError> {
    Ok(match candidate {
        Candidate::Step(step) => match store::use_step(tx, credential_id, *step)? {
            true => Ok(SecondFactor::Totp),
            false => Err("code_reused"),
        },
        Candidate::Recovery(id) => match store::use_recovery_code(tx, credential_id, id)? {
            true => Ok(SecondFactor::RecoveryCode),
            false => Err("code_reused"),
        },
        Candidate::Nothing => Err("wrong_code"),
    })
}

/// How a throttled check ended.
pub enum Settled<T> {
    Accepted(T),
    /// A wrong or replayed code: counted and audited.
    Refused,
    /// What the code was for is gone (the login challenge was used or
    /// expired, the credential removed): nothing counted.
    Gone,
}

/// Whose code, from where, and for what (`during`, in the audit entry).
pub struct CodeCheck {
    pub user: User,
    pub who: Attempter,
    pub during: &'static str,
}

/// Admit, check and settle one typed code. `recheck` runs first in the
/// settling transaction, locks what the code is for and says whether it
/// still stands (the credential it finds, or `None`); `accept` does what
/// the code was for, in the same transaction.
pub async fn throttled<T, R, A>(
    state: &AppState,
    origin: Origin,
    check: CodeCheck,
    typed: SecretString,
    recheck: R,
    accept: A,
) -> Result<Settled<T>, AppError>
where
    T: Send + 'static,
    R: FnOnce(&mut WriteTx<'_>) -> Result<Option<Credential>, AppError> + Send + 'static,
    A: FnOnce(&mut WriteTx<'_>, &Credential, SecondFactor) -> Result<T, AppError> + Send + 'static,
{
    use secrecy::ExposeSecret;
    let CodeCheck { user, who, during } = check;
    let policy = state.throttle;
    let user_id = user.id;
    let admitted = {
        let who = who.clone();
        state
            .db
            .write(move |tx| {
                let admitted = throttle::admit(tx, &policy, &who)?;
                let credential = store::credential(tx, user_id)?.filter(Credential::confirmed);
                Ok((admitted, credential))
            })
            .await?
    };
    let (attempt, credential) = match admitted {
        (Err(retry_after_secs), _) => return Err(AppError::RateLimited { retry_after_secs }),
        (Ok(attempt), credential) => (attempt, credential),
    };
    let found = match credential {
        Some(credential) => candidate(state, &credential, typed.expose_secret())
            .await
            .map(|candidate| Some((credential, candidate))),
        None => Ok(None),
    };
    let found = match found {
        Ok(found) => found,
        Err(err) => {
            // Not checked at all: the attempt does not count.
            let cleanup = state
                .db
                .write(move |tx| throttle::abandon(tx, attempt))
                .await;
            if let Err(cleanup) = cleanup {
                tracing::warn!(error = ?cleanup, "an unchecked code stays counted");
            }
            return Err(err);
        }
    };
    state
        .db
        .write(move |tx| {
            let now = recheck(tx)?;
            let (credential, candidate) = match (found, now) {
                (Some((read, candidate)), Some(now)) if now.id == read.id && now.confirmed() => {
                    (now, candidate)
                }
                _ => {
                    throttle::abandon(tx, attempt)?;
                    return Ok(Settled::Gone);
                }
            };
            match consume(tx, &credential.id, &candidate)? {
                Ok(factor) => {
                    throttle::succeed(tx, attempt, &who)?;
                    Ok(Settled::Accepted(accept(tx, &credential, factor)?))
                }
                Err(reason) => {
                    let failure = Failure {
                        actor: Actor::from(&user),
                        entity_id: Some(user.id.to_string()),
                        action: AuditAction::AuthMfaFailed,
                        changes: Changes::new()
                            .created("reason", reason)
                            .created("during", during),
                        identity: Changes::new(),
                    };
                    login::record_failure(tx, &policy, attempt, &who, &origin, failure)?;
                    Ok(Settled::Refused)
                }
            }
        })
        .await
}
