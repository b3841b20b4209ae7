-- Case records: facilities, detainee files, custody events, the access log.

CREATE TABLE facilities (
    id                     TEXT PRIMARY KEY,
    name                   TEXT NOT NULL,
    name_ar                TEXT,
    kind                   TEXT NOT NULL CHECK (kind IN ('military_prison', 'civil_prison', 'intelligence_branch', 'police_station', 'unofficial_site', 'other')),
    governorate            TEXT,
    location               TEXT,
    latitude               DOUBLE PRECISION CHECK (latitude BETWEEN -90 AND 90),
    longitude              DOUBLE PRECISION CHECK (longitude BETWEEN -180 AND 180),
    controlling_authority  TEXT,
    status                 TEXT NOT NULL CHECK (status IN ('operating', 'liberated', 'closed', 'unknown')),
    notes                  TEXT,
    version                BIGINT NOT NULL,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL
);
CREATE INDEX facilities_kind_idx ON facilities (kind, id);
CREATE INDEX facilities_governorate_idx ON facilities (governorate, id);

-- Human-readable references (SJL-000123) come from a counter row, taken
-- under a row lock in the transaction that creates the file.
CREATE TABLE counters (
    name   TEXT PRIMARY KEY,
    value  BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('detainee_reference', 0);

CREATE TABLE detainees (
    id                       TEXT PRIMARY KEY,
    reference                TEXT NOT NULL UNIQUE,
    organization_id          TEXT NOT NULL REFERENCES organizations (id),
    full_name                TEXT NOT NULL,
    name_ar                  TEXT,
    aliases                  TEXT NOT NULL,
    sex                      TEXT NOT NULL CHECK (sex IN ('female', 'male', 'unknown')),
    birth_date               TEXT,
    place_of_origin          TEXT,
    status                   TEXT NOT NULL CHECK (status IN ('detained', 'released', 'disappeared', 'deceased', 'unknown')),
    category                 TEXT NOT NULL CHECK (category IN ('political', 'criminal_accusation', 'unknown')),
    major_crimes_accusation  BOOLEAN NOT NULL,
    accusation_summary       TEXT,
    facility_id              TEXT REFERENCES facilities (id),
    detained_on              TEXT,
    last_seen_on             TEXT,
    released_on              TEXT,
    notes                    TEXT,
    source_notes             TEXT,
    review_status            TEXT NOT NULL CHECK (review_status IN ('not_reviewed', 'pending_review', 'under_review', 'cleared_for_release', 'release_withheld')),
    version                  BIGINT NOT NULL,
    created_at               TIMESTAMP NOT NULL,
    created_by               TEXT NOT NULL,
    updated_at               TIMESTAMP NOT NULL,
    updated_by               TEXT NOT NULL,
    archived_at              TIMESTAMP,
    merged_into              TEXT
);
-- Lists are keyset-paginated by id within an organisation (caseworkers) or overall (auditors).
CREATE INDEX detainees_org_idx ON detainees (organization_id, id);
CREATE INDEX detainees_org_status_idx ON detainees (organization_id, status, id);
CREATE INDEX detainees_status_idx ON detainees (status, id);
CREATE INDEX detainees_facility_idx ON detainees (facility_id, id);

CREATE TABLE custody_events (
    id           TEXT PRIMARY KEY,
    detainee_id  TEXT NOT NULL REFERENCES detainees (id),
    facility_id  TEXT NOT NULL REFERENCES facilities (id),
    from_date    TEXT,
    to_date      TEXT,
    note         TEXT,
    created_at   TIMESTAMP NOT NULL,
    created_by   TEXT NOT NULL
);
CREATE INDEX custody_events_detainee_idx ON custody_events (detainee_id, id);

-- Who looked at which file, when. Append-only, not hash-chained.
CREATE TABLE access_log (
    id              TEXT PRIMARY KEY,
    occurred_at     TIMESTAMP NOT NULL,
    actor_id        TEXT NOT NULL,
    actor_username  TEXT NOT NULL,
    actor_role      TEXT NOT NULL,
    action          TEXT NOT NULL,
    entity_id       TEXT NOT NULL,
    request_id      TEXT,
    client_ip       TEXT
);
CREATE INDEX access_log_entity_idx ON access_log (entity_id, id);
CREATE INDEX access_log_actor_idx ON access_log (actor_id, id);

CREATE FUNCTION access_log_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'access_log is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER access_log_no_update BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_refuse_change();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_refuse_change();
