//! Access tokens: short-lived JWTs (RFC 9068 profile) signed with Ed25519.
//!
//! The algorithm is pinned to EdDSA; the key is chosen only from our own key
//! set by `kid`; every claim is required and checked. Refresh tokens are
//! opaque random strings, stored only as SHA-256 hashes.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use moka::sync::Cache;
use moka::Expiry;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::AppError;
use crate::keys::{self, KeyError};

pub const AUDIENCE: &str = "sijill-api";
/// RFC 9068 header `typ`.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// Our `typ` claim, so no other kind of token we might sign is taken for an access token.
const ACCESS_CLAIM_TYP: &str = "access";
/// Clock skew tolerated between servers, in seconds.
const LEEWAY_SECS: u64 = 10;
const REFRESH_TOKEN_PREFIX: &str = "sjr_";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: Uuid,
    pub sid: Uuid,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: Uuid,
    pub typ: String,
}

/// Tokens already verified, by SHA-256 of the whole token. Verifying an
/// Ed25519 signature and parsing the claims is most of the CPU an
/// authenticated read costs; a token is presented many times in its 15
/// minutes. Only the signature and claims checks are skipped on a hit: the
/// session and account are still checked in the database on every request.
///
/// A `moka` cache rather than `quick_cache`: moka expires each entry by
/// itself, here when its token expires (`UntilExpiry`), so a remembered
/// token leaves memory with its validity, and a full cache evicts the
/// least useful entries one by one (quick_cache has no expiry: we would
/// keep checking and sweeping it by hand, which is what this replaces).
/// The same crate serves `search::common_keys`.
struct VerifiedTokens {
    entries: Cache<[u8; 32], AccessClaims>,
}

/// Bound on remembered tokens.
const VERIFIED_TOKENS_MAX: u64 = 10_000;

impl VerifiedTokens {
    /// Entries live at most `ttl`, the access-token lifetime.
    fn new(ttl: Duration) -> Self {
        VerifiedTokens {
            entries: Cache::builder()
                .max_capacity(VERIFIED_TOKENS_MAX)
                .expire_after(UntilExpiry { ttl })
                .build(),
        }
    }

    /// The claims are checked again on every hit: the cache's expiry is
    /// housekeeping, this is the rule.
    fn get(&self, key: &[u8; 32], now: i64) -> Option<AccessClaims> {
        self.entries
            .get(key)
            .filter(|c| c.exp > now && c.nbf <= now + LEEWAY_SECS as i64)
    }

    fn insert(&self, key: [u8; 32], claims: AccessClaims) {
        self.entries.insert(key, claims);
    }
}

/// A remembered token is dropped when it expires (`exp`, to the
/// millisecond), and never outlives the access-token lifetime, whatever
/// `exp` a token signed with an earlier key carries.
struct UntilExpiry {
    ttl: Duration,
}

impl Expiry<[u8; 32], AccessClaims> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        claims: &AccessClaims,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        let left_ms = claims
            .exp
            .saturating_mul(1000)
            .saturating_sub(chrono::Utc::now().timestamp_millis());
        let left = Duration::from_millis(u64::try_from(left_ms).unwrap_or(0));
        Some(left.min(self.ttl))
    }
}

pub struct TokenService {
    verified: VerifiedTokens,
    issuer: String,
    ttl: Duration,
    signing_kid: String,
    encoding: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    validation: Validation,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenSetupError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("cannot encode the signing key: {0}")]
    Encode(String),
}

impl TokenService {
    /// Load (or generate) the signing key and the earlier keys still accepted.
    pub fn load(
        issuer: &str,
        ttl: Duration,
        key_file: &Path,
        verify_key_files: &[std::path::PathBuf],
    ) -> Result<Self, TokenSetupError> {
        let signing = keys::load_or_generate(key_file)?;
        let mut earlier = Vec::new();
        for path in verify_key_files {
            earlier.push(keys::load_verifying_key(path)?);
        }
        Self::from_keys(issuer, ttl, &signing, &earlier)
    }

    pub fn from_keys(
        issuer: &str,
        ttl: Duration,
        signing: &SigningKey,
        earlier: &[VerifyingKey],
    ) -> Result<Self, TokenSetupError> {
        let der = signing
            .to_pkcs8_der()
            .map_err(|e| TokenSetupError::Encode(e.to_string()))?;
        let signing_public = signing.verifying_key();
        let signing_kid = keys::key_id(&signing_public);
        let mut verifying = HashMap::new();
        for key in std::iter::once(&signing_public).chain(earlier) {
            verifying.insert(keys::key_id(key), DecodingKey::from_ed_der(key.as_bytes()));
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        Ok(TokenService {
            verified: VerifiedTokens::new(ttl),
            issuer: issuer.to_owned(),
            ttl,
            signing_kid,
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            verifying,
            validation,
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn issue(&self, user_id: Uuid, session_id: Uuid) -> Result<String, AppError> {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            sub: user_id,
            sid: session_id,
            iat: now,
            nbf: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: Uuid::now_v7(),
            typ: ACCESS_CLAIM_TYP.to_owned(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
        header.kid = Some(self.signing_kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| AppError::internal_msg(format!("signing a token: {e}")))
    }

    /// Every check; any failure is the same 401.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, AppError> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = chrono::Utc::now().timestamp();
        if let Some(claims) = self.verified.get(&key, now) {
            return Ok(claims);
        }
        let claims = self.verify_uncached(token)?;
        self.verified.insert(key, claims.clone());
        Ok(claims)
    }

    fn verify_uncached(&self, token: &str) -> Result<AccessClaims, AppError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AppError::Unauthorized)?;
        if header.alg != Algorithm::EdDSA {
            return Err(AppError::Unauthorized);
        }
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err(AppError::Unauthorized);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.verifying.get(kid))
            .ok_or(AppError::Unauthorized)?;
        let data = jsonwebtoken::decode::<AccessClaims>(token, key, &self.validation)
            .map_err(|_| AppError::Unauthorized)?;
        let claims = data.claims;
        let now = chrono::Utc::now().timestamp();
        if claims.typ != ACCESS_CLAIM_TYP || claims.iat > now + LEEWAY_SECS as i64 {
            return Err(AppError::Unauthorized);
        }
        Ok(claims)
    }
}

/// The prefix of the `mfa_token` of a login waiting for its second factor.
pub const MFA_TOKEN_PREFIX: &str = "sjm_";

/// A new opaque token (256 random bits after `prefix`) and the hash under
/// which it is stored.
pub fn new_opaque_token(prefix: &str) -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = opaque_token_hash(&token);
    (token, hash)
}

/// How an opaque token is stored: its SHA-256 (the token is random, so
/// no salt or slow hash is needed; a copy of the table gives no token).
pub fn opaque_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new opaque refresh token and the hash under which it is stored.
pub fn new_refresh_token() -> (String, String) {
    new_opaque_token(REFRESH_TOKEN_PREFIX)
}

pub fn refresh_token_hash(token: &str) -> String {
    opaque_token_hash(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(key: &SigningKey) -> TokenService {
        TokenService::from_keys("sijill", Duration::from_secs(900), key, &[]).unwrap()
    }

    #[test]
    fn issued_tokens_verify_and_carry_every_claim() {
        let key = SigningKey::generate(&mut rand_core::OsRng);
        let tokens = service(&key);
        let (user, session) = (Uuid::now_v7(), Uuid::now_v7());
        let token = tokens.issue(user, session).unwrap();
        let claims = tokens.verify(&token).unwrap();
        assert_eq!((claims.sub, claims.sid), (user, session));
        assert_eq!(claims.aud, AUDIENCE);
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn another_issuer_or_key_is_refused() {
        let key = SigningKey::generate(&mut rand_core::OsRng);
        let token = service(&key).issue(Uuid::now_v7(), Uuid::now_v7()).unwrap();
        let other =
            TokenService::from_keys("elsewhere", Duration::from_secs(900), &key, &[]).unwrap();
        assert!(other.verify(&token).is_err());
        let stranger = service(&SigningKey::generate(&mut rand_core::OsRng));
        assert!(stranger.verify(&token).is_err());
    }

    #[test]
    fn a_remembered_token_still_expires_and_a_forged_one_is_not_remembered() {
        let key = SigningKey::generate(&mut rand_core::OsRng);
        let tokens = service(&key);
        let token = tokens.issue(Uuid::now_v7(), Uuid::now_v7()).unwrap();
        assert!(tokens.verify(&token).is_ok());
        assert!(tokens.verify(&token).is_ok(), "second time, from memory");
        let mut forged = token.clone();
        forged.push('A');
        assert!(tokens.verify(&forged).is_err());
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = chrono::Utc::now().timestamp();
        let exp = tokens.verified.get(&digest, now).unwrap().exp;
        assert!(
            tokens.verified.get(&digest, exp).is_none(),
            "expired in memory too"
        );
    }

    /// The memory itself lets a token go when it expires, or after the
    /// access-token lifetime, whichever comes first.
    #[test]
    fn a_remembered_token_leaves_memory_when_it_expires() {
        let claims = |exp: i64| AccessClaims {
            iss: "sijill".to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: Uuid::now_v7(),
            sid: Uuid::now_v7(),
            iat: exp - 900,
            nbf: exp - 900,
            exp,
            jti: Uuid::now_v7(),
            typ: ACCESS_CLAIM_TYP.to_owned(),
        };
        let now = chrono::Utc::now().timestamp();
        let memory = VerifiedTokens::new(Duration::from_millis(100));
        memory.insert([1; 32], claims(now));
        memory.insert([2; 32], claims(now + 900));
        assert!(memory.entries.get(&[1; 32]).is_none(), "expired already");
        assert!(memory.entries.get(&[2; 32]).is_some());
        std::thread::sleep(Duration::from_millis(150));
        assert!(memory.entries.get(&[2; 32]).is_none(), "past the lifetime");
    }

    #[test]
    fn rotated_keys_are_still_accepted_by_kid() {
        let old = SigningKey::generate(&mut rand_core::OsRng);
        let token = service(&old).issue(Uuid::now_v7(), Uuid::now_v7()).unwrap();
        let new = SigningKey::generate(&mut rand_core::OsRng);
        let rotated = TokenService::from_keys(
            "sijill",
            Duration::from_secs(900),
            &new,
            &[old.verifying_key()],
        )
        .unwrap();
        assert!(rotated.verify(&token).is_ok());
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let (a, hash_a) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert!(a.starts_with("sjr_"));
        assert_eq!(hash_a, refresh_token_hash(&a));
        assert!(!hash_a.contains(&a));
    }
}
