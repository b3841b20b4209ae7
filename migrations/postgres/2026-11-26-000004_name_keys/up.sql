-- Cross-script match keys of every name part of every file (full_name,
-- name_ar, aliases), kept in step with the file in the same transaction, so
-- that a name search looks candidates up through an index.
CREATE TABLE name_keys (
    id           TEXT PRIMARY KEY,
    detainee_id  TEXT NOT NULL REFERENCES detainees (id),
    field        TEXT NOT NULL,
    token        TEXT NOT NULL,
    key          TEXT NOT NULL
);
CREATE INDEX name_keys_key_idx ON name_keys (key, detainee_id);
CREATE INDEX name_keys_detainee_idx ON name_keys (detainee_id);
