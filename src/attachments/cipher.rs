//! Attachment contents encrypted chunk by chunk (the STREAM construction of
//! Hoang, Reyhanitabar, Rogaway and Vizár over XChaCha20-Poly1305), so that
//! an upload is encrypted as it streams in and a `Range` request decrypts
//! only the chunks it covers.
//!
//! An object is a header, then chunks:
//!
//! ```text
//! header:  "SJLATT1\0" (8) ‖ key id (16, ASCII) ‖ nonce prefix (16, random)
//! chunk i: ciphertext of up to CHUNK plaintext bytes ‖ tag (16)
//! nonce i: nonce prefix ‖ i (u64, big-endian)
//! aad i:   "sijill attachment\0" ‖ object id ‖ 0x00 (or 0x01 for the last chunk)
//! ```
//!
//! Every chunk but the last holds exactly `CHUNK` bytes. The counter in the
//! nonce stops chunks being reordered; the last-chunk flag stops an object
//! being cut short at a chunk boundary; the object id stops a chunk (or a
//! whole object) being swapped in from another object.

use std::ops::Range;
use std::sync::Arc;

use crate::sealing::{SealError, SealingKey, NONCE_LEN};

/// Plaintext bytes a chunk (all but the last).
pub const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const MAGIC: &[u8; 8] = b"SJLATT1\0";
const KEY_ID_LEN: usize = 16;
const PREFIX_LEN: usize = 16;
pub const HEADER_LEN: usize = MAGIC.len() + KEY_ID_LEN + PREFIX_LEN;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CipherError {
    #[error("not an attachment object (bad header)")]
    Malformed,
    #[error("encrypted under key {0}, which this process does not hold")]
    OtherKey(String),
    #[error("chunk {0} does not open: the object was altered, cut or swapped")]
    Forged(u64),
}

/// What an object's header says.
#[derive(Debug, Clone)]
pub struct Header {
    pub key_id: String,
    prefix: [u8; PREFIX_LEN],
}

impl Header {
    pub fn parse(bytes: &[u8]) -> Result<Header, CipherError> {
        if bytes.len() < HEADER_LEN || &bytes[..MAGIC.len()] != MAGIC {
            return Err(CipherError::Malformed);
        }
        let key_id = std::str::from_utf8(&bytes[MAGIC.len()..MAGIC.len() + KEY_ID_LEN])
            .map_err(|_| CipherError::Malformed)?
            .to_owned();
        let mut prefix = [0u8; PREFIX_LEN];
        prefix.copy_from_slice(&bytes[MAGIC.len() + KEY_ID_LEN..HEADER_LEN]);
        Ok(Header { key_id, prefix })
    }
}

fn nonce(prefix: &[u8; PREFIX_LEN], index: u64) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    nonce[..PREFIX_LEN].copy_from_slice(prefix);
    nonce[PREFIX_LEN..].copy_from_slice(&index.to_be_bytes());
    nonce
}

fn aad(object_id: &str, last: bool) -> Vec<u8> {
    let mut aad = b"sijill attachment\0".to_vec();
    aad.extend_from_slice(object_id.as_bytes());
    aad.push(u8::from(last));
    aad
}

/// How many chunks hold `size` plaintext bytes (at least one: an empty
/// content is one empty last chunk).
pub fn chunks(size: u64) -> u64 {
    size.div_ceil(CHUNK as u64).max(1)
}

/// The size of the object holding `size` plaintext bytes.
pub fn object_len(size: u64) -> u64 {
    HEADER_LEN as u64 + size + chunks(size) * TAG as u64
}

/// Where chunks `first..=last` of an object of `size` plaintext bytes lie.
pub fn chunk_span(size: u64, first: u64, last: u64) -> Range<u64> {
    let sealed = (CHUNK + TAG) as u64;
    let start = HEADER_LEN as u64 + first * sealed;
    let end = (HEADER_LEN as u64 + (last + 1) * sealed).min(object_len(size));
    start..end
}

/// Encrypts a content as it streams in: `push` what arrives, take the
/// sealed bytes it gives back, `finish` at the end. A chunk is sealed only
/// once a byte after it has arrived, so the last one is known to be last.
pub struct Encryptor {
    key: Arc<SealingKey>,
    prefix: [u8; PREFIX_LEN],
    aad_more: Vec<u8>,
    aad_last: Vec<u8>,
    index: u64,
    pending: Vec<u8>,
}

impl Encryptor {
    /// An encryptor for object `object_id`, and the object's header.
    pub fn new(key: Arc<SealingKey>, object_id: &str) -> (Encryptor, Vec<u8>) {
        let mut prefix = [0u8; PREFIX_LEN];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut prefix);
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(key.id().as_bytes());
        header.extend_from_slice(&prefix);
        debug_assert_eq!(header.len(), HEADER_LEN);
        let encryptor = Encryptor {
            key,
            prefix,
            aad_more: aad(object_id, false),
            aad_last: aad(object_id, true),
            index: 0,
            pending: Vec::with_capacity(2 * CHUNK),
        };
        (encryptor, header)
    }

    /// Take `bytes`; append the chunks now complete, sealed, to `out`.
    pub fn push(&mut self, mut bytes: &[u8], out: &mut Vec<u8>) -> Result<(), SealError> {
        while !bytes.is_empty() {
            // Room for one whole chunk and one byte more: a full chunk is
            // sealed (as not the last) only when a byte after it is here.
            let room = CHUNK + 1 - self.pending.len();
            let take = room.min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.pending.len() > CHUNK {
                let rest = self.pending.split_off(CHUNK);
                let mut chunk = std::mem::replace(&mut self.pending, rest);
                self.seal(&mut chunk, false)?;
                out.extend_from_slice(&chunk);
                self.pending.reserve(CHUNK);
            }
        }
        Ok(())
    }

    /// Seal what is left as the last chunk.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), SealError> {
        let mut chunk = std::mem::take(&mut self.pending);
        self.seal(&mut chunk, true)?;
        out.extend_from_slice(&chunk);
        Ok(())
    }

    fn seal(&mut self, chunk: &mut Vec<u8>, last: bool) -> Result<(), SealError> {
        let aad = if last { &self.aad_last } else { &self.aad_more };
        self.key
            .encrypt_chunk(&nonce(&self.prefix, self.index), aad, chunk)?;
        self.index += 1;
        Ok(())
    }
}

/// Decrypt chunks `first..` of object `object_id` (`size` plaintext bytes)
/// from `sealed`, the bytes of `chunk_span(size, first, …)`.
pub fn open_chunks(
    key: &SealingKey,
    header: &Header,
    object_id: &str,
    size: u64,
    first: u64,
    sealed: &[u8],
) -> Result<Vec<u8>, CipherError> {
    if header.key_id != key.id() {
        return Err(CipherError::OtherKey(header.key_id.clone()));
    }
    let last_index = chunks(size) - 1;
    let mut plain = Vec::with_capacity(sealed.len());
    let mut buffer = Vec::with_capacity(CHUNK + TAG);
    for (offset, piece) in sealed.chunks(CHUNK + TAG).enumerate() {
        let index = first + offset as u64;
        if piece.len() < TAG || index > last_index {
            return Err(CipherError::Forged(index));
        }
        buffer.clear();
        buffer.extend_from_slice(piece);
        key.decrypt_chunk(
            &nonce(&header.prefix, index),
            &aad(object_id, index == last_index),
            &mut buffer,
        )
        .map_err(|_| CipherError::Forged(index))?;
        plain.extend_from_slice(&buffer);
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal_all(key: &Arc<SealingKey>, object: &str, content: &[u8], step: usize) -> Vec<u8> {
        let (mut encryptor, mut out) = Encryptor::new(Arc::clone(key), object);
        for piece in content.chunks(step.max(1)) {
            encryptor.push(piece, &mut out).unwrap();
        }
        encryptor.finish(&mut out).unwrap();
        out
    }

    fn open_all(
        key: &SealingKey,
        object: &str,
        size: u64,
        sealed: &[u8],
    ) -> Result<Vec<u8>, CipherError> {
        let header = Header::parse(sealed)?;
        open_chunks(key, &header, object, size, 0, &sealed[HEADER_LEN..])
    }

    #[test]
    fn contents_round_trip_whatever_the_pieces_they_arrive_in() {
        let key = Arc::new(SealingKey::new([3; 32]));
        for size in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17] {
            let content: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            for step in [1_000, 4096, CHUNK, 100_000] {
                let sealed = seal_all(&key, "obj", &content, step);
                assert_eq!(sealed.len() as u64, object_len(size as u64), "size {size}");
                assert_eq!(
                    open_all(&key, "obj", size as u64, &sealed).unwrap(),
                    content
                );
            }
        }
    }

    #[test]
    fn a_range_opens_only_its_chunks() {
        let key = Arc::new(SealingKey::new([3; 32]));
        let content: Vec<u8> = (0..5 * CHUNK + 100).map(|i| (i % 241) as u8).collect();
        let size = content.len() as u64;
        let sealed = seal_all(&key, "obj", &content, 10_000);
        let header = Header::parse(&sealed).unwrap();
        let span = chunk_span(size, 2, 3);
        let plain = open_chunks(
            &key,
            &header,
            "obj",
            size,
            2,
            &sealed[span.start as usize..span.end as usize],
        )
        .unwrap();
        assert_eq!(plain, content[2 * CHUNK..4 * CHUNK]);
        let span = chunk_span(size, 5, 5);
        let plain = open_chunks(
            &key,
            &header,
            "obj",
            size,
            5,
            &sealed[span.start as usize..span.end as usize],
        )
        .unwrap();
        assert_eq!(plain, content[5 * CHUNK..]);
    }

    #[test]
    fn altered_cut_swapped_or_foreign_objects_do_not_open() {
        let key = Arc::new(SealingKey::new([3; 32]));
        let content = vec![9u8; 2 * CHUNK + 5];
        let size = content.len() as u64;
        let sealed = seal_all(&key, "obj", &content, CHUNK);
        let mut altered = sealed.clone();
        altered[HEADER_LEN + CHUNK + 40] ^= 1;
        assert_eq!(
            open_all(&key, "obj", size, &altered),
            Err(CipherError::Forged(1))
        );
        // Cut at a chunk boundary and claimed to be shorter: chunk 1 was not sealed as last.
        let cut = &sealed[..chunk_span(size, 0, 1).end as usize];
        assert_eq!(
            open_all(&key, "obj", 2 * CHUNK as u64, cut),
            Err(CipherError::Forged(1))
        );
        // The same bytes under another object's name.
        assert_eq!(
            open_all(&key, "other", size, &sealed),
            Err(CipherError::Forged(0))
        );
        let other = SealingKey::new([4; 32]);
        assert_eq!(
            open_all(&other, "obj", size, &sealed),
            Err(CipherError::OtherKey(key.id().to_owned()))
        );
        assert_eq!(
            open_all(&key, "obj", size, b"plain text"),
            Err(CipherError::Malformed)
        );
    }
}
