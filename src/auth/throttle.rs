//! Login throttling, kept in the database so every server process counts
//! the same attempts: after N failures for one username (or M for one
//! client address) within the window, logins answer 429 until the window
//! passes.
//!
//! The limit must hold for guesses sent at once, on however many processes.
//! So an attempt is *admitted* before its password is checked: under a lock
//! on its username and its address, it is counted with the failures and the
//! other attempts still being checked, and refused when they already reach
//! the limit; only then is it written down as pending. A pending attempt
//! becomes a failure, or is deleted when it succeeds (or could not be
//! checked at all). At most N passwords are ever checked for one username
//! in a window.
//!
//! A login for a username or address already locked is answered from a
//! read, without writing or locking anything: a flood of such requests
//! costs one indexed read each and never queues behind real writes.
//!
//! Usernames are counted under a keyed fingerprint (`login_key`), so the
//! table never holds what was typed — sometimes a password.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::login_attempts;
use crate::db::{self, DbConnection, WriteTx};
use crate::error::AppError;

/// The classes of the two-key PostgreSQL advisory locks that serialise
/// admitting and recording the attempts of one username and of one address
/// across server processes (SQLite's write transaction already does). A
/// transaction takes the username's lock before the address's, so two
/// attempts never wait for each other in a cycle.
const USERNAME_LOCK_CLASS: i32 = 0x534A_4C55;
const ADDRESS_LOCK_CLASS: i32 = 0x534A_4C41;

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

/// An attempt admitted to have its password checked. Not `Clone`:
/// `succeed`, `fail` and `abandon` consume it, so each is settled once.
#[derive(Debug)]
pub struct Attempt {
    id: String,
}

/// Being checked now.
const PENDING: &str = "pending";
/// A wrong password, an unknown or an inactive account.
const FAILED: &str = "failed";
/// A failure forgiven for its username by a later success; it still counts
/// for the address it came from.
const FORGIVEN: &str = "forgiven";

/// The two limits an attempt counts toward.
#[derive(Debug, Clone, Copy)]
enum Side {
    Username,
    Address,
}

impl Side {
    /// What counts toward the limit, and what of that is settled (failed).
    /// A forgiven failure no longer counts for its username, but still for
    /// the address it came from.
    fn outcomes(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Side::Username => (&[PENDING, FAILED], &[FAILED]),
            Side::Address => (&[PENDING, FAILED, FORGIVEN], &[FAILED, FORGIVEN]),
        }
    }

    fn limit(self, policy: &ThrottlePolicy) -> i64 {
        match self {
            Side::Username => policy.max_per_user,
            Side::Address => policy.max_per_client,
        }
    }
}

fn lock(tx: &mut WriteTx<'_>, who: &Attempter, side: Side) -> Result<(), AppError> {
    if let DbConnection::Postgresql(pg) = tx.conn() {
        let (class, key) = match side {
            Side::Username => (USERNAME_LOCK_CLASS, &who.login_key),
            Side::Address => (ADDRESS_LOCK_CLASS, &who.client_ip),
        };
        // Keyed by schema too: advisory locks are database-wide, and a
        // deployment in another schema of the database counts apart.
        diesel::sql_query(
            "SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || '/' || $2))",
        )
        .bind::<diesel::sql_types::Integer, _>(class)
        .bind::<diesel::sql_types::Text, _>(key)
        .execute(pg)?;
    }
    Ok(())
}

/// The username's lock, then the address's (always in that order).
fn lock_both(tx: &mut WriteTx<'_>, who: &Attempter) -> Result<(), AppError> {
    lock(tx, who, Side::Username)?;
    lock(tx, who, Side::Address)
}

fn window_start(policy: &ThrottlePolicy) -> Result<NaiveDateTime, AppError> {
    Ok(db::now() - chrono::Duration::from_std(policy.window).map_err(AppError::internal)?)
}

/// `side`'s attempts in the window with one of `outcomes`, through its
/// `(…, started_at)` index.
fn attempts<'a>(
    who: &Attempter,
    side: Side,
    outcomes: &[&'a str],
    since: NaiveDateTime,
) -> login_attempts::BoxedQuery<'a, db::Backend> {
    let query = login_attempts::table
        .filter(login_attempts::started_at.gt(since))
        .filter(login_attempts::outcome.eq_any(outcomes.to_vec()))
        .into_boxed();
    match side {
        Side::Username => query.filter(login_attempts::login_key.eq(who.login_key.clone())),
        Side::Address => query.filter(login_attempts::client_ip.eq(who.client_ip.clone())),
    }
}

/// The start of the `n`-th most recent of those attempts: one row read.
fn nth_newest(
    conn: &mut DbConnection,
    who: &Attempter,
    side: Side,
    outcomes: &[&str],
    since: NaiveDateTime,
    n: i64,
) -> Result<Option<NaiveDateTime>, AppError> {
    Ok(attempts(who, side, outcomes, since)
        .select(login_attempts::started_at)
        .order(login_attempts::started_at.desc())
        .offset(n - 1)
        .first(conn)
        .optional()?)
}

/// Seconds to wait on `side`, if its attempts in the window reach the
/// limit: until the oldest of the last `limit` failures leaves the window,
/// or one second when the limit is reached only with attempts still being
/// checked (they settle in moments).
fn wait_for(
    conn: &mut DbConnection,
    policy: &ThrottlePolicy,
    who: &Attempter,
    side: Side,
) -> Result<Option<u64>, AppError> {
    let since = window_start(policy)?;
    let (counted, failures) = side.outcomes();
    let limit = side.limit(policy);
    if nth_newest(conn, who, side, counted, since, limit)?.is_none() {
        return Ok(None);
    }
    let Some(nth_failure) = nth_newest(conn, who, side, failures, since, limit)? else {
        return Ok(Some(1));
    };
    let ends =
        nth_failure + chrono::Duration::from_std(policy.window).map_err(AppError::internal)?;
    let remaining = (ends - db::now()).num_milliseconds().max(0) as u64;
    // Round up: a client that waits exactly Retry-After seconds must get in.
    Ok(Some(remaining.div_ceil(1000).max(1)))
}

/// Seconds to wait, if this username or address is at its limit. A read
/// of one or two index rows a side: the login asks it first, and `admit`
/// again under the locks. A locked username answers without looking at the
/// address (the client may be told the shorter wait; it is asked again).
pub fn retry_after(
    conn: &mut DbConnection,
    policy: &ThrottlePolicy,
    who: &Attempter,
) -> Result<Option<u64>, AppError> {
    match wait_for(conn, policy, who, Side::Username)? {
        Some(wait) => Ok(Some(wait)),
        None => wait_for(conn, policy, who, Side::Address),
    }
}

/// Admit an attempt, or say how many seconds to wait (429). Runs in its own
/// short write transaction, before the password is checked.
pub fn admit(
    tx: &mut WriteTx<'_>,
    policy: &ThrottlePolicy,
    who: &Attempter,
) -> Result<Result<Attempt, u64>, AppError> {
    lock_both(tx, who)?;
    let conn = tx.conn();
    // Attempts that left the window are of no further use to anyone.
    diesel::delete(
        login_attempts::table.filter(login_attempts::started_at.le(window_start(policy)?)),
    )
    .execute(conn)?;
    if let Some(wait) = retry_after(conn, policy, who)? {
        return Ok(Err(wait));
    }
    let attempt = Attempt {
        id: Uuid::now_v7().to_string(),
    };
    insert(conn, &attempt, who, PENDING)?;
    Ok(Ok(attempt))
}

fn insert(
    conn: &mut DbConnection,
    attempt: &Attempt,
    who: &Attempter,
    outcome: &str,
) -> Result<(), AppError> {
    diesel::insert_into(login_attempts::table)
        .values((
            login_attempts::id.eq(&attempt.id),
            login_attempts::login_key.eq(&who.login_key),
            login_attempts::client_ip.eq(&who.client_ip),
            login_attempts::started_at.eq(db::now()),
            login_attempts::outcome.eq(outcome),
        ))
        .execute(conn)?;
    Ok(())
}

fn count(
    conn: &mut DbConnection,
    who: &Attempter,
    side: Side,
    since: NaiveDateTime,
) -> Result<i64, AppError> {
    let (_, failures) = side.outcomes();
    Ok(attempts(who, side, failures, since)
        .count()
        .get_result(conn)?)
}

/// The password was wrong (or the account unknown or inactive): the attempt
/// counts as a failure. Returns the locks this failure started, so that
/// each is audited once. In the caller's write transaction.
pub fn fail(
    tx: &mut WriteTx<'_>,
    policy: &ThrottlePolicy,
    attempt: Attempt,
    who: &Attempter,
) -> Result<Vec<LockScope>, AppError> {
    lock_both(tx, who)?;
    let conn = tx.conn();
    let marked = diesel::update(login_attempts::table.find(&attempt.id))
        .set(login_attempts::outcome.eq(FAILED))
        .execute(conn)?;
    if marked == 0 {
        // Only a check that outlasted the whole window finds its row pruned;
        // the failure still counts, from now.
        insert(conn, &attempt, who, FAILED)?;
    }
    let since = window_start(policy)?;
    let mut started = Vec::new();
    if count(conn, who, Side::Username, since)? == policy.max_per_user {
        started.push(LockScope::Username);
    }
    if count(conn, who, Side::Address, since)? == policy.max_per_client {
        started.push(LockScope::ClientAddress);
    }
    Ok(started)
}

/// The right password: this username's failures are forgiven — for the
/// username; they still count for the addresses they came from — and the
/// attempt is gone. Other attempts still being checked keep counting. In
/// the caller's write transaction.
pub fn succeed(tx: &mut WriteTx<'_>, attempt: Attempt, who: &Attempter) -> Result<(), AppError> {
    lock(tx, who, Side::Username)?;
    let conn = tx.conn();
    diesel::update(
        login_attempts::table
            .filter(login_attempts::login_key.eq(&who.login_key))
            .filter(login_attempts::outcome.eq(FAILED)),
    )
    .set(login_attempts::outcome.eq(FORGIVEN))
    .execute(conn)?;
    diesel::delete(login_attempts::table.find(&attempt.id)).execute(conn)?;
    Ok(())
}

/// The password could not be checked at all (the server was busy): the
/// attempt does not count.
pub fn abandon(conn: &mut DbConnection, attempt: Attempt) -> Result<(), AppError> {
    diesel::delete(login_attempts::table.find(&attempt.id)).execute(conn)?;
    Ok(())
}
