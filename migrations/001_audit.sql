-- The audit trail: one row per session version, and one summary row per session kept current.
-- Written only by the audit writers (never on the hot path); plain SQL for PostgreSQL and PGlite.

CREATE TABLE audit_sessions (
  session_id            text        PRIMARY KEY,
  sync_mode             text        NOT NULL,
  status                text        NOT NULL,
  -- The highest version recorded so far; the summary below describes the state at that version.
  last_version          integer     NOT NULL,
  last_event            text        NOT NULL,
  active_participant_id text,
  participant_ids       text[]      NOT NULL DEFAULT '{}',
  metadata              jsonb,
  created_at_ms         bigint      NOT NULL,
  updated_at_ms         bigint      NOT NULL,
  first_recorded_at     timestamptz NOT NULL DEFAULT now(),
  last_recorded_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX audit_sessions_updated_at_ms_idx ON audit_sessions (updated_at_ms);

CREATE TABLE audit_events (
  session_id     text        NOT NULL,
  version        integer     NOT NULL CHECK (version >= 1),
  event_type     text        NOT NULL,
  actor          text,
  participant_id text,
  -- Server time at which the change took effect (the deadline, for an expiry), epoch ms.
  at_ms          bigint      NOT NULL,
  clocks_before  jsonb       NOT NULL,
  clocks_after   jsonb       NOT NULL,
  -- The stored session state after the change.
  state          jsonb       NOT NULL,
  recorded_at    timestamptz NOT NULL DEFAULT now(),
  -- One row per version: the key that makes every write idempotent, and a session's history.
  PRIMARY KEY (session_id, version)
);

-- Time ranges across sessions ("what changed between 14:00 and 15:00").
CREATE INDEX audit_events_at_ms_idx ON audit_events (at_ms);
