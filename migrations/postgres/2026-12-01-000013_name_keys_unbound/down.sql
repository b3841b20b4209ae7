ALTER TABLE name_keys ADD CONSTRAINT name_keys_detainee_id_fkey
    FOREIGN KEY (detainee_id) REFERENCES detainees (id);
