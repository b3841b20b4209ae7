DROP TABLE import_mappings;
DROP TABLE import_report;
DROP TABLE import_jobs;
DROP INDEX detainees_external_ref_idx;
ALTER TABLE detainees DROP COLUMN external_ref;
