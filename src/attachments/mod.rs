//! Evidence attachments of detainee files: statements, photographs, court
//! papers, voice messages (docs/attachments.md). Contents are streamed to
//! the attachment store, hashed and encrypted as they arrive; the database
//! holds what they are, and the audit log their hashes.

pub mod cipher;
pub mod model;
pub mod range;
pub mod routes;
pub mod storage;
pub mod store;
pub mod verify;

pub use storage::Storage;

/// The attachment store and its limit, as the server holds them.
#[derive(Debug, Clone)]
pub struct Attachments {
    pub storage: Storage,
    /// The largest content accepted (`SIJILL_ATTACHMENT_MAX_BYTES`).
    pub max_bytes: u64,
}
