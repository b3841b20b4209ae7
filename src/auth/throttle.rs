//! Login throttling, kept in the database so every server process counts the
//! same failures: after N failures for one username (or M for one client
//! address) within the window, logins answer 429 until the window passes.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::login_failures;
use crate::db::{self, DbConnection};
use crate::error::AppError;

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

fn window_start(policy: &ThrottlePolicy) -> Result<NaiveDateTime, AppError> {
    Ok(db::now() - chrono::Duration::from_std(policy.window).map_err(AppError::internal)?)
}

/// Seconds until the lock ends, if `nth_newest` (the `limit`-th most recent
/// failure inside the window) exists: when it leaves the window, the count
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

/// Seconds until a login for this username / address may be tried again, if locked.
/// Each check reads one row through the (key, occurred_at) index.
pub fn retry_after(
    conn: &mut DbConnection,
    policy: &ThrottlePolicy,
    username: &str,
    client_ip: &str,
) -> Result<Option<u64>, AppError> {
    let since = window_start(policy)?;
    let nth_by_user: Option<NaiveDateTime> = login_failures::table
        .filter(login_failures::username.eq(username))
        .filter(login_failures::occurred_at.gt(since))
        .select(login_failures::occurred_at)
        .order(login_failures::occurred_at.desc())
        .offset(policy.max_per_user - 1)
        .first(conn)
        .optional()?;
    let nth_by_client: Option<NaiveDateTime> = login_failures::table
        .filter(login_failures::client_ip.eq(client_ip))
        .filter(login_failures::occurred_at.gt(since))
        .select(login_failures::occurred_at)
        .order(login_failures::occurred_at.desc())
        .offset(policy.max_per_client - 1)
        .first(conn)
        .optional()?;
    let user_wait = lock_remaining(policy, nth_by_user)?;
    let client_wait = lock_remaining(policy, nth_by_client)?;
    Ok(user_wait.max(client_wait))
}

/// Record one failure; returns which lock (if any) this failure just started.
/// Call with the audit chain lock held, so concurrent failures count in turn
/// and the lock-out is audited exactly once.
pub fn record_failure(
    conn: &mut DbConnection,
    policy: &ThrottlePolicy,
    username: &str,
    client_ip: &str,
) -> Result<Vec<LockScope>, AppError> {
    let since = window_start(policy)?;
    // Old rows are of no further use; prune this user's and address's.
    diesel::delete(
        login_failures::table
            .filter(
                login_failures::username
                    .eq(username)
                    .or(login_failures::client_ip.eq(client_ip)),
            )
            .filter(login_failures::occurred_at.le(since)),
    )
    .execute(conn)?;
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::id.eq(Uuid::now_v7().to_string()),
            login_failures::username.eq(username),
            login_failures::client_ip.eq(client_ip),
            login_failures::occurred_at.eq(db::now()),
        ))
        .execute(conn)?;
    let user_count: i64 = login_failures::table
        .filter(login_failures::username.eq(username))
        .filter(login_failures::occurred_at.gt(since))
        .count()
        .get_result(conn)?;
    let client_count: i64 = login_failures::table
        .filter(login_failures::client_ip.eq(client_ip))
        .filter(login_failures::occurred_at.gt(since))
        .count()
        .get_result(conn)?;
    let mut started = Vec::new();
    if user_count == policy.max_per_user {
        started.push(LockScope::Username);
    }
    if client_count == policy.max_per_client {
        started.push(LockScope::ClientAddress);
    }
    Ok(started)
}

/// A successful login clears that username's failures (not the address's).
pub fn clear_user(conn: &mut DbConnection, username: &str) -> Result<(), AppError> {
    diesel::delete(login_failures::table.filter(login_failures::username.eq(username)))
        .execute(conn)?;
    Ok(())
}
