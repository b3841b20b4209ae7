//! Sessions and refresh tokens, kept in the database so that every server
//! process sees a logout, a deactivation or a revoked session at once.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::mfa::SecondFactor;
use super::tokens;
use crate::db::schema::{refresh_tokens, sessions, users};
use crate::db::{self, DbConnection};
use crate::domain::stored_uuid;
use crate::error::AppError;
use crate::users::store::UserRow;
use crate::users::User;

/// The account behind a session, if the session is live and the account
/// active, and how the session's login was proven beyond the password.
pub fn live_session_user(
    conn: &mut DbConnection,
    session_id: Uuid,
    user_id: Uuid,
) -> Result<Option<(User, Option<SecondFactor>)>, AppError> {
    let row = sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(session_id.to_string()))
        .filter(sessions::user_id.eq(user_id.to_string()))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(db::now()))
        .filter(users::active.eq(true))
        .select((UserRow::as_select(), sessions::second_factor))
        .first::<(UserRow, Option<String>)>(conn)
        .optional()?;
    row.map(|(user, factor)| Ok((User::try_from(user)?, SecondFactor::stored(factor)?)))
        .transpose()
}

/// Start a session; returns its id and its first refresh token (in clear, once).
pub fn create_session(
    conn: &mut DbConnection,
    user_id: Uuid,
    client_ip: Option<&str>,
    lifetime: std::time::Duration,
    second_factor: Option<SecondFactor>,
) -> Result<(Uuid, String), AppError> {
    let now = db::now();
    let expires_at = now + chrono::Duration::from_std(lifetime).map_err(AppError::internal)?;
    let id = Uuid::now_v7();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id.to_string()),
            sessions::user_id.eq(user_id.to_string()),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(expires_at),
            sessions::client_ip.eq(client_ip),
            sessions::second_factor.eq(second_factor.map(SecondFactor::as_str)),
        ))
        .execute(conn)?;
    let refresh = issue_refresh_token(conn, id, expires_at)?;
    Ok((id, refresh))
}

/// A new refresh token for the session, valid until the session ends.
pub fn issue_refresh_token(
    conn: &mut DbConnection,
    session_id: Uuid,
    expires_at: NaiveDateTime,
) -> Result<String, AppError> {
    let (token, hash) = tokens::new_refresh_token();
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(hash),
            refresh_tokens::session_id.eq(session_id.to_string()),
            refresh_tokens::issued_at.eq(db::now()),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(token)
}

/// What a presented refresh token turns out to be.
pub struct RefreshLookup {
    pub session_id: Uuid,
    pub session_expires_at: NaiveDateTime,
    pub session_live: bool,
    pub token_expired: bool,
    pub already_used: bool,
    pub user: User,
}

pub fn find_refresh_token(
    conn: &mut DbConnection,
    token: &str,
) -> Result<Option<RefreshLookup>, AppError> {
    let hash = tokens::refresh_token_hash(token);
    let row = refresh_tokens::table
        .inner_join(sessions::table.inner_join(users::table))
        .filter(refresh_tokens::token_hash.eq(hash))
        .select((
            refresh_tokens::session_id,
            refresh_tokens::expires_at,
            refresh_tokens::used_at,
            sessions::expires_at,
            sessions::revoked_at,
            UserRow::as_select(),
        ))
        .first::<(
            String,
            NaiveDateTime,
            Option<NaiveDateTime>,
            NaiveDateTime,
            Option<NaiveDateTime>,
            UserRow,
        )>(conn)
        .optional()?;
    let Some((session_id, token_expires, used_at, session_expires, revoked_at, user)) = row else {
        return Ok(None);
    };
    let now = db::now();
    let user = User::try_from(user)?;
    Ok(Some(RefreshLookup {
        session_id: stored_uuid(&session_id)?,
        session_expires_at: session_expires,
        session_live: revoked_at.is_none() && session_expires > now && user.active,
        token_expired: token_expires <= now,
        already_used: used_at.is_some(),
        user,
    }))
}

/// Mark the token used, unless a concurrent request already did (then `false`).
pub fn consume_refresh_token(conn: &mut DbConnection, token: &str) -> Result<bool, AppError> {
    let hash = tokens::refresh_token_hash(token);
    let updated = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(hash))
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(db::now()))
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn revoke_session(
    conn: &mut DbConnection,
    session_id: Uuid,
    reason: &str,
) -> Result<bool, AppError> {
    let updated = diesel::update(
        sessions::table
            .filter(sessions::id.eq(session_id.to_string()))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(db::now()),
        sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// End every live session of an account, and its logins still waiting
/// for a second factor; returns how many sessions were live.
pub fn revoke_user_sessions(
    conn: &mut DbConnection,
    user_id: Uuid,
    reason: &str,
) -> Result<usize, AppError> {
    super::mfa::store::end_challenges(conn, user_id)?;
    Ok(diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id.to_string()))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(db::now()),
        sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)?)
}
