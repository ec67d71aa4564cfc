-- A session id reused after DELETE starts a new lifetime, whose history never mixes with the
-- old one: the lifetime is part of every key. A lifetime is named by the state's `lifetime`
-- (random, set at creation); records from before it existed are named after their state's
-- creation instant ('t' || createdAtMs), which is what the service names such states too.

ALTER TABLE audit_events ADD COLUMN lifetime_id text;
UPDATE audit_events SET lifetime_id = COALESCE(state->>'lifetime', 't' || (state->>'createdAtMs'));
ALTER TABLE audit_events ALTER COLUMN lifetime_id SET NOT NULL;
ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey;
ALTER TABLE audit_events ADD PRIMARY KEY (session_id, lifetime_id, version);

-- One summary row per lifetime; the newest lifetime (by creation) is the session's current one.
ALTER TABLE audit_sessions ADD COLUMN lifetime_id text;
UPDATE audit_sessions SET lifetime_id = 't' || created_at_ms;
ALTER TABLE audit_sessions ALTER COLUMN lifetime_id SET NOT NULL;
ALTER TABLE audit_sessions DROP CONSTRAINT audit_sessions_pkey;
ALTER TABLE audit_sessions ADD PRIMARY KEY (session_id, lifetime_id);
CREATE INDEX audit_sessions_lifetimes_idx ON audit_sessions (session_id, created_at_ms, lifetime_id);
