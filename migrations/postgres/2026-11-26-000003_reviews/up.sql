-- Independent review before release.

CREATE TABLE reviews (
    id                        TEXT PRIMARY KEY,
    detainee_id               TEXT NOT NULL REFERENCES detainees (id),
    -- The file's owner (files never change owner): lets a caseworker's
    -- queue be one indexed condition instead of a join per page.
    file_organization_id      TEXT NOT NULL REFERENCES organizations (id),
    status                    TEXT NOT NULL CHECK (status IN ('open', 'in_review', 'awaiting_confirmation', 'decided', 'withdrawn')),
    requested_by              TEXT NOT NULL,
    reason                    TEXT,
    reviewer_id               TEXT,
    reviewer_organization_id  TEXT,
    decision                  TEXT CHECK (decision IN ('cleared_for_release', 'release_withheld')),
    rationale                 TEXT,
    confirmed_by              TEXT,
    confirmation_note         TEXT,
    -- The file's review_status before this review opened (restored on withdrawal).
    prior_review_status       TEXT NOT NULL,
    opened_at                 TIMESTAMP NOT NULL,
    claimed_at                TIMESTAMP,
    decided_at                TIMESTAMP,
    confirmed_at              TIMESTAMP,
    withdrawn_at              TIMESTAMP,
    updated_at                TIMESTAMP NOT NULL
);
-- At most one undecided review per file, whatever the application does.
CREATE UNIQUE INDEX reviews_one_undecided_idx ON reviews (detainee_id)
    WHERE status IN ('open', 'in_review', 'awaiting_confirmation');
CREATE INDEX reviews_detainee_idx ON reviews (detainee_id, id);
CREATE INDEX reviews_status_idx ON reviews (status, id);
CREATE INDEX reviews_owner_idx ON reviews (file_organization_id, status, id);
CREATE INDEX reviews_reviewer_idx ON reviews (reviewer_id, status);

CREATE TABLE consultations (
    id                 TEXT PRIMARY KEY,
    review_id          TEXT NOT NULL REFERENCES reviews (id),
    representative_id  TEXT NOT NULL,
    organization_id    TEXT NOT NULL,
    position           TEXT NOT NULL CHECK (position IN ('supports_release', 'opposes_release', 'no_position')),
    statement          TEXT NOT NULL,
    created_at         TIMESTAMP NOT NULL
);
CREATE INDEX consultations_review_idx ON consultations (review_id, id);
