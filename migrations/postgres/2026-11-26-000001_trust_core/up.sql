-- Trust core: organisations, accounts, sessions, login throttling and the audit log.
-- UUIDs are kept as text so that one schema.rs serves PostgreSQL and SQLite.

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('administration', 'documentation', 'independent_review', 'family_association')),
    created_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX organizations_name_key ON organizations (lower(name));

CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    username         TEXT NOT NULL UNIQUE,
    display_name     TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('admin', 'caseworker', 'reviewer', 'family_representative', 'auditor')),
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    active           BOOLEAN NOT NULL,
    password_hash    TEXT NOT NULL,
    version          BIGINT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX users_organization_idx ON users (organization_id, id);

CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id),
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    revoked_at      TIMESTAMP,
    revoked_reason  TEXT,
    client_ip       TEXT
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions (id),
    issued_at   TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

CREATE TABLE login_failures (
    id           TEXT PRIMARY KEY,
    username     TEXT NOT NULL,
    client_ip    TEXT NOT NULL,
    occurred_at  TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_username_idx ON login_failures (username, occurred_at);
CREATE INDEX login_failures_client_idx ON login_failures (client_ip, occurred_at);

CREATE TABLE audit_log (
    seq             BIGINT PRIMARY KEY CHECK (seq > 0),
    id              TEXT NOT NULL UNIQUE,
    occurred_at     TIMESTAMP NOT NULL,
    actor_id        TEXT,
    actor_username  TEXT,
    actor_role      TEXT,
    action          TEXT NOT NULL,
    entity_type     TEXT NOT NULL,
    entity_id       TEXT,
    changes         TEXT NOT NULL,
    request_id      TEXT,
    client_ip       TEXT,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_id, seq);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, seq);
CREATE INDEX audit_log_action_idx ON audit_log (action, seq);

-- The audit log is append-only: no UPDATE, DELETE or TRUNCATE, whoever asks.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
