//! Check values of the secret keys whose output the database keeps (a
//! fingerprint key's MACs, a sealing key's ciphertexts): the first process
//! to start on a database records its key's check value; every later one
//! must present the same, or it refuses to start. A check value says which
//! key it is and nothing of the key.

use diesel::prelude::*;

use std::path::Path;

use super::schema::key_checks;
use super::Database;
use crate::error::AppError;
use crate::keys::{self, KeyError};
use crate::sealing::SealingKey;

/// The check value recorded for `purpose`, if any.
pub fn recorded(db: &Database, purpose: &'static str) -> Result<Option<String>, AppError> {
    db.read_blocking(move |conn| {
        Ok(key_checks::table
            .find(purpose)
            .select(key_checks::check_value)
            .first::<String>(conn)
            .optional()?)
    })
}

/// Record `value` as the check value of `purpose`, replacing any (the
/// switch of a key rotation), in the caller's transaction.
pub fn replace(
    conn: &mut super::DbConnection,
    purpose: &'static str,
    value: &str,
) -> Result<(), AppError> {
    forget(conn, purpose)?;
    let row = (
        key_checks::purpose.eq(purpose),
        key_checks::check_value.eq(value),
    );
    crate::insert_rows!(conn, key_checks::table, &[row][..])?;
    Ok(())
}

/// Forget the check value of `purpose`, in the caller's transaction.
pub fn forget(conn: &mut super::DbConnection, purpose: &'static str) -> Result<(), AppError> {
    diesel::delete(key_checks::table.find(purpose)).execute(conn)?;
    Ok(())
}

/// Record `mine` as the check value of `purpose` if none is recorded yet;
/// `true` when the recorded value is `mine`.
pub fn agrees(db: &Database, purpose: &'static str, mine: &str) -> Result<bool, AppError> {
    let mine = mine.to_owned();
    db.write_blocking(move |tx| {
        let conn = tx.conn();
        let row = (
            key_checks::purpose.eq(purpose),
            key_checks::check_value.eq(&mine),
        );
        crate::insert_rows!(conn, key_checks::table, &[row][..], or_ignore)?;
        let recorded = key_checks::table
            .find(purpose)
            .select(key_checks::check_value)
            .first::<String>(conn)?;
        Ok(recorded == mine)
    })
}

/// The key at `path` (64 hex digits), generated there on first start,
/// checked against the key the database was set up with for `purpose`:
/// values sealed under one key must never sit beside values sealed
/// under another that no process can open.
pub fn sealing_key(
    path: &Path,
    db: &Database,
    purpose: &'static str,
    setting: &str,
) -> Result<SealingKey, KeyError> {
    let key = SealingKey::new(keys::load_or_generate_secret(path)?);
    let error = |message: String| KeyError::File {
        path: path.display().to_string(),
        message,
    };
    let agrees = agrees(db, purpose, key.check_value())
        .map_err(|e| error(format!("cannot check it against the database: {e:?}")))?;
    if !agrees {
        return Err(error(format!(
            "this is not the key this database's {purpose} were sealed with (this key's id \
             is {}). Every server and command on one database must use the same key file: \
             restore it, or point {setting} at it. Without it the sealed values cannot be \
             opened; see docs/security.md (\"Keys\")",
            key.id()
        )));
    }
    Ok(key)
}
