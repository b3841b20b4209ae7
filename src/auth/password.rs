//! Passwords: the policy for new ones, argon2id hashing off the async
//! workers with a bounded number of concurrent hashes, and verification that
//! costs the same for unknown users as for wrong passwords.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::error::AppError;

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl HashParams {
    /// OWASP's recommended minimum for argon2id.
    pub const OWASP: HashParams = HashParams {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };

    fn argon2(&self) -> Result<Argon2<'static>, AppError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| AppError::internal_msg(format!("argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Was `phc` made with exactly these parameters (and argon2id v19)?
    fn matches(&self, phc: &PasswordHash<'_>) -> bool {
        let param = |name: &str| phc.params.get_decimal(name);
        phc.algorithm.as_str() == "argon2id"
            && phc.version == Some(0x13)
            && param("m") == Some(self.memory_kib)
            && param("t") == Some(self.iterations)
            && param("p") == Some(self.parallelism)
    }
}

/// Refuse passwords that are too short, too long or guessable (zxcvbn < 3).
/// Length is counted in characters, exactly as typed (no trimming).
pub fn check_policy(password: &SecretString, user_inputs: &[&str]) -> Result<(), AppError> {
    let password = password.expose_secret();
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AppError::validation(format!(
            "password must be at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(AppError::validation(format!(
            "password must be at most {MAX_PASSWORD_CHARS} characters"
        )));
    }
    let strength = zxcvbn::zxcvbn(password, user_inputs);
    if u8::from(strength.score()) < 3 {
        return Err(AppError::validation(
            "password is too common or too easy to guess; use a longer, less predictable passphrase",
        ));
    }
    Ok(())
}

/// The result of checking a password at login.
pub struct Verified {
    pub valid: bool,
    /// A fresh hash with the current parameters, when the stored one is outdated.
    pub rehashed: Option<String>,
}

/// argon2id with a bounded number of hashing slots. Each hash holds
/// `memory_kib` of RAM and a core for tens of milliseconds; the slots keep a
/// login flood from exhausting memory or starving other requests.
///
/// Hashes run on a fixed set of dedicated threads, one per slot, rather than
/// on the general blocking pool: the allocator keeps each thread's freed
/// argon2 memory in that thread's arena, so hashing on whichever of hundreds
/// of blocking threads is free would grow the process by `memory_kib` per
/// thread (measured: 0.6–2 GB under a login flood). With dedicated threads
/// the retained memory is bounded by `slots × memory_kib`.
#[derive(Clone)]
pub struct PasswordHasher {
    params: HashParams,
    slots: Arc<Semaphore>,
    workers: HashWorkers,
    /// Verified against when the username is unknown, so that answer takes as long.
    dummy_hash: Arc<String>,
}

/// How long a login waits for a hashing slot before the server says it is busy.
const SLOT_WAIT: Duration = Duration::from_secs(10);

impl PasswordHasher {
    pub fn new(params: HashParams, slots: usize) -> Result<Self, AppError> {
        let slots = slots.max(1);
        let dummy = SecretString::from(uuid::Uuid::now_v7().to_string());
        let dummy_hash = hash_blocking(params, &dummy)?;
        Ok(PasswordHasher {
            params,
            slots: Arc::new(Semaphore::new(slots)),
            workers: HashWorkers::start(slots)?,
            dummy_hash: Arc::new(dummy_hash),
        })
    }

    pub fn params(&self) -> HashParams {
        self.params
    }

    async fn slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, AppError> {
        match tokio::time::timeout(SLOT_WAIT, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(AppError::internal_msg("hash slots closed")),
            Err(_) => Err(AppError::Unavailable(
                "all password hashing slots are busy".into(),
            )),
        }
    }

    /// Check the policy and hash a new password.
    pub async fn hash_new(
        &self,
        password: SecretString,
        user_inputs: Vec<String>,
    ) -> Result<String, AppError> {
        let _permit = self.slot().await?;
        let hasher = self.clone();
        self.workers
            .run(move || {
                let inputs: Vec<&str> = user_inputs.iter().map(String::as_str).collect();
                hasher.hash_new_blocking(&password, &inputs)
            })
            .await?
    }

    /// The same, on the calling thread (start-up and the command line).
    pub fn hash_new_blocking(
        &self,
        password: &SecretString,
        user_inputs: &[&str],
    ) -> Result<String, AppError> {
        check_policy(password, user_inputs)?;
        hash_blocking(self.params, password)
    }

    /// Verify `password` against `stored` (or the dummy hash when there is no
    /// such user), and rehash when the stored parameters are outdated.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<Verified, AppError> {
        let _permit = self.slot().await?;
        let params = self.params;
        let dummy = self.dummy_hash.clone();
        self.workers
            .run(move || {
                let known = stored.is_some();
                let phc_text = stored.unwrap_or_else(|| dummy.as_str().to_owned());
                let phc = PasswordHash::new(&phc_text).map_err(|e| {
                    AppError::internal_msg(format!("stored password hash unreadable: {e}"))
                })?;
                // Verify with the parameters the hash was made with.
                let valid = Argon2::default()
                    .verify_password(password.expose_secret().as_bytes(), &phc)
                    .is_ok()
                    && known;
                let rehashed = if valid && !params.matches(&phc) {
                    Some(hash_blocking(params, &password)?)
                } else {
                    None
                };
                Ok(Verified { valid, rehashed })
            })
            .await?
    }
}

type HashJob = Box<dyn FnOnce() + Send>;

/// A fixed pool of threads for password hashing (see `PasswordHasher`).
/// The threads end when the last handle is dropped.
#[derive(Clone)]
struct HashWorkers {
    queue: std::sync::mpsc::Sender<HashJob>,
}

impl HashWorkers {
    fn start(threads: usize) -> Result<Self, AppError> {
        let (queue, jobs) = std::sync::mpsc::channel::<HashJob>();
        let jobs = Arc::new(std::sync::Mutex::new(jobs));
        for i in 0..threads {
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("sijill-hash-{i}"))
                .spawn(move || loop {
                    // Holding the lock only while waiting for the next job.
                    let job = match jobs.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    match job {
                        // A panicking job must not take a hashing thread with it;
                        // its caller sees the dropped result as an error.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => return,
                    }
                })
                .map_err(AppError::internal)?;
        }
        Ok(HashWorkers { queue })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        self.queue
            .send(Box::new(move || {
                let _entered = span.enter();
                let _ = done.send(f());
            }))
            .map_err(|_| AppError::internal_msg("password hashing threads stopped"))?;
        result
            .await
            .map_err(|_| AppError::internal_msg("a password hashing job was lost"))
    }
}

fn hash_blocking(params: HashParams, password: &SecretString) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut rand_core::OsRng);
    params
        .argon2()?
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal_msg(format!("argon2: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn policy_refuses_short_long_and_common_passwords() {
        assert!(check_policy(&secret("short"), &[]).is_err());
        assert!(check_policy(&secret("password1234"), &[]).is_err());
        assert!(check_policy(&secret("aaaaaaaaaaaaaaaa"), &[]).is_err());
        assert!(
            check_policy(&secret(&"x7-Qz".repeat(26)), &[]).is_err(),
            "129+ characters"
        );
        assert!(check_policy(&secret("rima.khalil2024"), &["rima.khalil"]).is_err());
        assert!(check_policy(&secret("orchard Lantern 42 vessel"), &[]).is_ok());
        // Counted in characters, not bytes: 12 Arabic letters are enough length.
        assert!(check_policy(&secret("سجل الذاكرة حي ٤٢"), &[]).is_ok());
    }

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let phc = hash_blocking(HashParams::OWASP, &secret("orchard Lantern 42 vessel")).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(HashParams::OWASP.matches(&parsed));
        let stronger = HashParams {
            memory_kib: 32_768,
            ..HashParams::OWASP
        };
        assert!(!stronger.matches(&parsed));
    }
}
