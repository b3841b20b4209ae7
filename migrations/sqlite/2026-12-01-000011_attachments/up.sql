-- Evidence attachments (docs/attachments.md). Contents live in the
-- attachment store (a directory, or an S3-compatible bucket), encrypted
-- under the data key; the database holds what they are and who added them.

-- One stored content of one organisation: the same content uploaded twice
-- to the organisation's files is stored once (never shared between
-- organisations, so one's purge never touches another's evidence).
-- `stored_as` is the object's name in the store: random, as a name derived
-- from the content would tell whoever holds the store which known document
-- it keeps; a key rotation writes a new object and changes it. `key_id`
-- names the data key the object is encrypted under.
CREATE TABLE attachment_objects (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    sha256           TEXT NOT NULL,
    size             BIGINT NOT NULL,
    stored_as        TEXT NOT NULL UNIQUE,
    key_id           TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    UNIQUE (organization_id, sha256)
);

-- An attachment of a file. `object_id` is null once purged; the hash and
-- size stay, as the audit entry of its upload does.
CREATE TABLE attachments (
    id               TEXT PRIMARY KEY,
    detainee_id      TEXT NOT NULL REFERENCES detainees (id),
    object_id        TEXT REFERENCES attachment_objects (id),
    sha256           TEXT NOT NULL,
    size             BIGINT NOT NULL,
    media_type       TEXT NOT NULL,
    filename         TEXT NOT NULL,
    description      TEXT,
    uploaded_by      TEXT NOT NULL REFERENCES users (id),
    uploaded_at      TIMESTAMP NOT NULL,
    archived_at      TIMESTAMP,
    archived_by      TEXT REFERENCES users (id),
    purged_at        TIMESTAMP,
    purged_by        TEXT REFERENCES users (id)
);
CREATE INDEX attachments_detainee_idx ON attachments (detainee_id, id);
CREATE INDEX attachments_object_idx ON attachments (object_id);
