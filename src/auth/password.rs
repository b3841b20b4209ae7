//! Passwords: the policy for new ones, argon2id hashing off the async
//! workers with a bounded number of concurrent hashes, and verification that
//! costs the same for unknown users as for wrong passwords.

use std::sync::Arc;
use std::time::Duration;

use std::cell::RefCell;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
        let workers = HashWorkers::start(slots)?;
        let dummy = SecretString::from(uuid::Uuid::now_v7().to_string());
        let dummy_hash = workers.run_blocking(move || hash_blocking(params, &dummy))??;
        Ok(PasswordHasher {
            params,
            slots: Arc::new(Semaphore::new(slots)),
            workers,
            dummy_hash: Arc::new(dummy_hash),
        })
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
        let params = self.params;
        self.workers
            .run(move || {
                let inputs: Vec<&str> = user_inputs.iter().map(String::as_str).collect();
                check_policy(&password, &inputs)?;
                hash_blocking(params, &password)
            })
            .await?
    }

    /// The same, waiting on the calling thread (start-up and the command line).
    pub fn hash_new_blocking(
        &self,
        password: &SecretString,
        user_inputs: &[&str],
    ) -> Result<String, AppError> {
        check_policy(password, user_inputs)?;
        let (params, password) = (self.params, password.clone());
        self.workers
            .run_blocking(move || hash_blocking(params, &password))?
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
                let valid = verify_phc(&phc, &password)? && known;
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

impl PasswordHasher {
    /// Hash secrets that need no strength policy — random recovery codes —
    /// in one hashing slot, one after another.
    pub async fn hash_secrets(&self, secrets: Vec<SecretString>) -> Result<Vec<String>, AppError> {
        let _permit = self.slot().await?;
        let params = self.params;
        self.workers
            .run(move || secrets.iter().map(|s| hash_blocking(params, s)).collect())
            .await?
    }

    /// The same, waiting on the calling thread (the command line).
    pub fn hash_secrets_blocking(
        &self,
        secrets: Vec<SecretString>,
    ) -> Result<Vec<String>, AppError> {
        let params = self.params;
        self.workers
            .run_blocking(move || secrets.iter().map(|s| hash_blocking(params, s)).collect())?
    }

    /// The index of the first of `stored` (PHC strings) that `secret`
    /// matches, in one hashing slot.
    pub async fn find_match(
        &self,
        secret: SecretString,
        stored: Vec<String>,
    ) -> Result<Option<usize>, AppError> {
        let _permit = self.slot().await?;
        self.workers
            .run(move || {
                for (i, text) in stored.iter().enumerate() {
                    if matches_blocking(&secret, text)? {
                        return Ok(Some(i));
                    }
                }
                Ok(None)
            })
            .await?
    }
}

/// Does `password` match the stored PHC string? On the calling thread, for
/// start-up and the command line (requests go through `PasswordHasher`).
pub fn matches_blocking(password: &SecretString, stored: &str) -> Result<bool, AppError> {
    let phc = PasswordHash::new(stored)
        .map_err(|e| AppError::internal_msg(format!("stored password hash unreadable: {e}")))?;
    verify_phc(&phc, password)
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

    fn submit(&self, job: HashJob) -> Result<(), AppError> {
        self.queue
            .send(job)
            .map_err(|_| AppError::internal_msg("password hashing threads stopped"))
    }

    fn run_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (done, result) = std::sync::mpsc::channel();
        self.submit(Box::new(move || {
            let _ = done.send(f());
        }))?;
        result
            .recv()
            .map_err(|_| AppError::internal_msg("a password hashing job was lost"))
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        self.submit(Box::new(move || {
            let _entered = span.enter();
            let _ = done.send(f());
        }))?;
        result
            .await
            .map_err(|_| AppError::internal_msg("a password hashing job was lost"))
    }
}

thread_local! {
    /// argon2's working memory, kept per hashing thread and reused. Letting
    /// argon2 allocate and free its 19 MiB per hash leaves the allocator
    /// holding several such regions (measured: +120 MB under a login flood).
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

fn with_memory<T>(argon2: &Argon2<'_>, f: impl FnOnce(&mut [Block]) -> T) -> T {
    let count = argon2.params().block_count();
    BLOCKS.with(|cell| {
        let mut blocks = cell.borrow_mut();
        if blocks.len() < count {
            blocks.resize(count, Block::default());
        }
        f(&mut blocks[..count])
    })
}

fn argon2_error(e: impl std::fmt::Display) -> AppError {
    AppError::internal_msg(format!("argon2: {e}"))
}

/// Hash with `params` into a PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
fn hash_blocking(params: HashParams, password: &SecretString) -> Result<String, AppError> {
    let argon2 = params.argon2()?;
    let salt = SaltString::generate(&mut rand_core::OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(argon2_error)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    with_memory(&argon2, |blocks| {
        argon2.hash_password_into_with_memory(
            password.expose_secret().as_bytes(),
            salt_bytes,
            &mut out,
            blocks,
        )
    })
    .map_err(argon2_error)?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(argon2_error)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(argon2_error)?),
    };
    Ok(phc.to_string())
}

/// Recompute `phc`'s hash for `password` with `phc`'s own parameters and
/// compare in constant time.
fn verify_phc(phc: &PasswordHash<'_>, password: &SecretString) -> Result<bool, AppError> {
    let algorithm = Algorithm::try_from(phc.algorithm).map_err(argon2_error)?;
    let version = Version::try_from(phc.version.unwrap_or(0x13)).map_err(argon2_error)?;
    let params = Params::try_from(phc).map_err(argon2_error)?;
    let (Some(salt), Some(expected)) = (phc.salt, phc.hash) else {
        return Err(AppError::internal_msg(
            "stored password hash has no salt or hash",
        ));
    };
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(argon2_error)?;
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    with_memory(&argon2, |blocks| {
        argon2.hash_password_into_with_memory(
            password.expose_secret().as_bytes(),
            salt_bytes,
            &mut out,
            blocks,
        )
    })
    .map_err(argon2_error)?;
    // `Output`'s equality is constant-time.
    Ok(Output::new(&out).map_err(argon2_error)? == expected)
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
    fn hashes_verify_only_with_the_right_password() {
        let phc_text =
            hash_blocking(HashParams::OWASP, &secret("orchard Lantern 42 vessel")).unwrap();
        let phc = PasswordHash::new(&phc_text).unwrap();
        assert!(verify_phc(&phc, &secret("orchard Lantern 42 vessel")).unwrap());
        assert!(!verify_phc(&phc, &secret("orchard Lantern 42 vessels")).unwrap());
        // Interoperable: the argon2 crate's own verifier agrees.
        use argon2::password_hash::PasswordVerifier;
        assert!(Argon2::default()
            .verify_password(b"orchard Lantern 42 vessel", &phc)
            .is_ok());
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
