DROP TABLE access_log;
DROP FUNCTION access_log_refuse_change();
DROP TABLE custody_events;
DROP TABLE detainees;
DROP TABLE counters;
DROP TABLE facilities;
