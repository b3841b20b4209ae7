ALTER TABLE reviews DROP COLUMN accusation_at_open;
