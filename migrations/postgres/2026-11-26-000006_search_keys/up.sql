-- Name keys, second form. A file is indexed under the cross-script key of
-- each name part and under the pairs and triples of parts written in one
-- name field ("hsn mhmd", "ahmd hsn mhmd"): among a million files a common
-- given name is on a fifth of them, a full name on a few hundred, so the
-- combinations keep a query's candidates few. The owning organisation leads
-- after the key, so a caseworker's search stays inside their organisation
-- through the same index. Derived data: rebuilt from the files at start-up.
DROP TABLE name_keys;
CREATE TABLE name_keys (
    key              TEXT NOT NULL,
    organization_id  TEXT NOT NULL,
    detainee_id      TEXT NOT NULL REFERENCES detainees (id),
    PRIMARY KEY (key, organization_id, detainee_id)
);
-- The keys a file is indexed under, one a line (NULL: not yet indexed), so
-- a rename deletes exactly those rows without a second index on name_keys.
ALTER TABLE detainees ADD COLUMN search_keys TEXT;
CREATE INDEX detainees_unindexed_idx ON detainees (id) WHERE search_keys IS NULL;
-- The form of the keys the index holds (search::store::KEY_VERSION); a
-- start-up with another form rebuilds the index.
INSERT INTO counters (name, value) VALUES ('name_key_version', 2);
