-- Name keys without their foreign key to detainees (see the PostgreSQL
-- migration of the same name for why). SQLite cannot drop a constraint:
-- the table is made again and its rows copied.
CREATE TABLE name_keys_unbound (
    key              TEXT NOT NULL,
    organization_id  TEXT NOT NULL,
    detainee_id      TEXT NOT NULL,
    PRIMARY KEY (key, organization_id, detainee_id)
) WITHOUT ROWID;
INSERT INTO name_keys_unbound (key, organization_id, detainee_id)
    SELECT key, organization_id, detainee_id FROM name_keys;
DROP TABLE name_keys;
ALTER TABLE name_keys_unbound RENAME TO name_keys;
