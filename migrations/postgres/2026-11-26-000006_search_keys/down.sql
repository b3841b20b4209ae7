DELETE FROM counters WHERE name = 'name_key_version';
DROP INDEX detainees_unindexed_idx;
ALTER TABLE detainees DROP COLUMN search_keys;
DROP TABLE name_keys;
CREATE TABLE name_keys (
    id           TEXT PRIMARY KEY,
    detainee_id  TEXT NOT NULL REFERENCES detainees (id),
    field        TEXT NOT NULL,
    token        TEXT NOT NULL,
    key          TEXT NOT NULL
);
CREATE INDEX name_keys_key_idx ON name_keys (key, detainee_id);
CREATE INDEX name_keys_detainee_idx ON name_keys (detainee_id);
