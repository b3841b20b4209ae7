//! Secrets sealed at rest: XChaCha20-Poly1305 (an authenticated cipher with
//! 192-bit random nonces, so nonces never need counting) under a 256-bit
//! key kept in a file beside the other keys, never in the database.
//!
//! A sealed value is text, `sealed:v1:{key id}:{base64url(nonce ‖ ciphertext ‖ tag)}`:
//! the key id names the key it needs, so a copy of the database opened
//! with another key is refused by name rather than misread, and a later
//! rotation can tell old values from new. Each value is bound to its
//! context (what it is and whose: "totp secret", a user id) as associated
//! data: a ciphertext copied into another row does not open there.

use std::cell::RefCell;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, AeadInPlace, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

pub(crate) const PREFIX: &str = "sealed:v1:";
pub(crate) const NONCE_LEN: usize = 24;

thread_local! {
    static HELD: RefCell<Option<Arc<SealingKey>>> = const { RefCell::new(None) };
}

/// The data key (`crate::data_key`) held for this thread until the scope
/// ends, then the one held before (so calls may nest). The database holds
/// its key this way for the thread of each of its calls, so that the store
/// can seal and open without every caller passing the key down.
pub struct Held {
    previous: Option<Arc<SealingKey>>,
}

impl Held {
    pub fn enter(key: Option<&Arc<SealingKey>>) -> Held {
        let previous = HELD.with(|held| held.replace(key.cloned()));
        Held { previous }
    }

    /// The key held for this thread, if any.
    pub fn current() -> Option<Arc<SealingKey>> {
        HELD.with(|held| held.borrow().clone())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let previous = self.previous.take();
        HELD.with(|held| *held.borrow_mut() = previous);
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("not a sealed value")]
    Malformed,
    #[error("sealed under key {0}, which this server does not hold")]
    OtherKey(String),
    #[error("the sealed value does not open: altered, or moved from another row")]
    Forged,
    #[error("the value is too long to seal")]
    TooLong,
}

/// A sealing key and its id.
pub struct SealingKey {
    id: String,
    check_value: String,
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealingKey({})", self.id)
    }
}

impl SealingKey {
    pub fn new(key: [u8; 32]) -> Self {
        // Hashes of the key under labels of their own: the id is public
        // (it is in every sealed value), the check value is stored in the
        // database; neither says anything of the key itself.
        let labelled = |label: &[u8]| {
            let mut hash = Sha256::new();
            hash.update(label);
            hash.update(key);
            hex::encode(hash.finalize())
        };
        SealingKey {
            id: labelled(b"sijill sealing key id\0")[..16].to_owned(),
            check_value: labelled(b"sijill sealing key check\0"),
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// What the database records to recognise this key (`key_checks`).
    pub(crate) fn check_value(&self) -> &str {
        &self.check_value
    }

    /// Encrypt `buffer` in place under an explicit `nonce` (appending the
    /// tag), for a format that numbers its own nonces (attachment chunks:
    /// a random prefix and a counter, never repeated under one key).
    pub(crate) fn encrypt_chunk(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buffer: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        self.cipher
            .encrypt_in_place(&XNonce::from(*nonce), aad, buffer)
            .map_err(|_| SealError::TooLong)
    }

    /// Decrypt what [`Self::encrypt_chunk`] made, in place (the tag removed).
    pub(crate) fn decrypt_chunk(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buffer: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        self.cipher
            .decrypt_in_place(&XNonce::from(*nonce), aad, buffer)
            .map_err(|_| SealError::Forged)
    }

    /// Seal `plaintext`, bound to `context`.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<String, SealError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut rand_core::OsRng);
        let payload = Payload {
            msg: plaintext,
            aad: context,
        };
        // Encryption fails only for a message beyond the cipher's limit
        // (256 GiB).
        let ciphertext = self
            .cipher
            .encrypt(&nonce, payload)
            .map_err(|_| SealError::TooLong)?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&ciphertext);
        Ok(format!(
            "{PREFIX}{}:{}",
            self.id,
            URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    /// Open a value sealed under this key for `context`.
    pub fn open(&self, sealed: &str, context: &[u8]) -> Result<Vec<u8>, SealError> {
        let rest = sealed.strip_prefix(PREFIX).ok_or(SealError::Malformed)?;
        let (key_id, body) = rest.split_once(':').ok_or(SealError::Malformed)?;
        if key_id != self.id {
            return Err(SealError::OtherKey(key_id.to_owned()));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Malformed)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::Malformed)?;
        let payload = Payload {
            msg: ciphertext,
            aad: context,
        };
        self.cipher
            .decrypt(&XNonce::from(nonce), payload)
            .map_err(|_| SealError::Forged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let key = SealingKey::new([7; 32]);
        let sealed = key
            .seal(b"JBSWY3DPEHPK3PXP", b"totp secret\0user-1")
            .unwrap();
        assert!(sealed.starts_with(&format!("sealed:v1:{}:", key.id())));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(
            key.open(&sealed, b"totp secret\0user-1").unwrap(),
            b"JBSWY3DPEHPK3PXP"
        );
        // Random nonces: the same secret seals differently each time.
        assert_ne!(
            sealed,
            key.seal(b"JBSWY3DPEHPK3PXP", b"totp secret\0user-1")
                .unwrap()
        );
        // Moved to another user's row.
        assert_eq!(
            key.open(&sealed, b"totp secret\0user-2"),
            Err(SealError::Forged)
        );
        // Another key is named, not tried.
        let other = SealingKey::new([8; 32]);
        assert_eq!(
            other.open(&sealed, b"totp secret\0user-1"),
            Err(SealError::OtherKey(key.id().to_owned()))
        );
        // One bit changed.
        let (head, body) = sealed.rsplit_once(':').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
        bytes[30] ^= 1;
        let altered = format!("{head}:{}", URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(
            key.open(&altered, b"totp secret\0user-1"),
            Err(SealError::Forged)
        );
        assert_eq!(key.open("JBSWY3DP", b""), Err(SealError::Malformed));
    }

    #[test]
    fn the_key_id_and_check_value_reveal_nothing_of_each_other() {
        let key = SealingKey::new([7; 32]);
        assert_eq!(key.id().len(), 16);
        assert!(!key.check_value.starts_with(key.id()));
        assert_ne!(SealingKey::new([8; 32]).id(), key.id());
    }
}
