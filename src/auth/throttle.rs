//! Login throttling, kept in the database so every server process counts
//! the same attempts: after N failures for one username (or M for one
//! client address) within the window, logins answer 429 until the window
//! passes.
//!
//! The limit must hold for guesses sent at once, on however many processes.
//! So an attempt is *admitted* before its password is checked: under a
//! lock, it is counted with the failures and the other attempts still being
//! checked, and refused when they already reach the limit; only then is it
//! written down as pending. A pending attempt becomes a failure, or
//! disappears when it succeeds (or could not be checked at all). At most N
//! passwords are ever checked for one username in a window.
//!
//! Usernames are counted under a keyed fingerprint (`login_key`), so the
//! table never holds what was typed — sometimes a password.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::login_attempts;
use crate::db::{self, DbConnection};
use crate::error::AppError;

/// Transaction-scoped advisory lock that serialises admitting and recording
/// attempts on PostgreSQL across server processes (on SQLite the write
/// transaction already does).
const THROTTLE_LOCK_KEY: i64 = 0x5153_494A_494C_4C03;

#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub window: Duration,
    pub max_per_user: i64,
    pub max_per_client: i64,
}

/// Where the lock comes from, for the audit entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockScope {
    Username,
    ClientAddress,
}

impl LockScope {
    pub fn as_str(self) -> &'static str {
        match self {
            LockScope::Username => "username",
            LockScope::ClientAddress => "client_address",
        }
    }
}

/// Who is trying: the fingerprint of the typed username and the client address.
#[derive(Debug, Clone)]
pub struct Attempter {
    pub login_key: String,
    pub client_ip: String,
}

/// An attempt admitted to have its password checked.
#[derive(Debug, Clone)]
pub struct Attempt {
    id: String,
}

const PENDING: &str = "pending";
const FAILED: &str = "failed";

fn lock(conn: &mut DbConnection) -> Result<(), AppError> {
    if let DbConnection::Postgresql(pg) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({THROTTLE_LOCK_KEY})"))
            .execute(pg)?;
    }
    Ok(())
}

fn window_start(policy: &ThrottlePolicy) -> Result<NaiveDateTime, AppError> {
    Ok(db::now() - chrono::Duration::from_std(policy.window).map_err(AppError::internal)?)
}

/// Seconds until the lock ends, if `nth_newest` (the `limit`-th most recent
/// attempt inside the window) exists: when it leaves the window, the count
/// drops below the limit.
fn lock_remaining(
    policy: &ThrottlePolicy,
    nth_newest: Option<NaiveDateTime>,
) -> Result<Option<u64>, AppError> {
    let Some(nth_newest) = nth_newest else {
        return Ok(None);
    };
    let ends =
        nth_newest + chrono::Duration::from_std(policy.window).map_err(AppError::internal)?;
    let remaining = (ends - db::now()).num_milliseconds().max(0) as u64;
    // Round up: a client that waits exactly Retry-After seconds must get in.
    Ok(Some(remaining.div_ceil(1000).max(1)))
}

/// Seconds to wait, if failed and pending attempts inside the window
/// already reach either limit. Each check reads one row through an index.
fn retry_after(
    conn: &mut DbConnection,
    policy: &ThrottlePolicy,
    who: &Attempter,
) -> Result<Option<u64>, AppError> {
    let since = window_start(policy)?;
    let nth_by_user: Option<NaiveDateTime> = login_attempts::table
        .filter(login_attempts::login_key.eq(&who.login_key))
        .filter(login_attempts::started_at.gt(since))
        .select(login_attempts::started_at)
        .order(login_attempts::started_at.desc())
        .offset(policy.max_per_user - 1)
        .first(conn)
        .optional()?;
    let nth_by_client: Option<NaiveDateTime> = login_attempts::table
        .filter(login_attempts::client_ip.eq(&who.client_ip))
        .filter(login_attempts::started_at.gt(since))
        .select(login_attempts::started_at)
        .order(login_attempts::started_at.desc())
        .offset(policy.max_per_client - 1)
        .first(conn)
        .optional()?;
    Ok(lock_remaining(policy, nth_by_user)?.max(lock_remaining(policy, nth_by_client)?))
}

/// Admit an attempt, or say how many seconds to wait (429). Runs in its own
/// short write transaction, before the password is checked.
pub fn admit(
    conn: &mut DbConnection,
    policy: &ThrottlePolicy,
    who: &Attempter,
) -> Result<Result<Attempt, u64>, AppError> {
    lock(conn)?;
    // Rows that left the window are of no further use; prune this user's
    // and this address's.
    let since = window_start(policy)?;
    diesel::delete(
        login_attempts::table
            .filter(
                login_attempts::login_key
                    .eq(&who.login_key)
                    .or(login_attempts::client_ip.eq(&who.client_ip)),
            )
            .filter(login_attempts::started_at.le(since)),
    )
    .execute(conn)?;
    if let Some(wait) = retry_after(conn, policy, who)? {
        return Ok(Err(wait));
    }
    let attempt = Attempt {
        id: Uuid::now_v7().to_string(),
    };
    insert(conn, &attempt, who, PENDING, db::now())?;
    Ok(Ok(attempt))
}

fn insert(
    conn: &mut DbConnection,
    attempt: &Attempt,
    who: &Attempter,
    outcome: &str,
    started_at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::insert_into(login_attempts::table)
        .values((
            login_attempts::id.eq(&attempt.id),
            login_attempts::login_key.eq(&who.login_key),
            login_attempts::client_ip.eq(&who.client_ip),
            login_attempts::started_at.eq(started_at),
            login_attempts::outcome.eq(outcome),
        ))
        .execute(conn)?;
    Ok(())
}

/// The password was wrong (or the account unknown or inactive): the attempt
/// counts as a failure. Returns the locks this failure started, so that
/// each is audited once. In the caller's write transaction.
pub fn fail(
    conn: &mut DbConnection,
    policy: &ThrottlePolicy,
    attempt: &Attempt,
    who: &Attempter,
) -> Result<Vec<LockScope>, AppError> {
    lock(conn)?;
    let marked = diesel::update(login_attempts::table.find(&attempt.id))
        .set(login_attempts::outcome.eq(FAILED))
        .execute(conn)?;
    if marked == 0 {
        // A success for the same username cleared it meanwhile; the failure
        // still counts.
        insert(conn, attempt, who, FAILED, db::now())?;
    }
    let since = window_start(policy)?;
    let failures_by_user: i64 = login_attempts::table
        .filter(login_attempts::login_key.eq(&who.login_key))
        .filter(login_attempts::outcome.eq(FAILED))
        .filter(login_attempts::started_at.gt(since))
        .count()
        .get_result(conn)?;
    let failures_by_client: i64 = login_attempts::table
        .filter(login_attempts::client_ip.eq(&who.client_ip))
        .filter(login_attempts::outcome.eq(FAILED))
        .filter(login_attempts::started_at.gt(since))
        .count()
        .get_result(conn)?;
    let mut started = Vec::new();
    if failures_by_user == policy.max_per_user {
        started.push(LockScope::Username);
    }
    if failures_by_client == policy.max_per_client {
        started.push(LockScope::ClientAddress);
    }
    Ok(started)
}

/// The right password: this username's failures are forgiven (not the
/// address's) and the attempt is gone. Other attempts still being checked
/// keep counting. In the caller's write transaction.
pub fn succeed(
    conn: &mut DbConnection,
    attempt: &Attempt,
    who: &Attempter,
) -> Result<(), AppError> {
    lock(conn)?;
    diesel::delete(
        login_attempts::table.filter(
            login_attempts::id
                .eq(&attempt.id)
                .or(login_attempts::login_key
                    .eq(&who.login_key)
                    .and(login_attempts::outcome.eq(FAILED))),
        ),
    )
    .execute(conn)?;
    Ok(())
}

/// The password could not be checked at all (the server was busy): the
/// attempt does not count.
pub fn abandon(conn: &mut DbConnection, attempt: &Attempt) -> Result<(), AppError> {
    diesel::delete(login_attempts::table.find(&attempt.id)).execute(conn)?;
    Ok(())
}
