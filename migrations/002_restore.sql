-- Distributed mode restores a session Redis lost from its last recorded state. The summary
-- keeps when that state next needs the server's attention, so a sweep finds the lost sessions
-- whose deadline comes (or has passed) before any client asks for them.

ALTER TABLE audit_sessions ADD COLUMN deadline_at_ms bigint;

CREATE INDEX audit_sessions_live_deadline_idx ON audit_sessions (deadline_at_ms)
  WHERE status IN ('pending', 'running', 'paused');
