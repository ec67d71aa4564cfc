-- A message being attempted is leased until this epoch ms: one attempt at a time, whichever queue
-- job (a batch run again after its worker died, a retry, a wake) or instance looks at it.
ALTER TABLE webhook_deliveries ADD COLUMN lease_until_ms bigint;
