//! Looking files up in the name-key index (`super::index` keeps it).

use diesel::prelude::*;
use uuid::Uuid;

use super::common_keys::CommonKeys;
use super::keys::{select_candidates, PROBE_LIMIT, SCORED};
use crate::db::schema::name_keys;
use crate::db::DbConnection;
use crate::detainees::scope::FileScope;
use crate::detainees::store::DetaineeFilter;
use crate::domain::stored_uuid;
use crate::error::AppError;

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

/// Candidate files for these keys (`keys::query_keys`), through the index,
/// best first. Other scopes than an organisation's (a reviewer's, an
/// auditor's) are applied when the files are read.
pub fn candidates(
    conn: &mut DbConnection,
    keys: &[String],
    scope: FileScope,
    common: &CommonKeys,
) -> Result<Vec<Uuid>, AppError> {
    let common_scope = match scope {
        FileScope::Organization(organization) => Some(organization),
        _ => None,
    };
    select_candidates(keys, |key, limit, must_read| {
        if !must_read && common.contains(common_scope, key) {
            return Ok(None);
        }
        let files = postings(conn, key, scope, limit)?;
        if files.len() > PROBE_LIMIT {
            common.remember(common_scope, key);
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
