-- Imports of the lists organisations already keep (docs/imports.md).

-- The list's own identifier of the person: unique within an organisation,
-- so that importing the same list again updates its files instead of
-- opening new ones. NULLs (files opened by hand) are distinct.
ALTER TABLE detainees ADD COLUMN external_ref TEXT;
CREATE UNIQUE INDEX detainees_external_ref_idx ON detainees (organization_id, external_ref);

-- One import of one file into one organisation. The uploaded file lives
-- under the data directory until the job ends; the counts are updated in
-- the transaction of each batch, so they are what was committed.
CREATE TABLE import_jobs (
    id                   TEXT PRIMARY KEY,
    organization_id      TEXT NOT NULL REFERENCES organizations (id),
    created_by           TEXT NOT NULL REFERENCES users (id),
    format               TEXT NOT NULL,
    mode                 TEXT NOT NULL,
    dry_run              BOOLEAN NOT NULL,
    mapping_id           TEXT,
    file_name            TEXT,
    file_sha256          TEXT NOT NULL,
    file_bytes           BIGINT NOT NULL,
    status               TEXT NOT NULL,
    rows_total           BIGINT,
    rows_done            BIGINT NOT NULL,
    created              BIGINT NOT NULL,
    updated              BIGINT NOT NULL,
    unchanged            BIGINT NOT NULL,
    invalid              BIGINT NOT NULL,
    possible_duplicates  BIGINT NOT NULL,
    error                TEXT,
    cancel_requested     BOOLEAN NOT NULL,
    -- Who runs the job: `server`, or `cli HOST PID` (sijill import), so
    -- that a server starting ends only the jobs that died with a process.
    runner               TEXT NOT NULL,
    queued_at            TIMESTAMP NOT NULL,
    started_at           TIMESTAMP,
    finished_at          TIMESTAMP
);
CREATE INDEX import_jobs_organization_idx ON import_jobs (organization_id, id);

-- The report of a job: one line a problem or a possible duplicate.
CREATE TABLE import_report (
    job_id   TEXT NOT NULL REFERENCES import_jobs (id),
    line     BIGINT NOT NULL,
    row_number BIGINT NOT NULL,
    column_name TEXT NOT NULL,
    code     TEXT NOT NULL,
    message  TEXT NOT NULL,
    PRIMARY KEY (job_id, line)
);

-- A saved way of reading a list's columns (POST /import-mappings).
CREATE TABLE import_mappings (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    name             TEXT NOT NULL,
    definition       TEXT NOT NULL,
    created_by       TEXT NOT NULL REFERENCES users (id),
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX import_mappings_organization_idx ON import_mappings (organization_id, id);
