DROP TABLE audit_log;
DROP FUNCTION audit_log_refuse_change();
DROP TABLE login_failures;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE organizations;
