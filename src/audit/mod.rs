//! The tamper-evident audit log (the format: docs/audit-format.md).
//!
//! Every state change appends one entry in the same transaction as the
//! change. Entries form a SHA-256 chain over their RFC 8785 (JCS) form, so
//! anyone can recompute it from `GET /audit`; appends are serialised (an
//! advisory lock on PostgreSQL, the write lock on SQLite) so the chain stays
//! linear with several server processes.

pub mod access;
pub mod checkpoint;
pub mod export;
pub mod fingerprint;
pub mod model;
pub mod origin;
pub mod routes;
pub mod store;

pub use checkpoint::CheckpointSigner;
pub use fingerprint::Fingerprints;
pub use model::{AuditAction, AuditEntry, Changes};
pub use origin::{Account, Actor, Origin};
pub use store::append;
