//! Second-factor credentials, recovery codes and login challenges in the
//! database. Every use of a code is a conditional update that only one
//! request can win: a code (its time step) or a recovery code, and a
//! challenge's `mfa_token`, each work once, on both engines, however many
//! requests present them at the same moment.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::SecondFactor;
use crate::auth::tokens;
use crate::db::schema::{mfa_challenges, recovery_codes, sessions, totp_credentials};
use crate::db::{self, DbConnection, WriteTx};
use crate::domain::stored_uuid;
use crate::error::AppError;

/// An account's TOTP credential.
#[derive(Debug, Clone)]
pub struct Credential {
    pub id: String,
    pub user_id: Uuid,
    pub secret_sealed: String,
    pub confirmed_at: Option<NaiveDateTime>,
    pub last_used_step: Option<i64>,
}

impl Credential {
    pub fn confirmed(&self) -> bool {
        self.confirmed_at.is_some()
    }
}

type CredentialRow = (String, String, String, Option<NaiveDateTime>, Option<i64>);

fn credential_of(row: CredentialRow) -> Result<Credential, AppError> {
    let (id, user_id, secret_sealed, confirmed_at, last_used_step) = row;
    Ok(Credential {
        id,
        user_id: stored_uuid(&user_id)?,
        secret_sealed,
        confirmed_at,
        last_used_step,
    })
}

/// The account's credential, pending or confirmed.
pub fn credential(conn: &mut DbConnection, user_id: Uuid) -> Result<Option<Credential>, AppError> {
    totp_credentials::table
        .find(user_id.to_string())
        .select((
            totp_credentials::id,
            totp_credentials::user_id,
            totp_credentials::secret_sealed,
            totp_credentials::confirmed_at,
            totp_credentials::last_used_step,
        ))
        .first::<CredentialRow>(conn)
        .optional()?
        .map(credential_of)
        .transpose()
}

/// The account's credential, with the account locked until the end of the
/// transaction. The lock is the account's row, not the credential's: an
/// account row is never deleted, while a credential is replaced by a new
/// enrolment (a lock taken on the old row would not cover the new one).
/// It is also the order every transaction that touches an account's
/// second factor and its sessions keeps — the account, then its
/// credential, then its challenges — as a deactivation or a password reset
/// does (the account's row, then its sessions and challenges), so none
/// waits for another in a cycle.
pub fn lock_credential(
    tx: &mut WriteTx<'_>,
    user_id: Uuid,
) -> Result<Option<Credential>, AppError> {
    db::lock_row(tx, "users", &user_id.to_string())?;
    credential(tx.conn(), user_id)
}

/// Replace a pending credential (or none) with a new pending one; returns its id.
pub fn start(tx: &mut WriteTx<'_>, user_id: Uuid, secret_sealed: &str) -> Result<String, AppError> {
    let conn = tx.conn();
    diesel::delete(totp_credentials::table.find(user_id.to_string())).execute(conn)?;
    let id = Uuid::now_v7().to_string();
    diesel::insert_into(totp_credentials::table)
        .values((
            totp_credentials::user_id.eq(user_id.to_string()),
            totp_credentials::id.eq(&id),
            totp_credentials::secret_sealed.eq(secret_sealed),
            totp_credentials::created_at.eq(db::now()),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Confirm a pending credential with the step of its first code, and
/// store its recovery codes' hashes. `false` if it is no longer pending.
pub fn confirm(
    tx: &mut WriteTx<'_>,
    credential_id: &str,
    step: i64,
    recovery_hashes: &[String],
) -> Result<bool, AppError> {
    let conn = tx.conn();
    let confirmed = diesel::update(
        totp_credentials::table
            .filter(totp_credentials::id.eq(credential_id))
            .filter(totp_credentials::confirmed_at.is_null()),
    )
    .set((
        totp_credentials::confirmed_at.eq(db::now()),
        totp_credentials::last_used_step.eq(step),
    ))
    .execute(conn)?;
    if confirmed == 0 {
        return Ok(false);
    }
    let rows: Vec<_> = recovery_hashes
        .iter()
        .map(|hash| {
            (
                recovery_codes::id.eq(Uuid::now_v7().to_string()),
                recovery_codes::credential_id.eq(credential_id),
                recovery_codes::code_hash.eq(hash),
            )
        })
        .collect();
    crate::insert_rows!(conn, recovery_codes::table, &rows[..])?;
    Ok(true)
}

/// Accept the code of `step` for a confirmed credential, unless a code of
/// this step or a later one was accepted already (a replay, or a race with
/// another request presenting it): then `false`.
pub fn use_step(tx: &mut WriteTx<'_>, credential_id: &str, step: i64) -> Result<bool, AppError> {
    let used = diesel::update(
        totp_credentials::table
            .filter(totp_credentials::id.eq(credential_id))
            .filter(totp_credentials::confirmed_at.is_not_null())
            .filter(
                totp_credentials::last_used_step
                    .is_null()
                    .or(totp_credentials::last_used_step.lt(step)),
            ),
    )
    .set(totp_credentials::last_used_step.eq(step))
    .execute(tx.conn())?;
    Ok(used == 1)
}

/// The unused recovery codes of a credential: `(id, hash)`.
pub fn unused_recovery_codes(
    conn: &mut DbConnection,
    credential_id: &str,
) -> Result<Vec<(String, String)>, AppError> {
    Ok(recovery_codes::table
        .filter(recovery_codes::credential_id.eq(credential_id))
        .filter(recovery_codes::used_at.is_null())
        .order(recovery_codes::id)
        .select((recovery_codes::id, recovery_codes::code_hash))
        .load(conn)?)
}

/// Use a recovery code, unless it was used already (then `false`).
pub fn use_recovery_code(
    tx: &mut WriteTx<'_>,
    credential_id: &str,
    code_id: &str,
) -> Result<bool, AppError> {
    let used = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::id.eq(code_id))
            .filter(recovery_codes::credential_id.eq(credential_id))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(db::now()))
    .execute(tx.conn())?;
    Ok(used == 1)
}

pub fn recovery_codes_left(conn: &mut DbConnection, credential_id: &str) -> Result<i64, AppError> {
    Ok(recovery_codes::table
        .filter(recovery_codes::credential_id.eq(credential_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?)
}

/// Remove the account's credential (pending or confirmed), its recovery
/// codes and the logins waiting for a code; returns what was removed.
pub fn remove(tx: &mut WriteTx<'_>, user_id: Uuid) -> Result<Option<Credential>, AppError> {
    let Some(credential) = lock_credential(tx, user_id)? else {
        return Ok(None);
    };
    let conn = tx.conn();
    diesel::delete(recovery_codes::table.filter(recovery_codes::credential_id.eq(&credential.id)))
        .execute(conn)?;
    end_challenges(conn, user_id)?;
    diesel::delete(totp_credentials::table.find(user_id.to_string())).execute(conn)?;
    Ok(Some(credential))
}

/// Record how the session's login was proven (`None`: the password alone).
pub fn set_session_factor(
    tx: &mut WriteTx<'_>,
    session_id: Uuid,
    factor: Option<SecondFactor>,
) -> Result<(), AppError> {
    diesel::update(sessions::table.find(session_id.to_string()))
        .set(sessions::second_factor.eq(factor.map(SecondFactor::as_str)))
        .execute(tx.conn())?;
    Ok(())
}

/// End the account's live sessions that were proven by its password alone,
/// but `keep`: once an account has a second factor, a session opened
/// without one (perhaps by whoever made its owner enrol) must not outlive
/// it. Returns how many ended.
pub fn end_password_only_sessions(
    tx: &mut WriteTx<'_>,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> Result<usize, AppError> {
    let keep = keep.map(|id| id.to_string()).unwrap_or_default();
    Ok(diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id.to_string()))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::second_factor.is_null())
            .filter(sessions::id.ne(keep)),
    )
    .set((
        sessions::revoked_at.eq(db::now()),
        sessions::revoked_reason.eq("mfa_enrolled"),
    ))
    .execute(tx.conn())?)
}

/// Every live session of the account is now proven by its password alone
/// (its second factor was disabled).
pub fn forget_sessions_factor(tx: &mut WriteTx<'_>, user_id: Uuid) -> Result<(), AppError> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id.to_string()))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::second_factor.eq(None::<String>))
    .execute(tx.conn())?;
    Ok(())
}

// ------------------------------------------------------------- challenges

/// A login whose password was right, waiting for its code.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub token_hash: String,
    pub user_id: Uuid,
    pub user_version: i64,
    pub credential_id: String,
    pub login_key: String,
    pub client_ip: String,
    pub expires_at: NaiveDateTime,
    pub used: bool,
}

impl Challenge {
    pub fn live(&self) -> bool {
        !self.used && self.expires_at > db::now()
    }
}

/// Everything a challenge is bound to.
pub struct NewChallenge<'a> {
    pub user_id: Uuid,
    pub user_version: i64,
    pub credential_id: &'a str,
    pub login_key: &'a str,
    pub client_ip: &'a str,
    pub lifetime: std::time::Duration,
}

/// Record a challenge; returns its `mfa_token` (in clear, once). The
/// account's challenges that ended are removed on the way (only its own:
/// another account's may be locked by its login at this moment).
pub fn create_challenge(tx: &mut WriteTx<'_>, new: NewChallenge<'_>) -> Result<String, AppError> {
    let conn = tx.conn();
    let now = db::now();
    diesel::delete(
        mfa_challenges::table
            .filter(mfa_challenges::user_id.eq(new.user_id.to_string()))
            .filter(
                mfa_challenges::expires_at
                    .le(now)
                    .or(mfa_challenges::used_at.is_not_null()),
            ),
    )
    .execute(conn)?;
    let (token, hash) = tokens::new_opaque_token(tokens::MFA_TOKEN_PREFIX);
    let lifetime = chrono::Duration::from_std(new.lifetime).map_err(AppError::internal)?;
    diesel::insert_into(mfa_challenges::table)
        .values((
            mfa_challenges::token_hash.eq(&hash),
            mfa_challenges::user_id.eq(new.user_id.to_string()),
            mfa_challenges::user_version.eq(new.user_version),
            mfa_challenges::credential_id.eq(new.credential_id),
            mfa_challenges::login_key.eq(new.login_key),
            mfa_challenges::client_ip.eq(new.client_ip),
            mfa_challenges::created_at.eq(now),
            mfa_challenges::expires_at.eq(now + lifetime),
        ))
        .execute(conn)?;
    Ok(token)
}

fn challenge_by_hash(conn: &mut DbConnection, hash: &str) -> Result<Option<Challenge>, AppError> {
    let row = mfa_challenges::table
        .find(hash)
        .select((
            mfa_challenges::token_hash,
            mfa_challenges::user_id,
            mfa_challenges::user_version,
            mfa_challenges::credential_id,
            mfa_challenges::login_key,
            mfa_challenges::client_ip,
            mfa_challenges::expires_at,
            mfa_challenges::used_at,
        ))
        .first::<(
            String,
            String,
            i64,
            String,
            String,
            String,
            NaiveDateTime,
            Option<NaiveDateTime>,
        )>(conn)
        .optional()?;
    row.map(
        |(
            token_hash,
            user_id,
            user_version,
            credential_id,
            login_key,
            client_ip,
            expires_at,
            used_at,
        )| {
            Ok(Challenge {
                token_hash,
                user_id: stored_uuid(&user_id)?,
                user_version,
                credential_id,
                login_key,
                client_ip,
                expires_at,
                used: used_at.is_some(),
            })
        },
    )
    .transpose()
}

/// The challenge of an `mfa_token`, whatever its state.
pub fn find_challenge(conn: &mut DbConnection, token: &str) -> Result<Option<Challenge>, AppError> {
    challenge_by_hash(conn, &tokens::opaque_token_hash(token))
}

/// The same, locked until the end of the transaction (read again: it may
/// have been used since it was first read).
pub fn lock_challenge(
    tx: &mut WriteTx<'_>,
    token_hash: &str,
) -> Result<Option<Challenge>, AppError> {
    db::lock_row_by(tx, "mfa_challenges", "token_hash", token_hash)?;
    challenge_by_hash(tx.conn(), token_hash)
}

/// Mark a locked, live challenge used.
pub fn use_challenge(tx: &mut WriteTx<'_>, token_hash: &str) -> Result<bool, AppError> {
    let used = diesel::update(
        mfa_challenges::table
            .filter(mfa_challenges::token_hash.eq(token_hash))
            .filter(mfa_challenges::used_at.is_null()),
    )
    .set(mfa_challenges::used_at.eq(db::now()))
    .execute(tx.conn())?;
    Ok(used == 1)
}

/// End the logins of an account still waiting for a code (its password was
/// reset, it was deactivated, its second factor removed).
pub fn end_challenges(conn: &mut DbConnection, user_id: Uuid) -> Result<usize, AppError> {
    Ok(diesel::delete(
        mfa_challenges::table.filter(mfa_challenges::user_id.eq(user_id.to_string())),
    )
    .execute(conn)?)
}
