//! Keyed fingerprints: what the audit log shows of text it must not hold.
//!
//! `source_notes` name informants, and a failed login's username field
//! sometimes holds a password typed in the wrong box. The log records only
//! an HMAC-SHA-256 of such text, keyed with a secret kept beside the other
//! key files (never in the database): someone holding an audit export can
//! see *that* the text changed, or that two attempts typed the same thing,
//! but cannot confirm a guess at what it was — as they could with a plain
//! hash of a short note.

use std::path::Path;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::db::{key_checks, Database};
use crate::keys::{self, KeyError};

/// The `key_checks` row of the fingerprint key.
const KEY_CHECK: &str = "fingerprint";

/// What a fingerprint is of; each purpose keys its own MAC, so a
/// fingerprint of one kind can never be matched against another.
#[derive(Debug, Clone, Copy)]
enum Purpose {
    SourceNotes,
    TypedUsername,
    KeyCheck,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::SourceNotes => b"sijill source_notes\0",
            Purpose::TypedUsername => b"sijill typed username\0",
            Purpose::KeyCheck => b"sijill key check\0",
        }
    }
}

/// The fingerprint key (`SIJILL_FINGERPRINT_KEY_FILE`). Every server
/// process sharing a database must share it, as they share the signing keys.
#[derive(Clone)]
pub struct Fingerprints {
    key: [u8; 32],
}

impl std::fmt::Debug for Fingerprints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fingerprints(…)")
    }
}

/// Hex digits of the MAC shown in an audit entry: 64 bits tell changes
/// apart; the key, not the length, is what keeps guesses out.
const SHOWN_HEX_DIGITS: usize = 16;

impl Fingerprints {
    pub fn new(key: [u8; 32]) -> Self {
        Fingerprints { key }
    }

    /// The key at `path`, generated there on first start.
    pub fn load_or_generate(path: &Path) -> Result<Self, KeyError> {
        Ok(Fingerprints::new(keys::load_or_generate_secret(path)?))
    }

    /// The key at `path`, checked against the one `db` was set up with (a
    /// MAC of a fixed text, recorded by the first process to start): every
    /// process on one database must fingerprint alike, or each would count
    /// login attempts apart and the audit log could not compare fingerprints.
    pub fn for_database(path: &Path, db: &Database) -> Result<Self, KeyError> {
        let fingerprints = Fingerprints::load_or_generate(path)?;
        let mine = fingerprints.mac(Purpose::KeyCheck, "");
        let agrees = key_checks::agrees(db, KEY_CHECK, &mine).map_err(|e| KeyError::File {
            path: path.display().to_string(),
            message: format!("cannot check it against the database: {e:?}"),
        })?;
        if !agrees {
            return Err(KeyError::File {
                path: path.display().to_string(),
                message: "this is not the fingerprint key this database was set up with. Every \
                          server and command on one database must use the same key file: \
                          restore it (or point SIJILL_FINGERPRINT_KEY_FILE at it). If it is lost \
                          for good, see docs/security.md (\"Keys\")"
                    .into(),
            });
        }
        Ok(fingerprints)
    }

    fn mac(&self, purpose: Purpose, text: &str) -> String {
        // HMAC pads a key shorter than SHA-256's 64-byte block with zeros
        // (RFC 2104), so the padded block is the same key, given in the
        // fixed size that cannot be refused.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&self.key);
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
        mac.update(purpose.label());
        mac.update(text.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// `source_notes` as the audit log shows them: `null`, or `hmac:` and
    /// 16 hex digits.
    pub fn source_notes(&self, notes: &Option<String>) -> Value {
        match notes {
            None => Value::Null,
            Some(text) => Value::String(format!(
                "hmac:{}",
                &self.mac(Purpose::SourceNotes, text)[..SHOWN_HEX_DIGITS]
            )),
        }
    }

    /// What was typed as a username that names no account, as the audit log
    /// shows it: `hmac:` and 16 hex digits.
    pub fn typed_username(&self, typed: &str) -> String {
        format!(
            "hmac:{}",
            &self.mac(Purpose::TypedUsername, typed)[..SHOWN_HEX_DIGITS]
        )
    }

    /// The full MAC of a typed username: the key under which login
    /// attempts are counted, so the throttle table holds no typed text either.
    pub fn login_key(&self, typed: &str) -> String {
        self.mac(Purpose::TypedUsername, typed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_keyed_and_separated_by_purpose() {
        let a = Fingerprints::new([1; 32]);
        let b = Fingerprints::new([2; 32]);
        let notes = Some("Informant K.".to_owned());
        let fa = a.source_notes(&notes);
        assert!(fa.as_str().unwrap().starts_with("hmac:"));
        assert_eq!(fa.as_str().unwrap().len(), 5 + 16);
        assert_eq!(fa, a.source_notes(&notes), "stable under one key");
        assert_ne!(
            fa,
            b.source_notes(&notes),
            "another key, another fingerprint"
        );
        assert_eq!(a.source_notes(&None), Value::Null);
        // The same text fingerprinted for another purpose does not match.
        assert_ne!(
            fa.as_str().unwrap(),
            a.typed_username("Informant K.").as_str()
        );
        // A plain SHA-256 of the text appears nowhere in it.
        use sha2::Digest;
        let plain = hex::encode(sha2::Sha256::digest(b"Informant K."));
        assert!(!fa.as_str().unwrap().contains(&plain[..16]));
        assert!(a
            .login_key("admin")
            .starts_with(&a.typed_username("admin")[5..]));
        // The zero-padded block is RFC 2104's key for a 32-byte secret.
        let mut reference = <Hmac<Sha256> as Mac>::new_from_slice(&[1; 32]).unwrap();
        reference.update(b"sijill source_notes\0Informant K.");
        let expected = hex::encode(reference.finalize().into_bytes());
        assert_eq!(fa.as_str().unwrap()[5..], expected[..16]);
    }
}
