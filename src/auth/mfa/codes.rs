//! The codes a person types: TOTP codes (RFC 6238 through `totp-rs`:
//! HMAC-SHA-1, 6 digits, 30-second steps, one step of drift either way) and
//! recovery codes (random, single-use, stored only as argon2id hashes).
//! No cryptography is written here; this module decides which time step a
//! code belongs to, so that a step, once used, is refused (a replay).

use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use totp_rs::{Algorithm, TOTP};

pub const DIGITS: usize = 6;
pub const STEP_SECONDS: u64 = 30;
/// Steps accepted before and after the current one: a phone clock a little
/// off, or a code typed as it turned over.
pub const DRIFT_STEPS: i64 = 1;
/// RFC 4226 recommends 160 bits.
pub const SECRET_BYTES: usize = 20;
pub const RECOVERY_CODES: usize = 10;
/// No 0/o, 1/l/i: read off paper and typed back.
const RECOVERY_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
/// 12 characters of 31: 59 bits, shown as `xxxx-xxxx-xxxx`.
const RECOVERY_LEN: usize = 12;

/// A new random TOTP secret.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill(&mut secret[..]);
    secret
}

fn totp(secret: &[u8], issuer: Option<&str>, account: &str) -> TOTP {
    // `new_unchecked`: the secret is ours (160 bits) and issuer and account
    // are checked by `otpauth_uri`; skew 0, because `step_of` looks at each
    // step itself.
    TOTP::new_unchecked(
        Algorithm::SHA1,
        DIGITS,
        0,
        STEP_SECONDS,
        secret.to_vec(),
        issuer.map(str::to_owned),
        account.to_owned(),
    )
}

/// The secret as authenticator apps take it typed in: base32, no padding.
pub fn base32(secret: &[u8]) -> String {
    totp(secret, None, "").get_secret_base32()
}

/// A base32 secret as typed or printed (spaces and case ignored).
pub fn decode_base32(text: &str) -> Option<Vec<u8>> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    totp_rs::Secret::Encoded(cleaned)
        .to_bytes()
        .ok()
        .filter(|bytes| !bytes.is_empty())
}

/// The `otpauth://totp/…` URI a phone app reads (from a QR code or pasted).
/// A colon would end the label early, so it is replaced.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let issuer = issuer.replace(':', " ");
    let account = account.replace(':', " ");
    totp(secret, Some(&issuer), &account).get_url()
}

/// The time step of a Unix time.
pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS as i64)
}

/// The code of one step.
pub fn code_of_step(secret: &[u8], step: i64) -> String {
    totp(secret, None, "").generate(step.max(0) as u64 * STEP_SECONDS)
}

/// The code at a Unix time.
pub fn code_at(secret: &[u8], unix_seconds: i64) -> String {
    code_of_step(secret, step_at(unix_seconds))
}

/// The newest step within the drift whose code `code` is (compared in
/// constant time by `totp-rs`), if any.
pub fn step_of(secret: &[u8], code: &str, unix_seconds: i64) -> Option<i64> {
    let now = step_at(unix_seconds);
    let totp = totp(secret, None, "");
    (now - DRIFT_STEPS..=now + DRIFT_STEPS)
        .rev()
        .filter(|step| *step >= 0)
        .find(|step| totp.check(code, *step as u64 * STEP_SECONDS))
}

/// What was typed, told apart by its shape.
#[derive(Debug)]
pub enum Typed {
    /// Six digits (spaces ignored).
    Totp(String),
    /// A recovery code, normalised (lower case, no separators).
    Recovery(SecretString),
    Neither,
}

pub fn classify(typed: &str) -> Typed {
    let compact: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if compact.len() == DIGITS && compact.bytes().all(|b| b.is_ascii_digit()) {
        return Typed::Totp(compact);
    }
    let lower = compact.to_ascii_lowercase();
    if lower.len() == RECOVERY_LEN && lower.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)) {
        return Typed::Recovery(SecretString::from(lower));
    }
    Typed::Neither
}

/// New recovery codes: what is shown (`xxxx-xxxx-xxxx`) and what is hashed
/// (the same, normalised as `classify` normalises what is typed).
pub fn new_recovery_codes() -> Vec<(String, SecretString)> {
    let mut rng = rand::rngs::OsRng;
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw: String = (0..RECOVERY_LEN)
                .map(|_| RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char)
                .collect();
            let shown = format!("{}-{}-{}", &raw[..4], &raw[4..8], &raw[8..]);
            (shown, SecretString::from(raw))
        })
        .collect()
}

/// For tests and the command line: the normalised form of a shown code.
pub fn normalised(shown: &str) -> Option<String> {
    match classify(shown) {
        Typed::Recovery(secret) => Some(secret.expose_secret().to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 rows, with the RFC's 20-byte
    /// secret. The RFC prints 8 digits; 6 are their last six (RFC 4226's
    /// truncation is modulo 10^digits).
    const RFC_SECRET: &[u8] = b"12345678901234567890";
    const RFC_SHA1: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn the_rfc_6238_test_vectors() {
        for (time, expected) in RFC_SHA1 {
            let eight = TOTP::new_unchecked(
                Algorithm::SHA1,
                8,
                0,
                30,
                RFC_SECRET.to_vec(),
                None,
                String::new(),
            );
            assert_eq!(eight.generate(time), expected, "8 digits at T={time}");
            assert_eq!(
                code_at(RFC_SECRET, time as i64),
                expected[2..],
                "6 digits at T={time}"
            );
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let secret = new_secret();
        let now = 1_800_000_015;
        let step = step_at(now);
        let code = code_at(&secret, now);
        assert_eq!(step_of(&secret, &code, now), Some(step));
        assert_eq!(step_of(&secret, &code, now + 30), Some(step), "a step late");
        assert_eq!(
            step_of(&secret, &code, now - 30),
            Some(step),
            "a step early"
        );
        // Two steps away: refused, unless the codes happen to coincide.
        if code_of_step(&secret, step + 2) != code && code_of_step(&secret, step + 1) != code {
            assert_eq!(step_of(&secret, &code, now + 60), None);
        }
        assert_eq!(step_of(&secret, "000000x", now), None);
    }

    #[test]
    fn the_uri_and_base32_are_what_phone_apps_read() {
        let secret = RFC_SECRET;
        assert_eq!(base32(secret), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            decode_base32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").unwrap(),
            secret
        );
        let uri = otpauth_uri(secret, "sijill", "rima:k");
        assert!(uri.starts_with("otpauth://totp/sijill:rima%20k?"), "{uri}");
        assert!(uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"));
        assert!(uri.contains("issuer=sijill"));
    }

    #[test]
    fn typed_codes_are_told_apart_by_shape() {
        assert!(matches!(classify(" 123 456 "), Typed::Totp(c) if c == "123456"));
        assert!(matches!(classify("12345"), Typed::Neither));
        assert!(matches!(classify("1234567"), Typed::Neither));
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        for (shown, raw) in &codes {
            assert_eq!(shown.len(), 14);
            assert_eq!(normalised(shown).as_deref(), Some(raw.expose_secret()));
            assert_eq!(
                normalised(&shown.to_uppercase()).as_deref(),
                Some(raw.expose_secret())
            );
        }
        // 0 is not in the alphabet.
        assert!(matches!(classify("0000-0000-0000"), Typed::Neither));
    }
}
