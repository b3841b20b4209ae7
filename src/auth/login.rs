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

use super::password::Verified;
use super::store;
use super::throttle::{self, Attempt, Attempter};
use crate::audit::{self, Actor, AuditAction, Changes, Origin};
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

/// Settle a success: the username's failures are forgiven, a session
/// begins, an outdated hash is replaced, `auth.login` is audited — in one
/// transaction. Returns the session id and its refresh token.
pub async fn succeed(
    state: &AppState,
    origin: Origin,
    attempt: Attempt,
    who: Attempter,
    user: User,
    rehashed: Option<String>,
) -> Result<(uuid::Uuid, String), AppError> {
    let ttl = state.refresh_token_ttl;
    state
        .db
        .write(move |conn| {
            throttle::succeed(conn, attempt, &who)?;
            let client_ip = origin.client_ip.as_deref();
            let (session_id, secret) = store::create_session(conn, user.id, client_ip, ttl)?;
            let mut changes = Changes::new().created("session_id", session_id.to_string());
            if let Some(new_hash) = &rehashed {
                crate::users::store::set_password_hash(conn, user.id, new_hash)?;
                changes = changes.changed("password_rehashed", false, true);
            }
            audit::append(
                conn,
                &Actor::from(&user),
                AuditAction::AuthLogin,
                Some(user.id.to_string()),
                changes,
                &origin,
            )?;
            Ok((session_id, secret))
        })
        .await
}

/// Settle a failure: it counts toward the limits, `auth.login_failed` is
/// audited, and so is each lock this failure started (`auth.locked`). A
/// name that matches no account is recorded only as a keyed fingerprint:
/// people type passwords into the username field.
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
    let (actor, entity_id, typed) = match &user {
        Some(user) => (Actor::from(user), Some(user.id.to_string()), None),
        None => (
            Actor::default(),
            None,
            Some(state.fingerprints.typed_username(username)),
        ),
    };
    state
        .db
        .write(move |conn| {
            let locks = throttle::fail(conn, &policy, attempt, &who)?;
            let identify = |changes: Changes| match &typed {
                Some(fingerprint) => changes.created("typed_username", fingerprint.clone()),
                None => changes,
            };
            audit::append(
                conn,
                &actor,
                AuditAction::AuthLoginFailed,
                entity_id.clone(),
                identify(Changes::new().created("reason", reason)),
                &origin,
            )?;
            for scope in locks {
                let changes = Changes::new()
                    .created("scope", scope.as_str())
                    .created("window_seconds", policy.window.as_secs());
                audit::append(
                    conn,
                    &actor,
                    AuditAction::AuthLocked,
                    entity_id.clone(),
                    identify(changes),
                    &origin,
                )?;
            }
            Ok(())
        })
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
