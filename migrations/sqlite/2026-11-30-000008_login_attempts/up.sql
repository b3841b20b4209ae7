-- Login attempts replace login failures. An attempt is admitted (a
-- 'pending' row) before its password is checked, under a lock, and only
-- while fewer than the limit are failed or pending: guesses sent at once
-- cannot all be checked. The typed username is never stored, only its
-- keyed fingerprint (login_key). A successful attempt's row is deleted,
-- and its username's failures become 'forgiven': they no longer count for
-- the username, but still for the addresses they came from.
CREATE TABLE login_attempts (
    id          TEXT PRIMARY KEY NOT NULL,
    login_key   TEXT NOT NULL,
    client_ip   TEXT NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('pending', 'failed', 'forgiven'))
);
CREATE INDEX login_attempts_key_idx ON login_attempts (login_key, started_at);
CREATE INDEX login_attempts_client_idx ON login_attempts (client_ip, started_at);
-- Attempts that left the window are pruned at each admission.
CREATE INDEX login_attempts_started_idx ON login_attempts (started_at);
DROP TABLE login_failures;

-- A check value of each secret key whose output the database keeps
-- (HMAC of a fixed text under the key, never the key): a server started
-- with another fingerprint key than the one the database was set up with
-- refuses to start, rather than count logins apart from its peers.
CREATE TABLE key_checks (
    purpose      TEXT PRIMARY KEY NOT NULL,
    check_value  TEXT NOT NULL
);
