-- The database work of one GET /api/v1/detainees/{id}: the session check
-- (the same query sijill runs for every authenticated request) and the file
-- by a unique key. :sid and :uid come from -D; references run SJL-000037 …
\set n random(37, 100036)
SELECT users.id, users.username, users.display_name, users.role, users.organization_id, users.active, users.version, users.created_at, users.updated_at
  FROM sessions INNER JOIN users ON users.id = sessions.user_id
 WHERE sessions.id = :sid AND sessions.user_id = :uid AND sessions.revoked_at IS NULL
   AND sessions.expires_at > now() AND users.active = true
 LIMIT 1;
SELECT * FROM detainees WHERE reference = 'SJL-' || lpad(:n::text, 6, '0') AND organization_id = :org LIMIT 1;
