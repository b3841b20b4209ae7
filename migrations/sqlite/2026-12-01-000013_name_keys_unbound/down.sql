CREATE TABLE name_keys_bound (
    key              TEXT NOT NULL,
    organization_id  TEXT NOT NULL,
    detainee_id      TEXT NOT NULL REFERENCES detainees (id),
    PRIMARY KEY (key, organization_id, detainee_id)
) WITHOUT ROWID;
INSERT INTO name_keys_bound (key, organization_id, detainee_id)
    SELECT key, organization_id, detainee_id FROM name_keys;
DROP TABLE name_keys;
ALTER TABLE name_keys_bound RENAME TO name_keys;
