DROP TRIGGER access_log_no_delete;
DROP TRIGGER access_log_no_update;
DROP TABLE access_log;
DROP TABLE custody_events;
DROP TABLE detainees;
DROP TABLE counters;
DROP TABLE facilities;
