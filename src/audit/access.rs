//! The access log: who looked at which file, when (docs/audit-format.md, "The access log").
//!
//! Reads must not wait for it, so records go through a channel to one
//! writer thread, which inserts them in batches (up to `BATCH` rows or every
//! `INTERVAL`, whichever comes first) in one transaction. `flush` waits until
//! everything recorded so far is in the database (auditors' queries call it
//! first), and the writer drains its queue when the server stops.
//!
//! Trade-off, stated plainly: a crash (not a clean stop) loses at most the
//! last `INTERVAL` of records. The audit log proper is never batched.

use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::origin::{Account, Origin};
use crate::db::schema::access_log;
use crate::db::{self, Database, DbConnection};
use crate::domain::stored_uuid;
use crate::error::AppError;

const BATCH: usize = 500;
const INTERVAL: Duration = Duration::from_millis(200);
/// If the database is unreachable, keep at most this many records waiting.
const MAX_PENDING: usize = 200_000;
/// How long `GET /audit/access` waits for the pending reads to be written.
const FLUSH_WAIT: Duration = Duration::from_secs(12);

/// What was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessAction {
    /// A file was shown, alone or in a list.
    DetaineeView,
    DetaineeHistory,
    DetaineeCustody,
    /// A file returned by a name search.
    DetaineeSearch,
    /// A file sent in an export.
    DetaineeExport,
    /// An attachment's content downloaded (whole or a range).
    AttachmentDownload,
    /// A file's source notes read on their own (`GET …/source-notes`).
    DetaineeSourceNotes,
}

impl AccessAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessAction::DetaineeView => "detainee.view",
            AccessAction::DetaineeHistory => "detainee.history",
            AccessAction::DetaineeCustody => "detainee.custody",
            AccessAction::DetaineeSearch => "detainee.search",
            AccessAction::DetaineeExport => "detainee.export",
            AccessAction::AttachmentDownload => "attachment.download",
            AccessAction::DetaineeSourceNotes => "detainee.source_notes",
        }
    }
}

#[derive(Debug, Clone)]
struct Record {
    id: Uuid,
    occurred_at: NaiveDateTime,
    actor_id: Uuid,
    actor_username: String,
    actor_role: &'static str,
    action: &'static str,
    entity_id: Uuid,
    item_id: Option<Uuid>,
    request_id: String,
    client_ip: Option<String>,
}

/// Who waits for a flush: a request handler (async) or the shutdown path.
enum Waiter {
    Async(tokio::sync::oneshot::Sender<()>),
    Blocking(Sender<()>),
}

impl Waiter {
    fn done(self) {
        let _ = match self {
            Waiter::Async(w) => w.send(()).map_err(|_| ()),
            Waiter::Blocking(w) => w.send(()).map_err(|_| ()),
        };
    }
}

enum Message {
    Records(Vec<Record>),
    Flush(Waiter),
}

#[derive(Clone)]
pub struct AccessLog {
    sender: Sender<Message>,
}

impl AccessLog {
    pub fn start(db: Database) -> Result<Self, AppError> {
        let (sender, receiver) = channel();
        std::thread::Builder::new()
            .name("sijill-access-log".into())
            .spawn(move || write_loop(db, receiver))
            .map_err(AppError::internal)?;
        Ok(AccessLog { sender })
    }

    /// Record that `reader` read each of `files`. Never blocks, never fails the read.
    pub fn record(&self, reader: &Account, action: AccessAction, files: &[Uuid], origin: &Origin) {
        let reads: Vec<(Uuid, Option<Uuid>)> = files.iter().map(|file| (*file, None)).collect();
        self.send(reader, action, &reads, origin);
    }

    /// Record that `reader` read `item` of `file` (an attachment's content).
    pub fn record_item(
        &self,
        reader: &Account,
        action: AccessAction,
        file: Uuid,
        item: Uuid,
        origin: &Origin,
    ) {
        self.send(reader, action, &[(file, Some(item))], origin);
    }

    /// Hand the records of `reads` (file, and the part of it read) to the writer.
    fn send(
        &self,
        reader: &Account,
        action: AccessAction,
        reads: &[(Uuid, Option<Uuid>)],
        origin: &Origin,
    ) {
        // The benchmark-only feature exists to measure what this costs.
        if reads.is_empty() || cfg!(feature = "unlogged-reads-benchmark-only") {
            return;
        }
        let now = db::now();
        let records = reads
            .iter()
            .map(|&(file, item)| Record {
                id: Uuid::now_v7(),
                occurred_at: now,
                actor_id: reader.id,
                actor_username: reader.username.clone(),
                actor_role: reader.role,
                action: action.as_str(),
                entity_id: file,
                item_id: item,
                request_id: origin.request_id.clone(),
                client_ip: origin.client_ip.clone(),
            })
            .collect();
        if self.sender.send(Message::Records(records)).is_err() {
            tracing::error!("the access-log writer has stopped; reads are not being logged");
        }
    }

    /// Wait until every record sent before this call is written.
    pub async fn flush(&self) -> Result<(), AppError> {
        let (done, written) = tokio::sync::oneshot::channel();
        self.sender
            .send(Message::Flush(Waiter::Async(done)))
            .map_err(|_| AppError::internal_msg("the access-log writer has stopped"))?;
        // Bounded: a writer stuck on a database that went away must not hold
        // the auditor's request for ever (the writer keeps the records and
        // writes them when the database is back).
        match tokio::time::timeout(FLUSH_WAIT, written).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(AppError::internal_msg(
                "the access-log writer did not confirm a flush",
            )),
            Err(_) => Err(AppError::Unavailable(
                "the access log could not be written in time".into(),
            )),
        }
    }

    /// Write what is pending, waiting up to `timeout` (at shutdown, after
    /// the server has stopped taking requests).
    pub fn flush_blocking(&self, timeout: Duration) -> bool {
        let (done, written) = channel();
        self.sender
            .send(Message::Flush(Waiter::Blocking(done)))
            .is_ok()
            && written.recv_timeout(timeout).is_ok()
    }
}

fn write_loop(db: Database, receiver: Receiver<Message>) {
    let mut pending: Vec<Record> = Vec::new();
    let mut waiting: Vec<Waiter> = Vec::new();
    let mut oldest: Option<Instant> = None;
    loop {
        let timeout = oldest.map_or(Duration::from_secs(3600), |t| {
            INTERVAL.saturating_sub(t.elapsed())
        });
        let mut disconnected = false;
        match receiver.recv_timeout(timeout) {
            Ok(Message::Records(records)) => {
                oldest.get_or_insert_with(Instant::now);
                pending.extend(records);
            }
            Ok(Message::Flush(done)) => waiting.push(done),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => disconnected = true,
        }
        let due = oldest.is_some_and(|t| t.elapsed() >= INTERVAL);
        if pending.len() >= BATCH || due || !waiting.is_empty() || disconnected {
            if !pending.is_empty() {
                match db.write_blocking(|conn| insert_batch(conn, &pending)) {
                    Ok(()) => pending.clear(),
                    Err(err) => {
                        tracing::error!(error = ?err, pending = pending.len(), "access log write failed; will retry");
                        if pending.len() > MAX_PENDING {
                            let dropped = pending.len() - MAX_PENDING;
                            pending.drain(..dropped);
                            tracing::error!(dropped, "access log records dropped");
                        }
                    }
                }
            }
            oldest = (!pending.is_empty()).then(Instant::now);
            if pending.is_empty() {
                for waiter in waiting.drain(..) {
                    waiter.done();
                }
            }
        }
        if disconnected {
            return;
        }
    }
}

fn insert_batch(conn: &mut DbConnection, records: &[Record]) -> Result<(), AppError> {
    macro_rules! row {
        ($r:expr) => {
            (
                access_log::id.eq($r.id.to_string()),
                access_log::occurred_at.eq($r.occurred_at),
                access_log::actor_id.eq($r.actor_id.to_string()),
                access_log::actor_username.eq(&$r.actor_username),
                access_log::actor_role.eq($r.actor_role),
                access_log::action.eq($r.action),
                access_log::entity_id.eq($r.entity_id.to_string()),
                access_log::request_id.eq(Some(&$r.request_id)),
                access_log::client_ip.eq(&$r.client_ip),
                access_log::item_id.eq($r.item_id.map(|id| id.to_string())),
            )
        };
    }
    match conn {
        // One multi-row INSERT per hundred records: one round trip each.
        DbConnection::Postgresql(pg) => {
            for chunk in records.chunks(100) {
                let rows: Vec<_> = chunk.iter().map(|r| row!(r)).collect();
                diesel::insert_into(access_log::table)
                    .values(rows)
                    .execute(pg)?;
            }
        }
        // SQLite: diesel's batch insert is not available through the
        // multi-engine connection, so one multi-row statement per hundred
        // records is built here, every value bound (never spliced in).
        DbConnection::Sqlite(sqlite) => {
            use diesel::sql_types::{Nullable, Text, Timestamp};
            for chunk in records.chunks(100) {
                let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
                let mut query = diesel::sql_query(format!(
                    "INSERT INTO access_log (id, occurred_at, actor_id, actor_username, actor_role, \
                     action, entity_id, request_id, client_ip, item_id) VALUES {rows}"
                ))
                .into_boxed();
                for r in chunk {
                    query = query
                        .bind::<Text, _>(r.id.to_string())
                        .bind::<Timestamp, _>(r.occurred_at)
                        .bind::<Text, _>(r.actor_id.to_string())
                        .bind::<Text, _>(r.actor_username.clone())
                        .bind::<Text, _>(r.actor_role)
                        .bind::<Text, _>(r.action)
                        .bind::<Text, _>(r.entity_id.to_string())
                        .bind::<Nullable<Text>, _>(Some(r.request_id.clone()))
                        .bind::<Nullable<Text>, _>(r.client_ip.clone())
                        .bind::<Nullable<Text>, _>(r.item_id.map(|id| id.to_string()));
                }
                query.execute(sqlite)?;
            }
        }
    }
    Ok(())
}

/// One access-log entry as `GET /audit/access` returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab3c2-7f10-7000-8000-000000000401",
    "occurred_at": "2026-11-26T07:30:00.123456Z",
    "actor_id": "019ab3c2-7f10-7000-8000-000000000002",
    "actor_username": "rima.k",
    "actor_role": "caseworker",
    "action": "detainee.view",
    "entity_id": "019ab3c2-7f10-7000-8000-000000000201",
    "item_id": null,
    "request_id": "019ab3c2-7f10-7000-8000-0000000000ab",
    "client_ip": "127.0.0.1"
}))]
pub struct AccessEntry {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: Uuid,
    pub actor_username: String,
    pub actor_role: String,
    pub action: String,
    /// The file.
    pub entity_id: Uuid,
    /// The part of the file read, where the read was of one part: the
    /// attachment, for `attachment.download`; `null` otherwise.
    pub item_id: Option<Uuid>,
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = access_log)]
struct AccessRow {
    id: String,
    occurred_at: NaiveDateTime,
    actor_id: String,
    actor_username: String,
    actor_role: String,
    action: String,
    entity_id: String,
    request_id: Option<String>,
    client_ip: Option<String>,
    item_id: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct AccessFilter {
    pub entity_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

pub fn list(
    conn: &mut DbConnection,
    filter: &AccessFilter,
    after: Option<Uuid>,
    fetch: i64,
) -> Result<Vec<AccessEntry>, AppError> {
    let mut query = access_log::table
        .select(AccessRow::as_select())
        .into_boxed();
    if let Some(v) = filter.entity_id {
        query = query.filter(access_log::entity_id.eq(v.to_string()));
    }
    if let Some(v) = filter.actor_id {
        query = query.filter(access_log::actor_id.eq(v.to_string()));
    }
    if let Some(v) = filter.since {
        query = query.filter(access_log::occurred_at.ge(v.naive_utc()));
    }
    if let Some(v) = filter.until {
        query = query.filter(access_log::occurred_at.lt(v.naive_utc()));
    }
    if let Some(after) = after {
        query = query.filter(access_log::id.gt(after.to_string()));
    }
    query
        .order(access_log::id.asc())
        .limit(fetch)
        .load::<AccessRow>(conn)?
        .into_iter()
        .map(|r| {
            Ok(AccessEntry {
                id: stored_uuid(&r.id)?,
                occurred_at: db::to_utc(r.occurred_at),
                actor_id: stored_uuid(&r.actor_id)?,
                actor_username: r.actor_username,
                actor_role: r.actor_role,
                action: r.action,
                entity_id: stored_uuid(&r.entity_id)?,
                item_id: r.item_id.as_deref().map(stored_uuid).transpose()?,
                request_id: r.request_id,
                client_ip: r.client_ip,
            })
        })
        .collect()
}
