//! The data key: what `source_notes` (informants, sources) and attachment
//! contents are encrypted under at rest. It lives in a file
//! (`SIJILL_DATA_KEY_FILE`, generated into the data directory when absent),
//! never in the database, so a copy of the database or of the attachment
//! store alone reveals neither (docs/security.md, "Encryption at rest").
//!
//! The [`Database`] carries the key and holds it for the thread that runs
//! each of its calls ([`Held`]), so the detainee store seals and opens
//! `source_notes` at the one place a row becomes a file and back, and no
//! route, import or export can forget to: without a key in scope the store
//! refuses to read or write the field at all (an internal error, never
//! clear text).

pub mod rotate;

use std::sync::Arc;

use diesel::prelude::*;

use crate::config::Settings;
use crate::db::schema::{attachment_objects, detainees};
use crate::db::{key_checks, Database, DbConnection};
use crate::error::AppError;
use crate::keys::KeyError;
use crate::sealing::{Held, SealError, SealingKey};

/// The purpose the data key's check value is recorded under.
pub const KEY_CHECK: &str = "encrypted data";
/// Recorded while `sijill keys rotate` is re-encrypting under a new key.
pub const NEXT_KEY_CHECK: &str = "data key (rotation in progress)";
const SETTING: &str = "SIJILL_DATA_KEY_FILE";

/// The data key held for this thread (`sealing::Held`).
pub fn current() -> Result<Arc<SealingKey>, AppError> {
    Held::current()
        .ok_or_else(|| AppError::internal_msg("no data key is held for this database call"))
}

/// The key at `settings.data_key_file`, generated there on first start and
/// checked against the one the database was set up with. A start while a
/// rotation is unfinished is refused: values under two keys sit side by
/// side until `sijill keys rotate` ends it.
pub fn load(settings: &Settings, db: &Database) -> Result<Arc<SealingKey>, KeyError> {
    let path = &settings.data_key_file;
    let rotating = key_checks::recorded(db, NEXT_KEY_CHECK).map_err(|e| KeyError::File {
        path: path.display().to_string(),
        message: format!("cannot read the key checks: {e:?}"),
    })?;
    if rotating.is_some() {
        return Err(KeyError::File {
            path: path.display().to_string(),
            message: "a data key rotation is unfinished: run `sijill keys rotate` again to \
                      finish it before starting anything else on this database"
                .to_owned(),
        });
    }
    key_checks::sealing_key(path, db, KEY_CHECK, SETTING).map(Arc::new)
}

/// What `source_notes` of file `file_id` are bound to: a sealed value moved
/// into another file's row does not open there.
fn notes_context(file_id: &str) -> Vec<u8> {
    let mut context = b"source_notes\0".to_vec();
    context.extend_from_slice(file_id.as_bytes());
    context
}

/// `source_notes` of a file as stored: sealed under the data key in scope.
pub fn seal_notes(file_id: &str, notes: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(notes) = notes else {
        return Ok(None);
    };
    current()?
        .seal(notes.as_bytes(), &notes_context(file_id))
        .map(Some)
        .map_err(AppError::internal)
}

/// `source_notes` of a file as written: opened with the data key in scope.
/// A value that does not open (altered, moved from another row, sealed
/// under a key this server does not hold) is an internal error, never
/// shown as something else.
pub fn open_notes(file_id: &str, stored: Option<String>) -> Result<Option<String>, AppError> {
    let Some(stored) = stored else {
        return Ok(None);
    };
    let plain = current()?
        .open(&stored, &notes_context(file_id))
        .map_err(|e| AppError::internal_msg(format!("source_notes of file {file_id}: {e}")))?;
    String::from_utf8(plain)
        .map(Some)
        .map_err(|_| AppError::internal_msg(format!("source_notes of file {file_id}: not UTF-8")))
}

/// Seal `source_notes` written before they were encrypted (databases from
/// before this change), a batch a transaction; then rewrite the table so
/// that the clear text does not linger in free pages (SQLite: `VACUUM`
/// and a WAL checkpoint) or dead row versions (PostgreSQL: `VACUUM FULL`).
/// Returns how many. Backups and WAL archives made before keep it:
/// docs/security.md says so.
pub fn seal_clear_notes(db: &Database) -> Result<usize, AppError> {
    let sealed = seal_each_clear_note(db)?;
    if sealed > 0 {
        db.read_blocking(|conn| {
            use diesel::connection::SimpleConnection;
            let rewrite = match conn {
                DbConnection::Sqlite(_) => "VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
                DbConnection::Postgresql(_) => "VACUUM FULL detainees;",
            };
            conn.batch_execute(rewrite)?;
            Ok(())
        })?;
    }
    Ok(sealed)
}

fn seal_each_clear_note(db: &Database) -> Result<usize, AppError> {
    let prefix = format!("{}%", crate::sealing::PREFIX);
    let mut total = 0;
    loop {
        let prefix = prefix.clone();
        let sealed = db.write_blocking(move |tx| {
            let conn = tx.conn();
            let rows: Vec<(String, Option<String>)> = detainees::table
                .filter(detainees::source_notes.is_not_null())
                .filter(detainees::source_notes.not_like(&prefix))
                .select((detainees::id, detainees::source_notes))
                .order(detainees::id)
                .limit(500)
                .load(conn)?;
            for (id, notes) in &rows {
                let sealed = seal_notes(id, notes.as_deref())?;
                diesel::update(detainees::table.find(id))
                    .set(detainees::source_notes.eq(sealed))
                    .execute(conn)?;
            }
            Ok(rows.len())
        })?;
        total += sealed;
        if sealed == 0 {
            return Ok(total);
        }
    }
}

/// Re-seal the `source_notes` sealed under `from` with `to`, a batch a
/// transaction (`sijill keys rotate`; resumable: what is done stays done).
/// Returns how many.
pub fn reseal_notes(
    db: &Database,
    from: &SealingKey,
    to: &Arc<SealingKey>,
) -> Result<usize, AppError> {
    let under_old = format!("{}{}:%", crate::sealing::PREFIX, from.id());
    let mut total = 0;
    loop {
        let under_old = under_old.clone();
        let batch = db.write_blocking(|tx| {
            let conn = tx.conn();
            let rows: Vec<(String, Option<String>)> = detainees::table
                .filter(detainees::source_notes.like(&under_old))
                .select((detainees::id, detainees::source_notes))
                .order(detainees::id)
                .limit(500)
                .load(conn)?;
            let _held = Held::enter(Some(to));
            for (id, stored) in &rows {
                let plain = match stored {
                    Some(stored) => {
                        from.open(stored, &notes_context(id))
                            .map_err(|e: SealError| {
                                AppError::internal_msg(format!("source_notes of file {id}: {e}"))
                            })?
                    }
                    None => continue,
                };
                let plain = String::from_utf8(plain).map_err(AppError::internal)?;
                let sealed = seal_notes(id, Some(&plain))?;
                diesel::update(detainees::table.find(id))
                    .set(detainees::source_notes.eq(sealed))
                    .execute(conn)?;
            }
            Ok(rows.len())
        })?;
        total += batch;
        if batch == 0 {
            return Ok(total);
        }
    }
}

/// The files whose `source_notes` under `key` do not open (altered, or
/// moved from another row).
pub fn unreadable_notes(db: &Database, key: &SealingKey) -> Result<Vec<String>, AppError> {
    let under = format!("{}{}:%", crate::sealing::PREFIX, key.id());
    let mut unreadable = Vec::new();
    let mut after = String::new();
    loop {
        let (under, from) = (under.clone(), after.clone());
        let rows: Vec<(String, Option<String>)> = db.read_blocking(move |conn| {
            Ok(detainees::table
                .filter(detainees::source_notes.like(&under))
                .filter(detainees::id.gt(&from))
                .select((detainees::id, detainees::source_notes))
                .order(detainees::id)
                .limit(1000)
                .load(conn)?)
        })?;
        let Some((last, _)) = rows.last() else {
            return Ok(unreadable);
        };
        after = last.clone();
        for (id, stored) in rows {
            let opens = stored.is_some_and(|s| key.open(&s, &notes_context(&id)).is_ok());
            if !opens {
                unreadable.push(id);
            }
        }
    }
}

/// How many values are encrypted under key `key_id`: source notes and
/// attachment objects.
pub fn left_under(conn: &mut DbConnection, key_id: &str) -> Result<i64, AppError> {
    let notes: i64 = detainees::table
        .filter(detainees::source_notes.like(format!("{}{key_id}:%", crate::sealing::PREFIX)))
        .count()
        .get_result(conn)?;
    let objects: i64 = attachment_objects::table
        .filter(attachment_objects::key_id.eq(key_id))
        .count()
        .get_result(conn)?;
    Ok(notes + objects)
}
