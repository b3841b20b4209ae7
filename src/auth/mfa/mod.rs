//! The second factor: TOTP (RFC 6238) with single-use recovery codes, for
//! the accounts that can see everything (docs/security.md, "Second factor").
//!
//! - `codes`: the codes a person types, and which time step a code is.
//! - `store`: credentials, recovery codes, login challenges, in the database.
//! - `check`: a code checked where a wrong one counts toward the login limit.
//! - `routes`: enrol, confirm, disable, finish a login, reset an account's.

pub mod check;
pub mod codes;
pub mod routes;
pub mod store;

use std::time::Duration;

use uuid::Uuid;

use crate::error::AppError;
use crate::sealing::SealingKey;
use crate::users::Role;

/// How a login was proven beyond the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    Totp,
    RecoveryCode,
}

impl SecondFactor {
    pub fn as_str(self) -> &'static str {
        match self {
            SecondFactor::Totp => "totp",
            SecondFactor::RecoveryCode => "recovery_code",
        }
    }

    /// As `sessions.second_factor` stores it.
    pub fn stored(value: Option<String>) -> Result<Option<Self>, AppError> {
        match value.as_deref() {
            None => Ok(None),
            Some("totp") => Ok(Some(SecondFactor::Totp)),
            Some("recovery_code") => Ok(Some(SecondFactor::RecoveryCode)),
            Some(other) => Err(AppError::internal_msg(format!(
                "unknown stored second factor {other:?}"
            ))),
        }
    }
}

/// The `key_checks` purpose of the key that seals TOTP secrets.
pub const KEY_CHECK: &str = "second-factor secrets";
/// Associated data of a sealed secret: what it is; the account id follows.
const SEAL_CONTEXT: &[u8] = b"sijill totp secret\0";

/// The second factor's settings and key.
pub struct Mfa {
    /// Roles whose accounts can do nothing but enrol until their session
    /// is proven with a second factor.
    pub required_roles: Vec<Role>,
    /// How long a login waits for its code.
    pub token_ttl: Duration,
    /// The issuer phone apps show beside the account.
    pub issuer: String,
    sealing: SealingKey,
}

impl Mfa {
    pub fn new(
        required_roles: Vec<Role>,
        token_ttl: Duration,
        issuer: String,
        sealing: SealingKey,
    ) -> Self {
        Mfa {
            required_roles,
            token_ttl,
            issuer,
            sealing,
        }
    }

    pub fn requires(&self, role: Role) -> bool {
        self.required_roles.contains(&role)
    }

    /// Seal a TOTP secret for the database, bound to its account.
    pub fn seal_secret(&self, user_id: Uuid, secret: &[u8]) -> Result<String, AppError> {
        self.sealing
            .seal(secret, &context(user_id))
            .map_err(|e| AppError::internal_msg(format!("sealing a TOTP secret: {e}")))
    }

    pub fn open_secret(&self, user_id: Uuid, sealed: &str) -> Result<Vec<u8>, AppError> {
        self.sealing
            .open(sealed, &context(user_id))
            .map_err(|e| AppError::internal_msg(format!("the TOTP secret of {user_id}: {e}")))
    }
}

fn context(user_id: Uuid) -> Vec<u8> {
    let mut context = SEAL_CONTEXT.to_vec();
    context.extend_from_slice(user_id.to_string().as_bytes());
    context
}
