ALTER TABLE sessions DROP COLUMN second_factor;
DROP TABLE mfa_challenges;
DROP TABLE recovery_codes;
DROP TABLE totp_credentials;
