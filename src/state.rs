//! What every handler shares: the database and the services built at start-up.

use std::sync::Arc;

use crate::audit::access::AccessLog;
use crate::audit::{CheckpointSigner, Fingerprints};
use crate::auth::mfa::Mfa;
use crate::auth::password::PasswordHasher;
use crate::auth::throttle::ThrottlePolicy;
use crate::auth::tokens::TokenService;
use crate::db::Database;
use crate::search::common_keys::CommonKeys;

pub struct AppState {
    pub db: Database,
    pub tokens: Arc<TokenService>,
    pub hasher: PasswordHasher,
    pub throttle: ThrottlePolicy,
    pub checkpoints: CheckpointSigner,
    /// Keys what the audit log shows of confidential text.
    pub fingerprints: Fingerprints,
    pub access_log: AccessLog,
    pub refresh_token_ttl: std::time::Duration,
    /// Name keys too common to look up, remembered between searches.
    pub common_keys: Arc<CommonKeys>,
    /// The second factor's policy and the key that seals its secrets.
    pub mfa: Mfa,
    /// Uploads waiting to be imported, and the jobs running.
    pub imports: crate::imports::queue::Imports,
    /// Where attachment contents are kept.
    pub attachments: crate::attachments::Attachments,
}
