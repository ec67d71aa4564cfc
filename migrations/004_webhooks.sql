-- Webhook endpoints, their delivery log, and the push devices of sessions. Kept beside the audit
-- trail because webhook messages are made from its records, and both modes already have it
-- (PGlite in embedded mode, PostgreSQL in distributed mode).

CREATE TABLE webhook_endpoints (
  id            text    PRIMARY KEY,
  url           text    NOT NULL,
  -- Event types ('session.expired', …) or the single entry '*'.
  events        text[]  NOT NULL,
  -- Set: only this session's messages.
  session_id    text,
  -- 'whsec_' + base64: it must sign, so it is kept as it is (never logged, shown once).
  secret        text    NOT NULL,
  disabled      boolean NOT NULL DEFAULT false,
  disabled_reason text,
  created_at_ms bigint  NOT NULL
);

CREATE INDEX webhook_endpoints_created_idx ON webhook_endpoints (created_at_ms, id);

CREATE TABLE webhook_deliveries (
  -- The webhook-id: stable for (endpoint, session lifetime, version, type).
  message_id        text    PRIMARY KEY,
  endpoint_id       text    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  session_id        text    NOT NULL,
  version           integer NOT NULL,
  event_type        text    NOT NULL,
  -- pending (queued or waiting for a retry), delivered, failed (all attempts spent, or the endpoint disabled).
  status            text    NOT NULL DEFAULT 'pending',
  attempts          integer NOT NULL DEFAULT 0,
  last_response_code integer,
  last_error        text,
  next_attempt_at_ms bigint,
  created_at_ms     bigint  NOT NULL,
  updated_at_ms     bigint  NOT NULL,
  -- Insertion order, for the delivery log's pages.
  seq               bigserial
);

CREATE INDEX webhook_deliveries_endpoint_seq_idx ON webhook_deliveries (endpoint_id, seq);
-- "Is an earlier message of this session still on its way to this endpoint?" (ordering).
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (endpoint_id, session_id, version)
  WHERE status = 'pending';

CREATE TABLE push_devices (
  session_id     text   NOT NULL,
  token          text   NOT NULL,
  participant_id text,
  created_at_ms  bigint NOT NULL,
  PRIMARY KEY (session_id, token)
);
