//! Check values of the secret keys whose output the database keeps (a
//! fingerprint key's MACs, a sealing key's ciphertexts): the first process
//! to start on a database records its key's check value; every later one
//! must present the same, or it refuses to start. A check value says which
//! key it is and nothing of the key.

use diesel::prelude::*;

use super::schema::key_checks;
use super::Database;
use crate::error::AppError;

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
