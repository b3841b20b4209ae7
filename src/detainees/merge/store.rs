//! The rows a merge writes besides the two files: the custody records that
//! move, and the `merges` record that lets `unmerge` put everything back.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::Snapshot;
use crate::db::schema::{custody_events, merges};
use crate::db::DbConnection;
use crate::error::AppError;

/// Move every custody record of `from` to `to`; returns the ids moved.
pub fn move_custody(
    conn: &mut DbConnection,
    from: Uuid,
    to: Uuid,
) -> Result<Vec<String>, AppError> {
    let moved = crate::detainees::custody::ids_of(conn, from)?;
    diesel::update(custody_events::table.filter(custody_events::detainee_id.eq(from.to_string())))
        .set(custody_events::detainee_id.eq(to.to_string()))
        .execute(conn)?;
    Ok(moved)
}

/// Give the custody records `ids` back to `to` (an unmerge).
pub fn return_custody(conn: &mut DbConnection, ids: &[String], to: Uuid) -> Result<(), AppError> {
    diesel::update(custody_events::table.filter(custody_events::id.eq_any(ids)))
        .set(custody_events::detainee_id.eq(to.to_string()))
        .execute(conn)?;
    Ok(())
}

/// A merge not undone yet: what `unmerge` needs to put things back.
pub struct MergeRecord {
    pub id: String,
    /// The survivor before the merge.
    pub before: Snapshot,
    /// The survivor's version right after the merge: any other means it was
    /// edited since.
    pub survivor_version: i64,
    /// The custody records that moved to the survivor.
    pub moved_custody: Vec<String>,
}

/// What a merge did, as recorded.
pub struct NewMerge<'a> {
    pub survivor_id: Uuid,
    pub duplicate_id: Uuid,
    pub before: &'a Snapshot,
    pub survivor_version: i64,
    pub moved_custody: &'a [String],
    pub merged_at: DateTime<Utc>,
    pub merged_by: Uuid,
}

pub fn record(conn: &mut DbConnection, merge: NewMerge<'_>) -> Result<(), AppError> {
    fn json(value: &impl serde::Serialize) -> Result<String, AppError> {
        serde_json::to_string(value).map_err(AppError::internal)
    }
    diesel::insert_into(merges::table)
        .values((
            merges::id.eq(Uuid::now_v7().to_string()),
            merges::survivor_id.eq(merge.survivor_id.to_string()),
            merges::duplicate_id.eq(merge.duplicate_id.to_string()),
            merges::survivor_before.eq(json(merge.before)?),
            merges::survivor_version.eq(merge.survivor_version),
            merges::moved_custody.eq(json(&merge.moved_custody)?),
            merges::merged_at.eq(merge.merged_at.naive_utc()),
            merges::merged_by.eq(merge.merged_by.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The latest merge of `duplicate_id` into `survivor_id` not undone yet.
pub fn find_open(
    conn: &mut DbConnection,
    survivor_id: Uuid,
    duplicate_id: Uuid,
) -> Result<Option<MergeRecord>, AppError> {
    let row: Option<(String, String, i64, String)> = merges::table
        .filter(merges::survivor_id.eq(survivor_id.to_string()))
        .filter(merges::duplicate_id.eq(duplicate_id.to_string()))
        .filter(merges::unmerged_at.is_null())
        .select((
            merges::id,
            merges::survivor_before,
            merges::survivor_version,
            merges::moved_custody,
        ))
        .order(merges::id.desc())
        .first(conn)
        .optional()?;
    row.map(|(id, before, survivor_version, moved)| {
        Ok(MergeRecord {
            id,
            before: serde_json::from_str(&before).map_err(AppError::internal)?,
            survivor_version,
            moved_custody: serde_json::from_str(&moved).map_err(AppError::internal)?,
        })
    })
    .transpose()
}

/// Mark the merge undone.
pub fn close(conn: &mut DbConnection, merge_id: &str, at: DateTime<Utc>) -> Result<(), AppError> {
    diesel::update(merges::table.find(merge_id))
        .set(merges::unmerged_at.eq(at.naive_utc()))
        .execute(conn)?;
    Ok(())
}
