ALTER TABLE access_log DROP COLUMN item_id;
