//! Settings, read from the environment, each with a default that runs out of the box.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::auth::password::HashParams;
pub use crate::http::client::TrustedProxies;
use crate::users::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// `sqlite://path` or `postgres://…`.
    pub database_url: String,
    /// `host:port`; port 0 picks a free port (tests).
    pub bind: String,
    /// Where keys (and the default SQLite file) live.
    pub data_dir: PathBuf,
    pub token_issuer: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub token_key_file: PathBuf,
    /// Earlier public (or private) keys whose tokens are still accepted after a rotation.
    pub token_verify_key_files: Vec<PathBuf>,
    pub audit_key_file: PathBuf,
    /// The secret that keys fingerprints of confidential text in the audit log.
    pub fingerprint_key_file: PathBuf,
    pub bootstrap_admin_password: Option<SecretString>,
    pub workers: usize,
    pub db_pool_size: u32,
    /// How many argon2 hashes may run at once (each holds `memory_kib` of RAM).
    pub password_hash_slots: usize,
    pub password_hash: HashParams,
    pub login_throttle_window: Duration,
    pub login_max_failures_per_user: i64,
    pub login_max_failures_per_client: i64,
    pub log_format: LogFormat,
    /// The reverse proxies in front of sijill: behind them, the client is
    /// the rightmost `X-Forwarded-For` address that is not one of them.
    pub trusted_proxies: TrustedProxies,
    /// Roles whose accounts must have a second factor: without one, they
    /// can do nothing but enrol (`SIJILL_MFA_REQUIRED_ROLES`).
    pub mfa_required_roles: Vec<Role>,
    /// The key that seals second-factor secrets (`SIJILL_MFA_KEY_FILE`).
    pub mfa_key_file: PathBuf,
    /// `SIJILL_ATTACHMENT_STORE`: `s3://bucket/prefix`, or none for a
    /// directory under the data directory.
    pub attachment_store: Option<String>,
    /// The largest attachment accepted (`SIJILL_ATTACHMENT_MAX_BYTES`).
    pub attachment_max_bytes: u64,
    /// The data key: `source_notes` and attachment contents are encrypted
    /// under it (`SIJILL_DATA_KEY_FILE`).
    pub data_key_file: PathBuf,
    /// How long the `mfa_token` of a login waiting for its code lives.
    pub mfa_token_ttl: Duration,
    /// The largest list `POST /imports` accepts (`SIJILL_IMPORT_MAX_BYTES`).
    pub import_max_bytes: u64,
    /// Import jobs that run at once, across organisations (one at a time
    /// within one) (`SIJILL_IMPORT_WORKERS`).
    pub import_workers: usize,
    /// How many times its last batch's work an import pauses while others
    /// are being served, on PostgreSQL; 0: never (`SIJILL_IMPORT_YIELD`,
    /// see `imports::pacing`).
    pub import_yield: u32,
    /// The program the server runs each import job in
    /// (`PROGRAM import-worker`, see `imports::worker`): this binary
    /// itself; tests name the built binary.
    pub import_worker_program: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error("setting {name}: {message}")]
pub struct SettingsError {
    name: &'static str,
    message: String,
}

impl Settings {
    /// Defaults, with every file under `data_dir`.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Settings {
            database_url: format!("sqlite://{}", data_dir.join("sijill.db").display()),
            bind: "127.0.0.1:8080".to_owned(),
            token_key_file: data_dir.join("token-signing-key.pem"),
            audit_key_file: data_dir.join("audit-checkpoint-key.pem"),
            fingerprint_key_file: data_dir.join("fingerprint-key"),
            mfa_key_file: data_dir.join("mfa-key"),
            data_key_file: data_dir.join("data-key"),
            attachment_store: None,
            attachment_max_bytes: 100 * 1024 * 1024,
            data_dir,
            token_issuer: "sijill".to_owned(),
            access_token_ttl: Duration::from_secs(900),
            refresh_token_ttl: Duration::from_secs(43_200),
            token_verify_key_files: Vec::new(),
            bootstrap_admin_password: None,
            workers: cores,
            db_pool_size: 4,
            // Half the cores at most: a login flood must leave CPU for everyone else.
            password_hash_slots: (cores / 2).max(1),
            password_hash: HashParams::OWASP,
            login_throttle_window: Duration::from_secs(15 * 60),
            login_max_failures_per_user: 5,
            login_max_failures_per_client: 50,
            log_format: LogFormat::Text,
            trusted_proxies: TrustedProxies::default(),
            mfa_required_roles: vec![Role::Admin, Role::Auditor],
            mfa_token_ttl: Duration::from_secs(300),
            import_max_bytes: 256 * 1024 * 1024,
            import_workers: 1,
            import_yield: crate::imports::pacing::DEFAULT_FACTOR,
            // Linux runs the file of the running process even if it was
            // replaced on disk since (an upgrade): a job never runs another
            // version's code against this version's schema.
            import_worker_program: PathBuf::from("/proc/self/exe"),
        }
    }

    /// The variables that make a process started by this one (an import
    /// worker) read the same database and keys, whatever the environment
    /// this one was started with: its own settings may come from code
    /// (tests) rather than from its environment.
    pub fn worker_environment(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        vec![
            ("DATABASE_URL", self.database_url.clone().into()),
            ("SIJILL_DATA_DIR", self.data_dir.clone().into()),
            (
                "SIJILL_FINGERPRINT_KEY_FILE",
                self.fingerprint_key_file.clone().into(),
            ),
            ("SIJILL_DATA_KEY_FILE", self.data_key_file.clone().into()),
            ("SIJILL_IMPORT_YIELD", self.import_yield.to_string().into()),
            (
                "SIJILL_LOG_FORMAT",
                match self.log_format {
                    LogFormat::Text => "text",
                    LogFormat::Json => "json",
                }
                .into(),
            ),
        ]
    }

    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| {
            // An empty SIJILL_MFA_REQUIRED_ROLES says "no role"; any other
            // empty setting is as good as unset.
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty() || name == MFA_REQUIRED_ROLES)
        })
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let data_dir = get("SIJILL_DATA_DIR").unwrap_or_else(|| "./sijill-data".to_owned());
        let mut s = Settings::with_data_dir(PathBuf::from(data_dir));
        if let Some(v) = get("DATABASE_URL") {
            s.database_url = v;
        }
        if let Some(v) = get("SIJILL_BIND") {
            s.bind = v;
        }
        if let Some(v) = get("SIJILL_TOKEN_ISSUER") {
            s.token_issuer = v;
        }
        if let Some(v) = get("SIJILL_ACCESS_TOKEN_TTL") {
            s.access_token_ttl =
                Duration::from_secs(number("SIJILL_ACCESS_TOKEN_TTL", &v, 10, 86_400)?);
        }
        if let Some(v) = get("SIJILL_REFRESH_TOKEN_TTL") {
            s.refresh_token_ttl =
                Duration::from_secs(number("SIJILL_REFRESH_TOKEN_TTL", &v, 60, 30 * 86_400)?);
        }
        if let Some(v) = get("SIJILL_TOKEN_KEY_FILE") {
            s.token_key_file = v.into();
        }
        if let Some(v) = get("SIJILL_TOKEN_VERIFY_KEY_FILES") {
            s.token_verify_key_files = v
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect();
        }
        if let Some(v) = get("SIJILL_AUDIT_KEY_FILE") {
            s.audit_key_file = v.into();
        }
        if let Some(v) = get("SIJILL_FINGERPRINT_KEY_FILE") {
            s.fingerprint_key_file = v.into();
        }
        if let Some(v) = get("SIJILL_MFA_KEY_FILE") {
            s.mfa_key_file = v.into();
        }
        if let Some(v) = get("SIJILL_DATA_KEY_FILE") {
            s.data_key_file = v.into();
        }
        if let Some(v) = get(MFA_REQUIRED_ROLES) {
            s.mfa_required_roles = roles(MFA_REQUIRED_ROLES, &v)?;
        }
        if let Some(v) = get("SIJILL_MFA_TOKEN_TTL") {
            s.mfa_token_ttl = Duration::from_secs(number("SIJILL_MFA_TOKEN_TTL", &v, 1, 900)?);
        }
        if let Some(v) = get("SIJILL_IMPORT_MAX_BYTES") {
            s.import_max_bytes = number("SIJILL_IMPORT_MAX_BYTES", &v, 1, 16 << 30)?;
        }
        if let Some(v) = get("SIJILL_ATTACHMENT_STORE").filter(|v| !v.is_empty()) {
            s.attachment_store = Some(v);
        }
        if let Some(v) = get("SIJILL_ATTACHMENT_MAX_BYTES") {
            s.attachment_max_bytes = number("SIJILL_ATTACHMENT_MAX_BYTES", &v, 1, 16 << 30)?;
        }
        if let Some(v) = get("SIJILL_IMPORT_WORKERS") {
            s.import_workers = number("SIJILL_IMPORT_WORKERS", &v, 1, 16)? as usize;
        }
        if let Some(v) = get("SIJILL_IMPORT_YIELD") {
            s.import_yield = number("SIJILL_IMPORT_YIELD", &v, 0, 20)? as u32;
        }
        s.bootstrap_admin_password = get("SIJILL_BOOTSTRAP_ADMIN_PASSWORD").map(SecretString::from);
        if let Some(v) = get("SIJILL_WORKERS") {
            s.workers = number("SIJILL_WORKERS", &v, 1, 256)? as usize;
        }
        if let Some(v) = get("SIJILL_DB_POOL_SIZE") {
            s.db_pool_size = number("SIJILL_DB_POOL_SIZE", &v, 1, 256)? as u32;
        }
        if let Some(v) = get("SIJILL_PASSWORD_HASH_SLOTS") {
            s.password_hash_slots = number("SIJILL_PASSWORD_HASH_SLOTS", &v, 1, 64)? as usize;
        }
        // Only stronger than OWASP's minimum (m=19456 KiB, t=2, p=1) is accepted.
        if let Some(v) = get("SIJILL_ARGON2_MEMORY_KIB") {
            s.password_hash.memory_kib =
                number("SIJILL_ARGON2_MEMORY_KIB", &v, 19_456, 4 * 1024 * 1024)? as u32;
        }
        if let Some(v) = get("SIJILL_ARGON2_ITERATIONS") {
            s.password_hash.iterations = number("SIJILL_ARGON2_ITERATIONS", &v, 2, 64)? as u32;
        }
        if let Some(v) = get("SIJILL_ARGON2_PARALLELISM") {
            s.password_hash.parallelism = number("SIJILL_ARGON2_PARALLELISM", &v, 1, 16)? as u32;
        }
        if let Some(v) = get("SIJILL_LOGIN_THROTTLE_WINDOW") {
            s.login_throttle_window =
                Duration::from_secs(number("SIJILL_LOGIN_THROTTLE_WINDOW", &v, 1, 86_400)?);
        }
        if let Some(v) = get("SIJILL_LOGIN_MAX_FAILURES") {
            s.login_max_failures_per_user =
                number("SIJILL_LOGIN_MAX_FAILURES", &v, 1, 1000)? as i64;
        }
        if let Some(v) = get("SIJILL_LOGIN_MAX_FAILURES_PER_CLIENT") {
            s.login_max_failures_per_client =
                number("SIJILL_LOGIN_MAX_FAILURES_PER_CLIENT", &v, 1, 100_000)? as i64;
        }
        if let Some(v) = get("SIJILL_LOG_FORMAT") {
            s.log_format = match v.as_str() {
                "json" => LogFormat::Json,
                "text" => LogFormat::Text,
                _ => {
                    return Err(SettingsError {
                        name: "SIJILL_LOG_FORMAT",
                        message: "expected `text` or `json`".into(),
                    })
                }
            };
        }
        if get("SIJILL_TRUST_X_FORWARDED_FOR").is_some() {
            // Refused rather than ignored: a deployment that relied on it
            // would otherwise see every client as its proxy, and lock them
            // all out together.
            return Err(SettingsError {
                name: "SIJILL_TRUST_X_FORWARDED_FOR",
                message: "replaced by SIJILL_TRUSTED_PROXIES: list your proxies' addresses or \
                          CIDR ranges (for example 10.0.0.5,10.1.0.0/16)"
                    .into(),
            });
        }
        if let Some(v) = get("SIJILL_TRUSTED_PROXIES") {
            s.trusted_proxies = TrustedProxies::parse(&v).map_err(|message| SettingsError {
                name: "SIJILL_TRUSTED_PROXIES",
                message,
            })?;
        }
        Ok(s)
    }
}

const MFA_REQUIRED_ROLES: &str = "SIJILL_MFA_REQUIRED_ROLES";

/// A comma-separated list of role names; empty for none.
fn roles(name: &'static str, value: &str) -> Result<Vec<Role>, SettingsError> {
    let mut roles = Vec::new();
    for word in value.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let role = Role::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == word)
            .ok_or_else(|| SettingsError {
                name,
                message: format!(
                    "unknown role `{word}` (the roles: admin, caseworker, reviewer, \
                     family_representative, auditor)"
                ),
            })?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    Ok(roles)
}

fn number(name: &'static str, value: &str, min: u64, max: u64) -> Result<u64, SettingsError> {
    let n: u64 = value.trim().parse().map_err(|_| SettingsError {
        name,
        message: format!("`{value}` is not a whole number"),
    })?;
    if n < min || n > max {
        return Err(SettingsError {
            name,
            message: format!("{n} is outside {min}..={max}"),
        });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_run_out_of_the_box() {
        let s = from(&[]).unwrap();
        assert_eq!(s.database_url, "sqlite://./sijill-data/sijill.db");
        assert_eq!(s.bind, "127.0.0.1:8080");
        assert_eq!(s.access_token_ttl, Duration::from_secs(900));
        assert_eq!(s.password_hash, HashParams::OWASP);
    }

    #[test]
    fn proxies_are_addresses_or_ranges_and_the_old_switch_is_refused() {
        let s = from(&[("SIJILL_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16,::1")]).unwrap();
        assert_eq!(s.trusted_proxies.len(), 3);
        assert!(from(&[("SIJILL_TRUSTED_PROXIES", "10.0.0.0/33")]).is_err());
        assert!(from(&[("SIJILL_TRUSTED_PROXIES", "proxy.internal")]).is_err());
        assert!(from(&[("SIJILL_TRUST_X_FORWARDED_FOR", "true")]).is_err());
    }

    #[test]
    fn second_factor_roles_default_to_admin_and_auditor_and_may_be_none() {
        assert_eq!(
            from(&[]).unwrap().mfa_required_roles,
            [Role::Admin, Role::Auditor]
        );
        let s = from(&[("SIJILL_MFA_REQUIRED_ROLES", " reviewer,auditor ,reviewer")]).unwrap();
        assert_eq!(s.mfa_required_roles, [Role::Reviewer, Role::Auditor]);
        assert!(from(&[("SIJILL_MFA_REQUIRED_ROLES", "")])
            .unwrap()
            .mfa_required_roles
            .is_empty());
        assert!(from(&[("SIJILL_MFA_REQUIRED_ROLES", "admins")]).is_err());
        assert!(from(&[("SIJILL_MFA_TOKEN_TTL", "0")]).is_err());
    }

    #[test]
    fn a_worker_reads_the_database_and_keys_of_the_process_that_started_it() {
        let mut started = Settings::with_data_dir("/srv/sijill");
        started.database_url = "postgres://sijill@db/records".to_owned();
        started.fingerprint_key_file = "/keys/fingerprint".into();
        started.data_key_file = "/keys/data".into();
        started.log_format = LogFormat::Json;
        started.import_yield = 0;
        let environment: HashMap<String, String> = started
            .worker_environment()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into_string().unwrap()))
            .collect();
        let worker = Settings::from_lookup(|k| environment.get(k).cloned()).unwrap();
        assert_eq!(worker.database_url, started.database_url);
        assert_eq!(worker.data_dir, started.data_dir);
        assert_eq!(worker.fingerprint_key_file, started.fingerprint_key_file);
        assert_eq!(worker.data_key_file, started.data_key_file);
        assert_eq!(worker.log_format, started.log_format);
        assert_eq!(worker.import_yield, 0, "how its imports yield");
    }

    #[test]
    fn imports_yield_three_times_their_batch_unless_told_otherwise() {
        assert_eq!(from(&[]).unwrap().import_yield, 3);
        assert_eq!(
            from(&[("SIJILL_IMPORT_YIELD", "0")]).unwrap().import_yield,
            0
        );
        assert!(from(&[("SIJILL_IMPORT_YIELD", "21")]).is_err());
        assert!(from(&[("SIJILL_IMPORT_YIELD", "-1")]).is_err());
    }

    #[test]
    fn weaker_than_owasp_hashing_is_refused() {
        assert!(from(&[("SIJILL_ARGON2_MEMORY_KIB", "4096")]).is_err());
        assert!(from(&[("SIJILL_ARGON2_ITERATIONS", "1")]).is_err());
        assert_eq!(
            from(&[("SIJILL_ARGON2_MEMORY_KIB", "65536")])
                .unwrap()
                .password_hash
                .memory_kib,
            65_536
        );
    }
}
