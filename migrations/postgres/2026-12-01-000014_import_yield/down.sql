ALTER TABLE import_jobs DROP COLUMN yielded_ms;
