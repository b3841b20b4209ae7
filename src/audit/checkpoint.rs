//! Signed checkpoints of the chain head, so an auditor can keep the head
//! outside the database and later prove that history before it was not rewritten.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use serde::Serialize;
use utoipa::ToSchema;

use crate::keys;

#[derive(Clone)]
pub struct CheckpointSigner {
    key: SigningKey,
    key_id: String,
}

/// `signature` is Ed25519 over the UTF-8 text `"{seq}:{hash}:{signed_at}"`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "seq": 1234,
    "hash": "9a0c5e…",
    "signed_at": "2026-11-26T08:00:00.000000Z",
    "key_id": "3f9d2a61c0b4e871",
    "public_key": "MCowBQYDK2VwAyEA…",
    "signature": "q3vW…=="
}))]
pub struct SignedHead {
    pub seq: i64,
    pub hash: String,
    pub signed_at: String,
    pub key_id: String,
    /// The raw 32-byte Ed25519 public key, standard base64.
    pub public_key: String,
    /// The raw 64-byte signature, standard base64.
    pub signature: String,
}

impl CheckpointSigner {
    pub fn new(key: SigningKey) -> Self {
        let key_id = keys::key_id(&key.verifying_key());
        CheckpointSigner { key, key_id }
    }

    pub fn sign(&self, seq: i64, hash: String, signed_at: String) -> SignedHead {
        let message = format!("{seq}:{hash}:{signed_at}");
        let signature = self.key.sign(message.as_bytes());
        SignedHead {
            seq,
            hash,
            signed_at,
            key_id: self.key_id.clone(),
            public_key: STANDARD.encode(self.key.verifying_key().as_bytes()),
            signature: STANDARD.encode(signature.to_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};

    #[test]
    fn a_signed_head_verifies_with_its_public_key() {
        let signer = CheckpointSigner::new(SigningKey::generate(&mut rand_core::OsRng));
        let head = signer.sign(7, "ab".repeat(32), "2026-11-26T08:00:00.000000Z".into());
        let public: [u8; 32] = STANDARD
            .decode(&head.public_key)
            .unwrap()
            .try_into()
            .unwrap();
        let signature: [u8; 64] = STANDARD
            .decode(&head.signature)
            .unwrap()
            .try_into()
            .unwrap();
        let key = VerifyingKey::from_bytes(&public).unwrap();
        let message = format!("{}:{}:{}", head.seq, head.hash, head.signed_at);
        assert!(key
            .verify(message.as_bytes(), &Signature::from_bytes(&signature))
            .is_ok());
        assert!(key
            .verify(b"8:x:y", &Signature::from_bytes(&signature))
            .is_err());
    }
}
