-- Name keys without their foreign key to detainees. The index is derived
-- data (rebuilt from the files at start-up when its form changes) about
-- files that are never deleted, so the key guarded nothing; what it cost
-- was a check of the file's row for each of the keys of every file (nine on average)
-- written, and an order: a bulk create had to write its files — and so
-- take the reference counter every other creating transaction waits on —
-- before their keys. Without it a batch writes its keys first.
ALTER TABLE name_keys DROP CONSTRAINT name_keys_detainee_id_fkey;
