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

/// When the `limit`-th most recent failure leaves the window, the count drops
/// below the limit: that is when the lock ends.
fn lock_remaining(
    policy: &ThrottlePolicy,
    recent: Vec<NaiveDateTime>,
    limit: i64,
) -> Result<Option<u64>, AppError> {
    if (recent.len() as i64) < limit {
        return Ok(None);
    }
    let Some(oldest_counted) = recent.last() else {
        return Ok(None);
    };
    let ends =
        *oldest_counted + chrono::Duration::from_std(policy.window).map_err(AppError::internal)?;
    let remaining = (ends - db::now()).num_milliseconds().max(0) as u64;
    // Round up: a client that waits exactly Retry-After seconds must get in.
    Ok(Some(remaining.div_ceil(1000).max(1)))
}

/// Seconds until a login for this username / address may be tried again, if locked.
pub fn retry_after(
    conn: &mut DbConnection,
    policy: &ThrottlePolicy,
    username: &str,
    client_ip: &str,
) -> Result<Option<u64>, AppError> {
    let since = window_start(policy)?;
    let by_user: Vec<NaiveDateTime> = login_failures::table
        .filter(login_failures::username.eq(username))
        .filter(login_failures::occurred_at.gt(since))
        .select(login_failures::occurred_at)
        .order(login_failures::occurred_at.desc())
        .limit(policy.max_per_user)
        .load(conn)?;
    let by_client: Vec<NaiveDateTime> = login_failures::table
        .filter(login_failures::client_ip.eq(client_ip))
        .filter(login_failures::occurred_at.gt(since))
        .select(login_failures::occurred_at)
        .order(login_failures::occurred_at.desc())
        .limit(policy.max_per_client)
        .load(conn)?;
    let user_wait = lock_remaining(policy, by_user, policy.max_per_user)?;
    let client_wait = lock_remaining(policy, by_client, policy.max_per_client)?;
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
