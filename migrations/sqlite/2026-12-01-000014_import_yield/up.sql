-- How long an import job has paused, in all, while others were being
-- served (imports::pacing): why a job ran slower than the last.
ALTER TABLE import_jobs ADD COLUMN yielded_ms BIGINT NOT NULL DEFAULT 0;
