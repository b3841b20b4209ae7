-- Merges of duplicate files, kept so that a merge can be undone exactly.
CREATE TABLE merges (
    id                  TEXT PRIMARY KEY NOT NULL,
    survivor_id         TEXT NOT NULL REFERENCES detainees (id),
    duplicate_id        TEXT NOT NULL REFERENCES detainees (id),
    -- The survivor's content before the merge (JSON), restored by unmerge.
    survivor_before     TEXT NOT NULL,
    -- The survivor's version right after the merge: unmerge refuses once it moved on.
    survivor_version    BIGINT NOT NULL,
    -- Custody events moved from the duplicate (JSON array of ids).
    moved_custody       TEXT NOT NULL,
    merged_at           TIMESTAMP NOT NULL,
    merged_by           TEXT NOT NULL,
    unmerged_at         TIMESTAMP
);
CREATE INDEX merges_survivor_idx ON merges (survivor_id, duplicate_id);
