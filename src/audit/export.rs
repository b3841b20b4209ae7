//! The audit log as a file: JSON Lines, one entry a line in `seq` order
//! (each exactly as `GET /audit` shows it), ending with one line
//! `{"checkpoint": {…}}` that signs the last entry's `seq` and `hash` with
//! the checkpoint key. A copy is verified offline, signature included, by
//! `scripts/verify_audit_chain.py --file` (standard library only). A file
//! cut short has no checkpoint line and fails verification: an export is
//! never mistaken for a whole one.
//!
//! The same lines over HTTP (`GET /audit/export`, streamed batch by batch)
//! and on the command line (`sijill audit export`). Each export is itself
//! audited (`audit.export`, with the range it covers), in its own
//! transaction before the first line: who took a copy of the log is worth
//! as much as the log.

use serde::Serialize;

use super::checkpoint::{CheckpointSigner, SignedHead};
use super::model::{AuditAction, Changes};
use super::origin::{Actor, Origin};
use super::store::{self, AuditFilter};
use crate::db::{self, DbConnection, WriteTx};
use crate::error::AppError;
use crate::http::streaming::Batch;

/// Entries read a query: a batch is a few hundred kilobytes of text.
pub const BATCH: i64 = 1_000;

/// What an export covers: the entries after `after_seq`, up to and
/// including the head as it was when the export began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub after_seq: i64,
    pub through_seq: i64,
}

/// Fix the range at the current head and audit the export (`audit.export`,
/// entity `null`), in the caller's write transaction. The entry itself
/// falls after the range: the next export carries it. Returns the range
/// and the head's hash, which the checkpoint line signs.
pub fn begin(
    tx: &mut WriteTx<'_>,
    actor: &Actor,
    after_seq: i64,
    origin: &Origin,
) -> Result<(Range, String), AppError> {
    store::lock_chain(tx)?;
    let (head_seq, head_hash) = store::head(tx)?;
    let range = Range {
        after_seq,
        through_seq: head_seq,
    };
    super::append(
        tx,
        actor,
        AuditAction::AuditExport,
        None,
        Changes::new()
            .created("after_seq", after_seq)
            .created("through_seq", head_seq),
        origin,
    )?;
    Ok((range, head_hash))
}

/// The lines (each ending in a line feed) of the next batch of entries
/// after `cursor` within `range`, and the `seq` of the last; `None` when
/// the range is exhausted.
pub fn next_batch(
    conn: &mut DbConnection,
    range: Range,
    cursor: i64,
) -> Result<Batch<i64>, AppError> {
    if cursor >= range.through_seq {
        return Ok(None);
    }
    let fetch = BATCH.min(range.through_seq - cursor);
    let entries = store::list(conn, &AuditFilter::default(), cursor, fetch)?;
    let Some(last) = entries.last().map(|e| e.seq) else {
        return Ok(None);
    };
    let mut lines = Vec::with_capacity(entries.len() * 512);
    for entry in &entries {
        serde_json::to_writer(&mut lines, entry).map_err(AppError::internal)?;
        lines.push(b'\n');
    }
    Ok(Some((lines, last)))
}

#[derive(Serialize)]
struct CheckpointLine<'a> {
    checkpoint: &'a SignedHead,
}

/// The last line: the head of the range, signed now.
pub fn checkpoint_line(
    signer: &CheckpointSigner,
    range: Range,
    head_hash: String,
) -> Result<Vec<u8>, AppError> {
    let signed_at = db::format_timestamp(db::now());
    let head = signer.sign(range.through_seq, head_hash, signed_at);
    let mut line =
        serde_json::to_vec(&CheckpointLine { checkpoint: &head }).map_err(AppError::internal)?;
    line.push(b'\n');
    Ok(line)
}

/// The file name offered for a download.
pub fn file_name(range: Range) -> String {
    format!(
        "sijill-audit-{}-{}.jsonl",
        range.after_seq + 1,
        range.through_seq
    )
}
