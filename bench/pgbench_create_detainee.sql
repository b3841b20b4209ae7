-- The database work of one POST /api/v1/detainees, in one transaction:
-- take a reference, insert the file, take the chain lock and head, append
-- the audit row. The same statements sijill sends (values generated here;
-- variables are substituted as text, so -D passes them already quoted).
BEGIN;
SELECT users.id FROM sessions INNER JOIN users ON users.id = sessions.user_id
 WHERE sessions.id = :sid AND sessions.user_id = :uid AND sessions.revoked_at IS NULL
   AND sessions.expires_at > now() AND users.active = true LIMIT 1;
UPDATE counters SET value = value + 1 WHERE name = 'detainee_reference';
SELECT value AS ref FROM counters WHERE name = 'detainee_reference' \gset
INSERT INTO detainees (id, reference, organization_id, full_name, name_ar, aliases, sex, status, category,
    major_crimes_accusation, detained_on, notes, review_status, version, created_at, created_by, updated_at, updated_by)
VALUES (gen_random_uuid()::text, 'PGB-' || :ref, :org, 'pgbench file', 'اختبار', '[]', 'unknown', 'detained', 'political',
    false, '2013-04', 'created by pgbench', 'not_reviewed', 1, now(), :uid, now(), :uid);
SELECT pg_advisory_xact_lock(5860108123545291778);
SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1 \gset
INSERT INTO audit_log (seq, id, occurred_at, actor_id, actor_username, actor_role, action, entity_type, entity_id,
    changes, request_id, client_ip, prev_hash, hash)
VALUES (:seq + 1, gen_random_uuid()::text, now(), :uid, 'demo.caseworker', 'caseworker', 'detainee.create', 'detainee',
    gen_random_uuid()::text, '{"full_name":[null,"pgbench file"]}', 'pgbench', '127.0.0.1', (SELECT hash FROM audit_log WHERE seq = :seq), md5(random()::text) || md5(random()::text));
COMMIT;
