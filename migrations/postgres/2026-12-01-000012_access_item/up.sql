-- What of the file was read, where a read is of one part of it: the
-- attachment whose content was sent (`attachment.download`). NULL for a
-- read of the file itself. The log stays append-only: adding a column
-- changes no record.
ALTER TABLE access_log ADD COLUMN item_id TEXT;
