//! One login attempt, from admission to its settlement.
//!
//! The order is the rule: an attempt is **admitted** by the throttle (in its
//! own short transaction) before its password is **checked**, so guesses
//! sent at once cannot all be checked; then it is **settled** — a success,
//! a failure, or (when the password could not be checked at all) abandoned.
//! The types hold the order: a password is checked only through an
//! [`Admitted`] attempt, and settling consumes it, so each attempt is
//! settled exactly once.

use secrecy::SecretString;

use super::mfa::{self, SecondFactor};
use super::password::Verified;
use super::store;
use super::throttle::{self, Attempt, Attempter, ThrottlePolicy};
use crate::audit::{self, Actor, AuditAction, Changes, Origin};
use crate::db::WriteTx;
use crate::error::AppError;
use crate::state::AppState;
use crate::users::User;

/// An attempt the throttle let through, with the account its name matches
/// (and that account's stored hash), if any.
pub struct Admitted {
    attempt: Attempt,
    candidate: Option<(User, String)>,
}

/// What the check found. Unknown user, wrong password and inactive account
/// get one answer; the audit log records which.
pub enum Verdict {
    LoggedIn {
        user: User,
        rehashed: Option<String>,
    },
    Refused {
        user: Option<User>,
        reason: &'static str,
    },
}

impl Verdict {
    fn of(user: Option<User>, verified: Verified) -> Verdict {
        match user {
            None => Verdict::Refused {
                user: None,
                reason: "unknown_user",
            },
            Some(user) if !verified.valid => Verdict::Refused {
                user: Some(user),
                reason: "wrong_password",
            },
            Some(user) if !user.active => Verdict::Refused {
                user: Some(user),
                reason: "inactive_account",
            },
            Some(user) => Verdict::LoggedIn {
                user,
                rehashed: verified.rehashed,
            },
        }
    }
}

/// Admit the attempt, or say how many seconds to wait.
pub async fn admit(
    state: &AppState,
    username: &str,
    who: &Attempter,
) -> Result<Result<Admitted, u64>, AppError> {
    let (policy, username, who) = (state.throttle, username.to_owned(), who.clone());
    state
        .db
        .write(move |conn| match throttle::admit(conn, &policy, &who)? {
            Ok(attempt) => Ok(Ok(Admitted {
                attempt,
                candidate: crate::users::store::find_for_login(conn, &username)?,
            })),
            Err(retry_after_secs) => Ok(Err(retry_after_secs)),
        })
        .await
}

/// Check the password of an admitted attempt (a dummy hash when no account
/// matches, so both take as long). When it could not be checked at all —
/// the hashing slots were busy — the attempt does not count: it is
/// abandoned, and the error returned.
pub async fn check(
    state: &AppState,
    admitted: Admitted,
    password: SecretString,
) -> Result<(Attempt, Verdict), AppError> {
    let Admitted { attempt, candidate } = admitted;
    let (user, stored_hash) = match candidate {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    match state.hasher.verify(password, stored_hash).await {
        Ok(verified) => Ok((attempt, Verdict::of(user, verified))),
        Err(err) => {
            if let Err(cleanup) = state
                .db
                .write(move |conn| throttle::abandon(conn, attempt))
                .await
            {
                tracing::warn!(error = ?cleanup, "an unchecked login attempt stays counted");
            }
            Err(err)
        }
    }
}

/// What a right password leads to.
pub enum Passed {
    /// A session: the account has no second factor.
    Session {
        session_id: uuid::Uuid,
        refresh_token: String,
    },
    /// The account has a second factor: the login waits for a code,
    /// presented with this token (`POST /auth/login/mfa`).
    NeedsCode { mfa_token: String },
}

/// Settle a right password. Without a second factor: the username's
/// failures are forgiven, a session begins, `auth.login` is audited. With
/// one: the attempt is set aside — neither forgiven nor counted; only the
/// code settles the login — and a challenge is recorded and audited
/// (`auth.mfa_challenge`: that the password is known is worth an auditor's
/// eye even if no code follows). Either way an outdated hash is replaced,
/// in the same transaction, which also sees an enrolment confirmed a moment
/// ago.
pub async fn succeed(
    state: &AppState,
    origin: Origin,
    attempt: Attempt,
    who: Attempter,
    user: User,
    rehashed: Option<String>,
) -> Result<Passed, AppError> {
    let (ttl, challenge_ttl) = (state.refresh_token_ttl, state.mfa.token_ttl);
    state
        .db
        .write(move |tx| {
            let mut changes = Changes::new();
            if let Some(new_hash) = &rehashed {
                crate::users::store::set_password_hash(tx, user.id, new_hash)?;
                changes = changes.changed("password_rehashed", false, true);
            }
            let credential = mfa::store::credential(tx, user.id)?.filter(|c| c.confirmed());
            if let Some(credential) = credential {
                throttle::abandon(tx, attempt)?;
                let mfa_token = mfa::store::create_challenge(
                    tx,
                    mfa::store::NewChallenge {
                        user_id: user.id,
                        user_version: user.version,
                        credential_id: &credential.id,
                        login_key: &who.login_key,
                        client_ip: &who.client_ip,
                        lifetime: challenge_ttl,
                    },
                )?;
                audit::append(
                    tx,
                    &Actor::from(&user),
                    AuditAction::AuthMfaChallenge,
                    Some(user.id.to_string()),
                    changes.created("expires_in", challenge_ttl.as_secs()),
                    &origin,
                )?;
                return Ok(Passed::NeedsCode { mfa_token });
            }
            throttle::succeed(tx, attempt, &who)?;
            let (session_id, refresh_token) = open_session(tx, &origin, &user, ttl, None, changes)?;
            Ok(Passed::Session {
                session_id,
                refresh_token,
            })
        })
        .await
}

/// Begin a session of `user` and audit `auth.login` (with `changes`, and
/// the second factor that proved it, if any). Returns the session id and
/// its first refresh token.
pub fn open_session(
    tx: &mut WriteTx<'_>,
    origin: &Origin,
    user: &User,
    lifetime: std::time::Duration,
    second_factor: Option<SecondFactor>,
    changes: Changes,
) -> Result<(uuid::Uuid, String), AppError> {
    let client_ip = origin.client_ip.as_deref();
    let (session_id, secret) =
        store::create_session(tx, user.id, client_ip, lifetime, second_factor)?;
    let mut changes = changes.created("session_id", session_id.to_string());
    if let Some(factor) = second_factor {
        changes = changes.created("second_factor", factor.as_str());
    }
    audit::append(
        tx,
        &Actor::from(user),
        AuditAction::AuthLogin,
        Some(user.id.to_string()),
        changes,
        origin,
    )?;
    Ok((session_id, secret))
}

/// A failed attempt, as the audit log records it.
pub struct Failure {
    pub actor: Actor,
    pub entity_id: Option<String>,
    /// `auth.login_failed` or `auth.mfa_failed`.
    pub action: AuditAction,
    pub changes: Changes,
    /// What every entry of this failure carries, the lock entries too (the
    /// fingerprint of a username that names no account).
    pub identity: Changes,
}

/// Settle a failure in the caller's transaction: it counts toward the
/// limits, is audited, and so is each lock it started (`auth.locked`).
pub fn record_failure(
    tx: &mut WriteTx<'_>,
    policy: &ThrottlePolicy,
    attempt: Attempt,
    who: &Attempter,
    origin: &Origin,
    failure: Failure,
) -> Result<(), AppError> {
    let locks = throttle::fail(tx, policy, attempt, who)?;
    let Failure {
        actor,
        entity_id,
        action,
        changes,
        identity,
    } = failure;
    audit::append(
        tx,
        &actor,
        action,
        entity_id.clone(),
        changes.merged(identity.clone()),
        origin,
    )?;
    for scope in locks {
        let changes = Changes::new()
            .created("scope", scope.as_str())
            .created("window_seconds", policy.window.as_secs());
        audit::append(
            tx,
            &actor,
            AuditAction::AuthLocked,
            entity_id.clone(),
            changes.merged(identity.clone()),
            origin,
        )?;
    }
    Ok(())
}

/// Settle a wrong password (or an unknown or inactive account): recorded
/// as `auth.login_failed`. A name that matches no account is recorded only
/// as a keyed fingerprint: people type passwords into the username field.
pub async fn fail(
    state: &AppState,
    origin: Origin,
    attempt: Attempt,
    who: Attempter,
    username: &str,
    user: Option<User>,
    reason: &'static str,
) -> Result<(), AppError> {
    let policy = state.throttle;
    let failure = match &user {
        Some(user) => Failure {
            actor: Actor::from(user),
            entity_id: Some(user.id.to_string()),
            action: AuditAction::AuthLoginFailed,
            changes: Changes::new().created("reason", reason),
            identity: Changes::new(),
        },
        None => Failure {
            actor: Actor::default(),
            entity_id: None,
            action: AuditAction::AuthLoginFailed,
            changes: Changes::new().created("reason", reason),
            identity: Changes::new().created(
                "typed_username",
                state.fingerprints.typed_username(username),
            ),
        },
    };
    state
        .db
        .write(move |tx| record_failure(tx, &policy, attempt, &who, &origin, failure))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(active: bool) -> User {
        let now = chrono::Utc::now();
        User {
            id: uuid::Uuid::now_v7(),
            username: "rima.k".into(),
            display_name: "Rima K.".into(),
            role: crate::users::Role::Caseworker,
            organization_id: uuid::Uuid::now_v7(),
            active,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    fn verified(valid: bool) -> Verified {
        Verified {
            valid,
            rehashed: None,
        }
    }

    fn reason(verdict: Verdict) -> &'static str {
        match verdict {
            Verdict::LoggedIn { .. } => "logged_in",
            Verdict::Refused { reason, .. } => reason,
        }
    }

    #[test]
    fn one_answer_three_reasons() {
        // A valid password of no account cannot happen (the dummy hash
        // matches nothing), but it must still be refused.
        assert_eq!(reason(Verdict::of(None, verified(true))), "unknown_user");
        assert_eq!(reason(Verdict::of(None, verified(false))), "unknown_user");
        assert_eq!(
            reason(Verdict::of(Some(user(true)), verified(false))),
            "wrong_password"
        );
        assert_eq!(
            reason(Verdict::of(Some(user(false)), verified(false))),
            "wrong_password"
        );
        assert_eq!(
            reason(Verdict::of(Some(user(false)), verified(true))),
            "inactive_account"
        );
        assert_eq!(
            reason(Verdict::of(Some(user(true)), verified(true))),
            "logged_in"
        );
    }
}
