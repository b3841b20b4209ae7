use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::model::{AuditAction, AuditEntry, Changes, GENESIS_HASH};
use super::origin::{Actor, Origin};
use crate::db::schema::audit_log;
use crate::db::{self, DbConnection, WriteTx};
use crate::error::AppError;

/// The class of the transaction-scoped two-key advisory lock that
/// serialises appends on PostgreSQL, across every server process sharing
/// the database. Its second key is the schema: advisory locks are
/// database-wide, and two deployments in two schemas of one database (or
/// two test servers) each have a chain of their own, so neither may wait
/// for the other's.
const CHAIN_LOCK_CLASS: i32 = 0x534A_4348;

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_log)]
struct AuditRow {
    seq: i64,
    id: String,
    occurred_at: NaiveDateTime,
    actor_id: Option<String>,
    actor_username: Option<String>,
    actor_role: Option<String>,
    action: String,
    entity_type: String,
    entity_id: Option<String>,
    changes: String,
    request_id: Option<String>,
    client_ip: Option<String>,
    prev_hash: String,
    hash: String,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = AppError;
    fn try_from(row: AuditRow) -> Result<Self, AppError> {
        Ok(AuditEntry {
            seq: row.seq,
            id: row.id,
            occurred_at: db::format_timestamp(row.occurred_at),
            actor_id: row.actor_id,
            actor_username: row.actor_username,
            actor_role: row.actor_role,
            action: row.action,
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            changes: serde_json::from_str(&row.changes).map_err(AppError::internal)?,
            request_id: row.request_id,
            client_ip: row.client_ip,
            prev_hash: row.prev_hash,
            hash: row.hash,
        })
    }
}

/// Take the chain lock for the rest of the transaction. On SQLite the
/// `BEGIN IMMEDIATE` write transaction already excludes other writers.
pub fn lock_chain(tx: &mut WriteTx<'_>) -> Result<(), AppError> {
    if let DbConnection::Postgresql(pg) = tx.conn() {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))")
            .bind::<diesel::sql_types::Integer, _>(CHAIN_LOCK_CLASS)
            .execute(pg)?;
    }
    Ok(())
}

/// The last entry's `(seq, hash)`, or `(0, 64 zeros)` for an empty log.
pub fn head(conn: &mut DbConnection) -> Result<(i64, String), AppError> {
    Ok(audit_log::table
        .select((audit_log::seq, audit_log::hash))
        .order(audit_log::seq.desc())
        .first::<(i64, String)>(conn)
        .optional()?
        .unwrap_or_else(|| (0, GENESIS_HASH.to_owned())))
}

/// One change to record: what was done, to which entity, and how.
pub struct NewEntry {
    pub action: AuditAction,
    pub entity_id: Option<String>,
    pub changes: Changes,
}

/// An entry's row. Loaded in bulk (`load_rows!`), so `None` is `NULL`,
/// never `DEFAULT`.
#[derive(Insertable)]
#[diesel(table_name = audit_log, treat_none_as_default_value = false)]
struct NewAuditRow {
    seq: i64,
    id: String,
    occurred_at: NaiveDateTime,
    actor_id: Option<String>,
    actor_username: Option<String>,
    actor_role: Option<String>,
    action: String,
    entity_type: String,
    entity_id: Option<String>,
    changes: String,
    request_id: Option<String>,
    client_ip: Option<String>,
    prev_hash: String,
    hash: String,
}

/// Append one entry, in the write transaction of the change it records.
pub fn append(
    tx: &mut WriteTx<'_>,
    actor: &Actor,
    action: AuditAction,
    entity_id: Option<String>,
    changes: Changes,
    origin: &Origin,
) -> Result<AuditEntry, AppError> {
    let entry = NewEntry {
        action,
        entity_id,
        changes,
    };
    let mut appended = append_all(tx, actor, vec![entry], origin)?;
    appended
        .pop()
        .ok_or_else(|| AppError::internal_msg("no audit entry appended"))
}

/// Append entries in order, under one chain lock and in as few statements
/// as the engine allows (bulk loads), in the write transaction of the
/// changes they record.
pub fn append_all(
    tx: &mut WriteTx<'_>,
    actor: &Actor,
    entries: Vec<NewEntry>,
    origin: &Origin,
) -> Result<Vec<AuditEntry>, AppError> {
    lock_chain(tx)?;
    let (mut seq, mut prev_hash) = head(tx)?;
    // Taken under the lock, so `occurred_at` never goes backwards along `seq`.
    let occurred_at = db::now();
    let mut appended = Vec::with_capacity(entries.len());
    let mut rows = Vec::with_capacity(entries.len());
    for NewEntry {
        action,
        entity_id,
        changes,
    } in entries
    {
        seq += 1;
        let mut entry = AuditEntry {
            seq,
            id: Uuid::now_v7().to_string(),
            occurred_at: db::format_timestamp(occurred_at),
            actor_id: actor.id.map(|id| id.to_string()),
            actor_username: actor.username.as_deref().map(super::model::neutralised),
            actor_role: actor.role.map(str::to_owned),
            action: action.as_str().to_owned(),
            entity_type: action.entity_type().to_owned(),
            entity_id,
            changes: changes.to_json(),
            request_id: Some(origin.request_id.clone()),
            client_ip: origin.client_ip.clone(),
            prev_hash: std::mem::take(&mut prev_hash),
            hash: String::new(),
        };
        entry.hash = entry.compute_hash().map_err(AppError::internal)?;
        prev_hash.clone_from(&entry.hash);
        rows.push(NewAuditRow {
            seq: entry.seq,
            id: entry.id.clone(),
            occurred_at,
            actor_id: entry.actor_id.clone(),
            actor_username: entry.actor_username.clone(),
            actor_role: entry.actor_role.clone(),
            action: entry.action.clone(),
            entity_type: entry.entity_type.clone(),
            entity_id: entry.entity_id.clone(),
            changes: serde_json::to_string(&entry.changes).map_err(AppError::internal)?,
            request_id: entry.request_id.clone(),
            client_ip: entry.client_ip.clone(),
            prev_hash: entry.prev_hash.clone(),
            hash: entry.hash.clone(),
        });
        appended.push(entry);
    }
    // Under the chain lock, at the sequence numbers it reserves: new rows,
    // a bulk load (a `COPY` on PostgreSQL). 14 parameters a row: 500 rows
    // stay under SQLite's limit.
    crate::load_rows!(tx.conn(), audit_log::table, rows, 500)?;
    Ok(appended)
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    /// Any of these entities (a file and its custody events).
    pub entity_ids: Option<Vec<String>>,
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Entries in ascending `seq` after `after_seq`.
pub fn list(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    after_seq: i64,
    fetch: i64,
) -> Result<Vec<AuditEntry>, AppError> {
    list_between(conn, filter, after_seq, None, false, fetch)
}

/// As `list`, below `before_seq` too (excluded) when given, oldest first
/// or newest first.
pub fn list_between(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    after_seq: i64,
    before_seq: Option<i64>,
    newest_first: bool,
    fetch: i64,
) -> Result<Vec<AuditEntry>, AppError> {
    let mut query = filtered(filter).filter(audit_log::seq.gt(after_seq));
    if let Some(before) = before_seq {
        query = query.filter(audit_log::seq.lt(before));
    }
    query = if newest_first {
        query.order(audit_log::seq.desc())
    } else {
        query.order(audit_log::seq.asc())
    };
    query
        .select(AuditRow::as_select())
        .limit(fetch)
        .load(conn)?
        .into_iter()
        .map(AuditEntry::try_from)
        .collect()
}

/// The entries `filter` selects, in no order yet.
fn filtered(filter: &AuditFilter) -> audit_log::BoxedQuery<'static, crate::db::Backend> {
    let mut query = audit_log::table.into_boxed();
    if let Some(v) = &filter.entity_type {
        query = query.filter(audit_log::entity_type.eq(v.clone()));
    }
    if let Some(v) = &filter.entity_id {
        query = query.filter(audit_log::entity_id.eq(v.clone()));
    }
    if let Some(ids) = &filter.entity_ids {
        query = query.filter(audit_log::entity_id.eq_any(ids.clone()));
    }
    if let Some(v) = &filter.actor_id {
        query = query.filter(audit_log::actor_id.eq(v.clone()));
    }
    if let Some(v) = &filter.action {
        query = query.filter(audit_log::action.eq(v.clone()));
    }
    if let Some(v) = filter.since {
        query = query.filter(audit_log::occurred_at.ge(v.naive_utc()));
    }
    if let Some(v) = filter.until {
        query = query.filter(audit_log::occurred_at.lt(v.naive_utc()));
    }
    query
}

/// The outcome of recomputing the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub checked: i64,
    pub head_seq: i64,
    pub head_hash: String,
    /// The first entry that does not follow from the one before it.
    pub first_bad_seq: Option<i64>,
    /// With a checkpoint: does the log still hold that `(seq, hash)`?
    pub checkpoint_held: Option<bool>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.first_bad_seq.is_none() && self.checkpoint_held != Some(false)
    }
}

const VERIFY_BATCH: i64 = 2_000;

/// Recompute every hash from the first entry on, in batches.
pub fn verify(
    conn: &mut DbConnection,
    checkpoint: Option<(i64, &str)>,
) -> Result<Verification, AppError> {
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut checked = 0;
    let mut first_bad_seq = None;
    let mut checkpoint_held = checkpoint.map(|_| false);
    'batches: loop {
        let batch = list(
            conn,
            &AuditFilter::default(),
            expected_seq - 1,
            VERIFY_BATCH,
        )?;
        if batch.is_empty() {
            break;
        }
        for entry in batch {
            let recomputed = entry.compute_hash().map_err(AppError::internal)?;
            if entry.seq != expected_seq || entry.prev_hash != prev_hash || recomputed != entry.hash
            {
                first_bad_seq = Some(entry.seq.min(expected_seq).max(1));
                break 'batches;
            }
            if let Some((seq, hash)) = checkpoint {
                if entry.seq == seq {
                    checkpoint_held = Some(entry.hash == hash);
                }
            }
            checked += 1;
            expected_seq += 1;
            prev_hash = entry.hash;
        }
    }
    let (head_seq, head_hash) = head(conn)?;
    Ok(Verification {
        checked,
        head_seq,
        head_hash,
        first_bad_seq,
        checkpoint_held,
    })
}
