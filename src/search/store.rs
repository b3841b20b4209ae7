//! The name-key index: kept in step with each file, looked up by key.

use diesel::prelude::*;
use uuid::Uuid;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::keys::{file_keys, select_candidates, PROBE_LIMIT, SCORED};
use super::names::named_fields;
use crate::db::schema::{counters, detainees, name_keys};
use crate::db::DbConnection;
use crate::detainees::scope::FileScope;
use crate::detainees::store::DetaineeFilter;
use crate::detainees::Detainee;
use crate::domain::stored_uuid;
use crate::error::AppError;

/// The name fields of a file, as `(field, text)`.
pub fn name_fields(file: &Detainee) -> Vec<(&'static str, &str)> {
    let f = &file.fields;
    named_fields(&f.full_name, f.name_ar.as_deref(), &f.aliases)
}

/// How the keys a file is indexed under are kept on its row.
fn joined(keys: &[String]) -> String {
    keys.join("\n")
}

/// Rows of `name_keys`, a few hundred a statement (under SQLite's limit on
/// bound parameters). A row already there is left alone: two processes
/// starting together may index the same unindexed file.
pub(crate) fn insert_keys(
    conn: &mut DbConnection,
    rows: &[(String, String, String)],
) -> Result<(), AppError> {
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

/// The `name_keys` rows and the `search_keys` column value of a file.
pub(crate) fn index_rows(file: &Detainee) -> (Vec<(String, String, String)>, String) {
    let keys = file_keys(&name_fields(file));
    let organization = file.organization_id.to_string();
    let id = file.id.to_string();
    let rows = keys
        .iter()
        .map(|key| (key.clone(), organization.clone(), id.clone()))
        .collect();
    (rows, joined(&keys))
}

/// Bring the file's keys in line with its current names: the rows it was
/// indexed under (read from its row) go, the new ones come. Call in the
/// transaction that changes the names, after the file row is written.
pub fn index_file(conn: &mut DbConnection, file: &Detainee) -> Result<(), AppError> {
    let id = file.id.to_string();
    let organization = file.organization_id.to_string();
    let indexed: Option<String> = detainees::table
        .find(&id)
        .select(detainees::search_keys)
        .first(conn)?;
    let (rows, now) = index_rows(file);
    if indexed.as_deref() == Some(now.as_str()) {
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
    insert_keys(conn, &rows)?;
    diesel::update(detainees::table.find(&id))
        .set(detainees::search_keys.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Up to `limit` files indexed under `key` and visible in `scope`.
fn postings(
    conn: &mut DbConnection,
    key: &str,
    scope: FileScope,
    limit: usize,
) -> Result<Vec<Uuid>, AppError> {
    let mut query = name_keys::table
        .filter(name_keys::key.eq(key))
        .select(name_keys::detainee_id)
        .into_boxed();
    if let FileScope::Organization(organization) = scope {
        query = query.filter(name_keys::organization_id.eq(organization.to_string()));
    }
    query
        .order((name_keys::organization_id, name_keys::detainee_id))
        .limit(i64::try_from(limit).unwrap_or(i64::MAX))
        .load::<String>(conn)?
        .iter()
        .map(|id| stored_uuid(id))
        .collect()
}

/// Keys found on more than `PROBE_LIMIT` files, by scope (an organisation,
/// or every file), not read again for a while: renames and merges can take
/// a key below the limit again, so the memory lasts ten minutes. Bounded.
#[derive(Default)]
pub struct CommonKeys {
    known: Mutex<HashMap<(Option<Uuid>, String), Instant>>,
}

impl CommonKeys {
    const MAX_REMEMBERED: usize = 100_000;
    const REMEMBERED_FOR: Duration = Duration::from_secs(600);

    fn scope_of(scope: FileScope) -> Option<Uuid> {
        match scope {
            FileScope::Organization(organization) => Some(organization),
            _ => None,
        }
    }

    fn contains(&self, scope: FileScope, key: &str) -> bool {
        self.known
            .lock()
            .map(|known| {
                known
                    .get(&(Self::scope_of(scope), key.to_owned()))
                    .is_some_and(|since| since.elapsed() < Self::REMEMBERED_FOR)
            })
            .unwrap_or(false)
    }

    fn remember(&self, scope: FileScope, key: &str) {
        if let Ok(mut known) = self.known.lock() {
            if known.len() >= Self::MAX_REMEMBERED {
                known.retain(|_, since| since.elapsed() < Self::REMEMBERED_FOR);
            }
            if known.len() < Self::MAX_REMEMBERED {
                known.insert((Self::scope_of(scope), key.to_owned()), Instant::now());
            }
        }
    }
}

/// Candidate files for these keys (`keys::query_keys`), through the index,
/// best first. Other scopes than an organisation's (a reviewer's, an
/// auditor's) are applied when the files are read.
pub fn candidates(
    conn: &mut DbConnection,
    keys: &[String],
    scope: FileScope,
    common: &CommonKeys,
) -> Result<Vec<Uuid>, AppError> {
    select_candidates(keys, |key, limit, must_read| {
        if !must_read && common.contains(scope, key) {
            return Ok(None);
        }
        let files = postings(conn, key, scope, limit)?;
        if files.len() > PROBE_LIMIT {
            common.remember(scope, key);
        }
        Ok(Some(files))
    })
}

/// Read candidates (best first) a round of `SCORED` at a time with `read`,
/// given `filter` narrowed to the round's files (`read` applies it and the
/// caller's scope), until a round's worth passed or none are left: filters
/// and archived files do not empty a search whose first candidates they
/// remove.
pub fn in_rounds<T>(
    candidates: &[Uuid],
    filter: &DetaineeFilter,
    mut read: impl FnMut(&DetaineeFilter) -> Result<Vec<T>, AppError>,
) -> Result<Vec<T>, AppError> {
    let mut passed = Vec::new();
    for round in candidates.chunks(SCORED) {
        let round = DetaineeFilter {
            ids: Some(round.to_vec()),
            ..filter.clone()
        };
        passed.extend(read(&round)?);
        if passed.len() >= SCORED {
            break;
        }
    }
    Ok(passed)
}

/// The form of the keys. Bump it when `names` or `keys` change what a name
/// is indexed under: the next start-up drops the index and rebuilds it.
pub const KEY_VERSION: i64 = 3;

/// Drop an index built by another form of the keys, leaving every file to
/// be indexed again (`index_missing`). Returns whether an older index was
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

/// Index up to `batch` files that are not indexed (created before the index
/// existed, or before its form changed): one read of the files, one
/// multi-row insert of their keys. Returns how many.
pub fn index_missing(conn: &mut DbConnection, batch: i64) -> Result<usize, AppError> {
    let missing: Vec<Uuid> = detainees::table
        .filter(detainees::search_keys.is_null())
        .select(detainees::id)
        .limit(batch)
        .load::<String>(conn)?
        .iter()
        .map(|id| stored_uuid(id))
        .collect::<Result<_, _>>()?;
    if missing.is_empty() {
        return Ok(0);
    }
    let filter = crate::detainees::store::DetaineeFilter {
        ids: Some(missing),
        include_archived: true,
        ..Default::default()
    };
    let files = crate::detainees::store::list(conn, FileScope::All, &filter, None, batch)?;
    let mut rows = Vec::new();
    for file in &files {
        let (keys, search_keys) = index_rows(file);
        rows.extend(keys);
        diesel::update(detainees::table.find(file.id.to_string()))
            .set(detainees::search_keys.eq(search_keys))
            .execute(conn)?;
    }
    insert_keys(conn, &rows)?;
    Ok(files.len())
}
