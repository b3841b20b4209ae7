//! Where attachment contents live: objects in an `object_store` store (a
//! directory under the data directory by default, or an S3-compatible
//! bucket), each encrypted under the data key as it streams in
//! (`cipher`), and decrypted chunk by chunk as it streams out.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};

use super::cipher::{self, Encryptor, Header, CHUNK, HEADER_LEN};
use super::model::{MediaType, TextCheck};
use crate::error::{AppError, Code};
use crate::sealing::SealingKey;

/// Bytes a part of an upload (S3's smallest part); at most two are in
/// flight, so an upload holds about this much three times, whatever its size.
const PART: usize = 5 * 1024 * 1024;
/// Chunks read and decrypted at a time when streaming a content out.
const CHUNKS_A_READ: u64 = 32;

/// The attachment store.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Where it is, for operators (never holds credentials).
    pub location: String,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Storage({})", self.location)
    }
}

/// A content received whole: its object, hash and size.
#[derive(Debug, Clone)]
pub struct Received {
    pub object_id: String,
    pub sha256: String,
    pub size: u64,
}

fn unavailable(e: object_store::Error) -> AppError {
    AppError::Unavailable(format!("the attachment store: {e}"))
}

/// Why a stored object cannot be read back as its record says.
#[derive(Debug, thiserror::Error)]
pub enum ObjectProblem {
    #[error("missing from the store")]
    Missing,
    #[error("changed: {0}")]
    Changed(String),
    #[error("cannot be read: {0}")]
    Unreadable(String),
}

impl From<ObjectProblem> for AppError {
    fn from(problem: ObjectProblem) -> Self {
        match problem {
            ObjectProblem::Unreadable(e) => AppError::Unavailable(e),
            other => AppError::internal(other),
        }
    }
}

impl Storage {
    /// `setting` is `SIJILL_ATTACHMENT_STORE`: `s3://bucket[/prefix]`
    /// (credentials, region and endpoint from the usual `AWS_` variables),
    /// or none for `dir`.
    pub fn open(setting: Option<&str>, dir: &std::path::Path) -> Result<Storage, String> {
        match setting {
            Some(url) => {
                let rest = url.strip_prefix("s3://").ok_or_else(|| {
                    format!("SIJILL_ATTACHMENT_STORE must be s3://bucket/prefix, not {url}")
                })?;
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err("SIJILL_ATTACHMENT_STORE names no bucket".to_owned());
                }
                let s3 = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|e| format!("the attachment store {url}: {e}"))?;
                let prefix = prefix.trim_matches('/');
                let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(PrefixStore::new(s3, prefix))
                };
                Ok(Storage {
                    store,
                    location: format!("s3://{bucket}/{prefix}"),
                })
            }
            None => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("the attachment directory {}: {e}", dir.display()))?;
                // Synced before an upload answers: the record of evidence
                // must never outlive its content after a power cut.
                let local = LocalFileSystem::new_with_prefix(dir)
                    .map_err(|e| format!("the attachment directory {}: {e}", dir.display()))?
                    .with_fsync(true);
                Ok(Storage {
                    store: Arc::new(local),
                    location: dir.display().to_string(),
                })
            }
        }
    }

    fn path(object_id: &str) -> Path {
        Path::from(format!("objects/{object_id}"))
    }

    /// Store `body` as a new object encrypted under `key`, hashing it as it
    /// streams: it must be `declared` bytes (its `Content-Length`, at most
    /// the limit already checked), not empty, and of type `media`. On any
    /// failure, a broken connection included, the object is removed:
    /// nothing is half-stored.
    pub async fn receive<S, E>(
        &self,
        key: Arc<SealingKey>,
        media: MediaType,
        declared: u64,
        body: S,
    ) -> Result<Received, AppError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let mut checks = UploadChecks {
            media,
            declared,
            hash: Sha256::new(),
            first_bytes: Vec::with_capacity(MediaType::SNIFF_BYTES),
            sniffed: false,
            text: (media == MediaType::Text).then(TextCheck::default),
            size: 0,
        };
        let object_id = self.write_object(key, body, &mut checks).await?;
        Ok(Received {
            object_id,
            sha256: hex::encode(checks.hash.finalize()),
            size: checks.size,
        })
    }

    /// Write `body` to a new object encrypted under `key`, `inspect`ing it
    /// on the way; any error (the body's, the inspection's, the store's)
    /// aborts the object. Returns its id.
    async fn write_object<S, E>(
        &self,
        key: Arc<SealingKey>,
        mut body: S,
        inspect: &mut impl Inspect,
    ) -> Result<String, AppError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let object_id = uuid::Uuid::new_v4().simple().to_string();
        let upload = self
            .store
            .put_multipart(&Self::path(&object_id))
            .await
            .map_err(unavailable)?;
        let mut pending = Pending(Some(WriteMultipart::new_with_chunk_size(upload, PART)));
        let written = async {
            let writer = pending.writer()?;
            let (mut encryptor, header) = Encryptor::new(key, &object_id);
            writer.write(&header);
            let mut sealed = Vec::with_capacity(2 * CHUNK);
            while let Some(piece) = body.next().await {
                let piece = piece.map_err(|e| inspect.broken(&e.to_string()))?;
                inspect.piece(&piece)?;
                sealed.clear();
                encryptor
                    .push(&piece, &mut sealed)
                    .map_err(AppError::internal)?;
                if !sealed.is_empty() {
                    writer.write(&sealed);
                    writer.wait_for_capacity(2).await.map_err(unavailable)?;
                }
            }
            inspect.end()?;
            sealed.clear();
            encryptor.finish(&mut sealed).map_err(AppError::internal)?;
            writer.write(&sealed);
            Ok(())
        }
        .await;
        match written {
            Ok(()) => {
                pending.finish().await?;
                Ok(object_id)
            }
            Err(e) => {
                pending.abort(&object_id).await;
                Err(e)
            }
        }
    }

    /// The header of an object, read before a download answers, so that a
    /// missing object or another key is an error status, not a cut stream.
    pub async fn header(&self, object_id: &str) -> Result<Header, ObjectProblem> {
        let bytes = self
            .store
            .get_range(&Self::path(object_id), 0..HEADER_LEN as u64)
            .await
            .map_err(read_problem)?;
        Header::parse(&bytes).map_err(|e| ObjectProblem::Changed(e.to_string()))
    }

    /// Is the object there, of the length its record says? (A quick check,
    /// not a re-hash: `rehash` reads it all.)
    pub async fn holds(&self, object_id: &str, size: u64) -> Result<bool, AppError> {
        match self.store.head(&Self::path(object_id)).await {
            Ok(meta) => Ok(meta.size == cipher::object_len(size)),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// The plaintext bytes `range` of an object of `size` bytes, decrypted a
    /// few chunks at a time as they are sent.
    pub fn read(
        &self,
        key: Arc<SealingKey>,
        header: Header,
        object_id: String,
        size: u64,
        range: Range<u64>,
    ) -> impl Stream<Item = Result<Bytes, ObjectProblem>> + 'static {
        let store = Arc::clone(&self.store);
        let path = Self::path(&object_id);
        let chunk = CHUNK as u64;
        let last = range.end.saturating_sub(1) / chunk;
        let first = range.start / chunk;
        let start = (!range.is_empty()).then_some(first);
        futures_util::stream::unfold(start, move |next| {
            let (store, path, key, header, object_id) = (
                Arc::clone(&store),
                path.clone(),
                Arc::clone(&key),
                header.clone(),
                object_id.clone(),
            );
            let range = range.clone();
            async move {
                let next = next?;
                let upto = (next + CHUNKS_A_READ - 1).min(last);
                let span = cipher::chunk_span(size, next, upto);
                let result = async {
                    let sealed = store.get_range(&path, span).await.map_err(read_problem)?;
                    let plain = cipher::open_chunks(&key, &header, &object_id, size, next, &sealed)
                        .map_err(|e| ObjectProblem::Changed(e.to_string()))?;
                    let base = next * chunk;
                    let from = range.start.saturating_sub(base) as usize;
                    let to = ((range.end - base) as usize).min(plain.len());
                    if from > to {
                        return Err(ObjectProblem::Changed("shorter than its record".into()));
                    }
                    Ok(Bytes::from(plain).slice(from..to))
                }
                .await;
                let following = (result.is_ok() && upto < last).then_some(upto + 1);
                Some((result, following))
            }
        })
    }

    /// Read a whole object back and hash it (`sijill attachments verify`).
    pub async fn rehash(
        &self,
        key: &Arc<SealingKey>,
        object_id: &str,
        size: u64,
    ) -> Result<String, ObjectProblem> {
        let header = self.header(object_id).await?;
        let mut stream =
            std::pin::pin!(self.read(Arc::clone(key), header, object_id.to_owned(), size, 0..size));
        let mut hash = Sha256::new();
        let mut read = 0u64;
        while let Some(piece) = stream.next().await {
            let piece = piece?;
            read += piece.len() as u64;
            hash.update(&piece);
        }
        // The length is part of what the last chunk's tag vouches for; a
        // longer object has bytes after its last chunk.
        let stored = self
            .store
            .head(&Self::path(object_id))
            .await
            .map_err(read_problem)?;
        if read != size || stored.size != cipher::object_len(size) {
            return Err(ObjectProblem::Changed(format!(
                "{} bytes stored where {} were expected",
                stored.size,
                cipher::object_len(size)
            )));
        }
        Ok(hex::encode(hash.finalize()))
    }

    /// Copy an object under a new key (`sijill keys rotate`): a new object,
    /// whose id is returned; the old one stays until the caller removes it.
    pub async fn reencrypt(
        &self,
        from: &Arc<SealingKey>,
        to: &Arc<SealingKey>,
        object_id: &str,
        size: u64,
    ) -> Result<String, AppError> {
        let header = self.header(object_id).await?;
        let plain = self.read(
            Arc::clone(from),
            header,
            object_id.to_owned(),
            size,
            0..size,
        );
        let mut copied = Copied {
            expected: size,
            size: 0,
        };
        self.write_object(Arc::clone(to), std::pin::pin!(plain), &mut copied)
            .await
    }

    /// Remove an object (a purge, a duplicate upload, a rotated copy).
    /// One already gone is not an error.
    pub async fn remove(&self, object_id: &str) -> Result<(), AppError> {
        match self.store.delete(&Self::path(object_id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// The names of every object in the store, each with when it was
    /// written (to find those no record names).
    pub async fn object_ids(
        &self,
    ) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>, AppError> {
        let mut ids = Vec::new();
        let mut listing = self.store.list(Some(&Path::from("objects")));
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(unavailable)?;
            if let Some(name) = meta.location.filename() {
                ids.push((name.to_owned(), meta.last_modified));
            }
        }
        Ok(ids)
    }
}

fn read_problem(e: object_store::Error) -> ObjectProblem {
    match e {
        object_store::Error::NotFound { .. } => ObjectProblem::Missing,
        // A range past the end: the object is shorter than its record.
        object_store::Error::Generic { .. } | object_store::Error::NotSupported { .. } => {
            ObjectProblem::Changed(e.to_string())
        }
        other => ObjectProblem::Unreadable(other.to_string()),
    }
}

/// An upload under way. Dropped before it is finished or aborted (the
/// request's future dropped: a server stopping, a client gone), it aborts
/// the upload on the runtime, so that no part is left in the store.
struct Pending(Option<WriteMultipart>);

impl Pending {
    fn writer(&mut self) -> Result<&mut WriteMultipart, AppError> {
        self.0
            .as_mut()
            .ok_or_else(|| AppError::internal_msg("the upload was closed already"))
    }

    async fn finish(mut self) -> Result<(), AppError> {
        match self.0.take() {
            Some(writer) => writer.finish().await.map(|_| ()).map_err(unavailable),
            None => Err(AppError::internal_msg("the upload was closed already")),
        }
    }

    async fn abort(mut self, object_id: &str) {
        if let Some(writer) = self.0.take() {
            if let Err(e) = writer.abort().await {
                tracing::warn!(object_id, error = %e, "an aborted upload left its parts");
            }
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(writer) = self.0.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = writer.abort().await;
                });
            }
        }
    }
}

/// What `write_object` checks of a content as it passes.
trait Inspect {
    fn piece(&mut self, piece: &[u8]) -> Result<(), AppError>;
    /// After the last piece, before the object is kept.
    fn end(&mut self) -> Result<(), AppError>;
    /// The body broke off.
    fn broken(&self, cause: &str) -> AppError;
}

/// An upload's checks: its length, type and hash.
struct UploadChecks {
    media: MediaType,
    declared: u64,
    hash: Sha256,
    first_bytes: Vec<u8>,
    sniffed: bool,
    text: Option<TextCheck>,
    size: u64,
}

impl Inspect for UploadChecks {
    fn piece(&mut self, piece: &[u8]) -> Result<(), AppError> {
        self.size += piece.len() as u64;
        if self.size > self.declared {
            return Err(length_mismatch(self.declared, "more"));
        }
        self.hash.update(piece);
        if !self.sniffed {
            let take = (MediaType::SNIFF_BYTES - self.first_bytes.len()).min(piece.len());
            self.first_bytes.extend_from_slice(&piece[..take]);
            if self.first_bytes.len() == MediaType::SNIFF_BYTES {
                check_type(self.media, &self.first_bytes)?;
                self.sniffed = true;
            }
        }
        if let Some(text) = &mut self.text {
            text.push(piece);
        }
        Ok(())
    }

    fn end(&mut self) -> Result<(), AppError> {
        if self.size == 0 {
            return Err(AppError::unprocessable(
                Code::EmptyAttachment,
                "the attachment is empty",
            ));
        }
        if self.size != self.declared {
            return Err(length_mismatch(self.declared, &self.size.to_string()));
        }
        if !self.sniffed {
            check_type(self.media, &self.first_bytes)?;
        }
        if self.text.as_ref().is_some_and(|t| !t.holds()) {
            return Err(AppError::unprocessable(
                Code::ContentTypeMismatch,
                "declared text/plain, but the content is not UTF-8 text",
            ));
        }
        Ok(())
    }

    fn broken(&self, cause: &str) -> AppError {
        AppError::bad_request(
            Code::LengthMismatch,
            format!("the upload broke off after {} bytes: {cause}", self.size),
        )
    }
}

/// A rotation's copy: checked once already, on upload; only its length.
struct Copied {
    expected: u64,
    size: u64,
}

impl Inspect for Copied {
    fn piece(&mut self, piece: &[u8]) -> Result<(), AppError> {
        self.size += piece.len() as u64;
        Ok(())
    }

    fn end(&mut self) -> Result<(), AppError> {
        if self.size != self.expected {
            return Err(AppError::internal_msg(format!(
                "{} bytes read where {} were expected",
                self.size, self.expected
            )));
        }
        Ok(())
    }

    fn broken(&self, cause: &str) -> AppError {
        AppError::internal_msg(format!("the object could not be read back: {cause}"))
    }
}

fn length_mismatch(declared: u64, received: &str) -> AppError {
    AppError::bad_request(
        Code::LengthMismatch,
        format!("Content-Length said {declared} bytes; the body held {received}"),
    )
}

fn check_type(media: MediaType, first_bytes: &[u8]) -> Result<(), AppError> {
    if media.matches(first_bytes) {
        return Ok(());
    }
    let found = infer::get(first_bytes).map_or("no known type", |t| t.mime_type());
    Err(AppError::unprocessable(
        Code::ContentTypeMismatch,
        format!(
            "declared {}, but the content's first bytes say {found}",
            media.as_str()
        ),
    ))
}
