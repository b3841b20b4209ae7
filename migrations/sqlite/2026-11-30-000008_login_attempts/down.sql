DROP TABLE key_checks;
CREATE TABLE login_failures (
    id           TEXT PRIMARY KEY NOT NULL,
    username     TEXT NOT NULL,
    client_ip    TEXT NOT NULL,
    occurred_at  TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_username_idx ON login_failures (username, occurred_at);
CREATE INDEX login_failures_client_idx ON login_failures (client_ip, occurred_at);
DROP TABLE login_attempts;
