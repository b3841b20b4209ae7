//! Keeping the name-key index in step with the files.
//!
//! This is the one interface through which the index is maintained: the
//! file store calls it in the transaction that writes a file's names, and it
//! never calls back. It knows a file only as an [`IndexedFile`] — an id, an
//! organisation and names — and keeps two things: the `name_keys` rows, and
//! on the file's row (`detainees.search_keys`) the keys it is indexed under,
//! so that a rename removes exactly the old rows.

use diesel::prelude::*;
use uuid::Uuid;

use super::keys::file_keys;
use crate::db::schema::{counters, detainees, name_keys};
use crate::db::DbConnection;
use crate::domain::stored_uuid;
use crate::error::AppError;

/// What the index needs of a file.
pub struct IndexedFile<'a> {
    pub id: Uuid,
    pub organization_id: Uuid,
    /// `(field, text)`, as `names::named_fields` lists them.
    pub names: Vec<(&'static str, &'a str)>,
}

/// A file's keys, ready to store: the `name_keys` rows and the value of
/// its `search_keys` column.
pub struct FileKeys {
    rows: Vec<(String, String, String)>,
    pub search_keys: String,
}

/// The keys `file` is indexed under.
pub fn keys_of(file: &IndexedFile) -> FileKeys {
    let keys = file_keys(&file.names);
    let organization = file.organization_id.to_string();
    let id = file.id.to_string();
    let rows = keys
        .iter()
        .map(|key| (key.clone(), organization.clone(), id.clone()))
        .collect();
    FileKeys {
        rows,
        search_keys: keys.join("\n"),
    }
}

/// Store `name_keys` rows of files whose rows are written with their
/// `search_keys` in the same transaction (before or after them: no foreign
/// key binds the two), a few hundred rows a statement (under SQLite's limit
/// on bound parameters). A row already there is left alone: two processes
/// starting together may index the same file.
pub fn insert(conn: &mut DbConnection, keys: &[FileKeys]) -> Result<(), AppError> {
    let rows: Vec<_> = keys.iter().flat_map(|k| &k.rows).collect();
    for chunk in rows.chunks(500) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(key, organization, file)| {
                (
                    name_keys::key.eq(key),
                    name_keys::organization_id.eq(organization),
                    name_keys::detainee_id.eq(file),
                )
            })
            .collect();
        crate::insert_rows!(conn, name_keys::table, values, or_ignore)?;
    }
    Ok(())
}

/// Store the `name_keys` rows of files being created in this transaction,
/// under ids made for them, so no row can be there already: a bulk load
/// (`load_rows!`), with none of `insert`'s care for rows that are.
pub fn insert_new(conn: &mut DbConnection, keys: &[FileKeys]) -> Result<(), AppError> {
    let values: Vec<_> = keys
        .iter()
        .flat_map(|k| &k.rows)
        .map(|(key, organization, file)| {
            (
                name_keys::key.eq(key),
                name_keys::organization_id.eq(organization),
                name_keys::detainee_id.eq(file),
            )
        })
        .collect();
    crate::load_rows!(conn, name_keys::table, values, 500)?;
    Ok(())
}

/// Bring the file's keys in line with its current names: the rows it was
/// indexed under (read from its row) go, the new ones come. Call in the
/// transaction that changes the names, after the file row is written.
pub fn update(conn: &mut DbConnection, file: &IndexedFile) -> Result<(), AppError> {
    let id = file.id.to_string();
    let organization = file.organization_id.to_string();
    let indexed: Option<String> = detainees::table
        .find(&id)
        .select(detainees::search_keys)
        .first(conn)?;
    let now = keys_of(file);
    if indexed.as_deref() == Some(now.search_keys.as_str()) {
        return Ok(());
    }
    if let Some(old) = indexed.filter(|old| !old.is_empty()) {
        let old: Vec<&str> = old.split('\n').collect();
        for chunk in old.chunks(500) {
            diesel::delete(
                name_keys::table
                    .filter(name_keys::key.eq_any(chunk))
                    .filter(name_keys::organization_id.eq(&organization))
                    .filter(name_keys::detainee_id.eq(&id)),
            )
            .execute(conn)?;
        }
    }
    record(conn, file.id, &now)?;
    insert(conn, std::slice::from_ref(&now))
}

/// Note on the file's row the keys it is now indexed under.
fn record(conn: &mut DbConnection, id: Uuid, keys: &FileKeys) -> Result<(), AppError> {
    diesel::update(detainees::table.find(id.to_string()))
        .set(detainees::search_keys.eq(&keys.search_keys))
        .execute(conn)?;
    Ok(())
}

/// Up to `batch` files that are not indexed: created before the index
/// existed, or before its form changed (`retire_old_keys`).
pub fn unindexed(conn: &mut DbConnection, batch: i64) -> Result<Vec<Uuid>, AppError> {
    detainees::table
        .filter(detainees::search_keys.is_null())
        .select(detainees::id)
        .limit(batch)
        .load::<String>(conn)?
        .iter()
        .map(|id| stored_uuid(id))
        .collect()
}

/// Index files that are not indexed yet: one multi-row insert of their keys.
pub fn add(conn: &mut DbConnection, files: &[IndexedFile]) -> Result<(), AppError> {
    let mut all = Vec::with_capacity(files.len());
    for file in files {
        let keys = keys_of(file);
        record(conn, file.id, &keys)?;
        all.push(keys);
    }
    insert(conn, &all)
}

/// The form of the keys. Bump it when `names` or `keys` change what a name
/// is indexed under: the next start-up drops the index and rebuilds it.
pub const KEY_VERSION: i64 = 3;

/// Drop an index built by another form of the keys, leaving every file to
/// be indexed again (`unindexed`). Returns whether an older index was
/// dropped (a new database just records the form).
pub fn retire_old_keys(conn: &mut DbConnection) -> Result<bool, AppError> {
    const COUNTER: &str = "name_key_version";
    let stored: Option<i64> = counters::table
        .find(COUNTER)
        .select(counters::value)
        .first(conn)
        .optional()?;
    if stored == Some(KEY_VERSION) {
        return Ok(false);
    }
    diesel::delete(name_keys::table).execute(conn)?;
    diesel::update(detainees::table.filter(detainees::search_keys.is_not_null()))
        .set(detainees::search_keys.eq(None::<String>))
        .execute(conn)?;
    if stored.is_some() {
        diesel::update(counters::table.find(COUNTER))
            .set(counters::value.eq(KEY_VERSION))
            .execute(conn)?;
    } else {
        diesel::insert_into(counters::table)
            .values((counters::name.eq(COUNTER), counters::value.eq(KEY_VERSION)))
            .execute(conn)?;
    }
    Ok(stored.is_some())
}
