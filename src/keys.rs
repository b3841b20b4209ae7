//! Ed25519 key files (PKCS#8 PEM), shared by the token signer and the audit
//! checkpoint signer. Generated on first start when absent, readable only by
//! the owner.

use std::io::Write;
use std::path::Path;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {message}")]
    File { path: String, message: String },
}

fn file_error(path: &Path, message: impl ToString) -> KeyError {
    KeyError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// The key file at `path`, parsed; when it does not exist, `create` makes
/// its text and it is written there first. Read back after writing: if
/// another process created the file at the same moment, its key wins.
fn load_or_create<T>(
    path: &Path,
    parse: impl Fn(&str) -> Result<T, String>,
    create: impl FnOnce() -> Result<String, String>,
) -> Result<T, KeyError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let new = create().map_err(|e| file_error(path, e))?;
            if write_new_secret_file(path, new.as_bytes())? {
                tracing::info!(path = %path.display(), "generated a new key");
            }
            std::fs::read_to_string(path).map_err(|e| file_error(path, e))?
        }
        Err(e) => return Err(file_error(path, e)),
    };
    parse(&text).map_err(|e| file_error(path, e))
}

/// Load the Ed25519 private key at `path`, or generate one there if the file does not exist.
pub fn load_or_generate(path: &Path) -> Result<SigningKey, KeyError> {
    load_or_create(
        path,
        |pem| SigningKey::from_pkcs8_pem(pem).map_err(|e| e.to_string()),
        || {
            let key = SigningKey::generate(&mut rand_core::OsRng);
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| e.to_string())?;
            Ok(pem.to_string())
        },
    )
}

/// The 32-byte secret at `path` (64 hex digits), or a new random one
/// written there if the file does not exist.
pub fn load_or_generate_secret(path: &Path) -> Result<[u8; 32], KeyError> {
    load_or_create(
        path,
        |text| {
            hex::decode(text.trim())
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| "expected 32 bytes as 64 hex digits".to_owned())
        },
        || {
            let mut secret = [0u8; 32];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut secret);
            Ok(format!("{}\n", hex::encode(secret)))
        },
    )
}

/// Write `contents` to a new file readable only by its owner; `false` if
/// the file already existed (another process starting at the same moment).
fn write_new_secret_file(path: &Path, contents: &[u8]) -> Result<bool, KeyError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| file_error(path, e))?;
    }
    // Written whole to a file of its own first, then linked into place:
    // a process that starts at the same moment, or a crash half-way, never
    // leaves an empty or partial key under `path`. The link fails if the
    // key exists, so two processes never overwrite each other's key.
    let mut draft = path.as_os_str().to_owned();
    draft.push(format!(".new-{}", uuid::Uuid::now_v7().simple()));
    let draft = std::path::PathBuf::from(draft);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&draft).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&draft, path));
    let _ = std::fs::remove_file(&draft);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(file_error(path, e)),
    }
}

/// Load a public key from a PEM file holding either a public or a private key.
pub fn load_verifying_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    let pem = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
    if let Ok(key) = VerifyingKey::from_public_key_pem(&pem) {
        return Ok(key);
    }
    SigningKey::from_pkcs8_pem(&pem)
        .map(|k| k.verifying_key())
        .map_err(|e| file_error(path, e))
}

/// A stable key id: the first 16 hex digits of SHA-256 over the raw public key,
/// so every server sharing a key file names it the same way.
pub fn key_id(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    hex::encode(&digest[..8])
}
