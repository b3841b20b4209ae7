-- The second factor (TOTP, RFC 6238). One credential an account: pending
-- from enrolment until a first code confirms it. Its secret is sealed
-- (XChaCha20-Poly1305 under the key in SIJILL_MFA_KEY_FILE; see
-- src/sealing.rs), never stored in clear. Each enrolment gets a new id,
-- so that what was bound to an earlier one (recovery codes, login
-- challenges) cannot serve a later one.
CREATE TABLE totp_credentials (
    user_id         TEXT PRIMARY KEY REFERENCES users (id),
    id              TEXT NOT NULL UNIQUE,
    secret_sealed   TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    confirmed_at    TIMESTAMP,
    -- The newest time step whose code was accepted: a code of that step
    -- or an earlier one is refused, so each code works once.
    last_used_step  BIGINT
);

-- Ten single-use recovery codes of a confirmed credential, stored as
-- argon2id hashes only.
CREATE TABLE recovery_codes (
    id             TEXT PRIMARY KEY,
    credential_id  TEXT NOT NULL,
    code_hash      TEXT NOT NULL,
    used_at        TIMESTAMP
);
CREATE INDEX recovery_codes_credential_idx ON recovery_codes (credential_id);

-- A login whose password was right, waiting for its second factor. The
-- mfa_token the client holds is stored only as its SHA-256. Bound to the
-- account as it was (its version), to the credential, to the typed
-- username's throttle key and to the client's address; used once.
CREATE TABLE mfa_challenges (
    token_hash     TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id),
    user_version   BIGINT NOT NULL,
    credential_id  TEXT NOT NULL,
    login_key      TEXT NOT NULL,
    client_ip      TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NOT NULL,
    used_at        TIMESTAMP
);
CREATE INDEX mfa_challenges_user_idx ON mfa_challenges (user_id);
CREATE INDEX mfa_challenges_expires_idx ON mfa_challenges (expires_at);

-- How a session's login was proven beyond the password: 'totp',
-- 'recovery_code', or NULL (the password alone).
ALTER TABLE sessions ADD COLUMN second_factor TEXT;
