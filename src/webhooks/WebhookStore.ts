// The webhook tables in the audit database (migrations/004_webhooks.sql): endpoints, the delivery
// log (which is also each message's attempt count and status), and push devices.
import type { SqlClient } from '../audit/sqlClient.js';
import type { WebhookMessage } from './messages.js';

export interface EndpointRow {
  id: string;
  url: string;
  events: string[];
  sessionId: string | null;
  secret: string;
  disabled: boolean;
  disabledReason: string | null;
  createdAtMs: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryRow {
  messageId: string;
  endpointId: string;
  sessionId: string;
  version: number;
  type: string;
  status: DeliveryStatus;
  attempts: number;
  lastResponseCode: number | null;
  lastError: string | null;
  nextAttemptAtMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
  seq: number;
}

/** A message's log row, its endpoint, and the earlier message it must wait for, if any. */
export interface Claim {
  delivery: DeliveryRow;
  endpoint: Pick<EndpointRow, 'url' | 'secret' | 'disabled' | 'disabledReason'>;
  earlier: { messageId: string; nextAttemptAtMs: number | null } | null;
}

type ClaimRow = DeliveryRow &
  Claim['endpoint'] & { earlierId: string | null; earlierNextAttemptAtMs: string | null };

/** One attempt's outcome, for the log. */
export interface AttemptRecord {
  messageId: string;
  status: DeliveryStatus;
  attempts: number;
  responseCode: number | null;
  error: string | null;
  nextAttemptAtMs: number | null;
  nowMs: number;
}

export interface DeviceRow {
  sessionId: string;
  token: string;
  participantId: string | null;
}

/** Serializes endpoint creation, so the endpoint limit holds across instances. */
const ENDPOINT_LOCK_KEY = 7_265_131_913;

const ENDPOINT_COLUMNS = `id, url, events, session_id AS "sessionId", secret, disabled,
  disabled_reason AS "disabledReason", created_at_ms AS "createdAtMs"`;
/** The delivery log's columns, named as DeliveryRow; `t` prefixes a table alias. */
const deliveryColumns = (t = ''): string => `${t}message_id AS "messageId", ${t}endpoint_id AS "endpointId",
  ${t}session_id AS "sessionId", ${t}version, ${t}event_type AS type, ${t}status, ${t}attempts,
  ${t}last_response_code AS "lastResponseCode", ${t}last_error AS "lastError",
  ${t}next_attempt_at_ms AS "nextAttemptAtMs", ${t}created_at_ms AS "createdAtMs",
  ${t}updated_at_ms AS "updatedAtMs", ${t}seq`;

/** pg returns bigint columns as strings; ours hold epoch ms and sequence numbers, well within 2^53. */
function toNumber(value: unknown): number {
  return Number(value);
}

function endpointOf(row: EndpointRow): EndpointRow {
  return { ...row, createdAtMs: toNumber(row.createdAtMs) };
}

function deliveryOf(row: DeliveryRow): DeliveryRow {
  return {
    ...row,
    nextAttemptAtMs: row.nextAttemptAtMs === null ? null : toNumber(row.nextAttemptAtMs),
    createdAtMs: toNumber(row.createdAtMs),
    updatedAtMs: toNumber(row.updatedAtMs),
    seq: toNumber(row.seq),
  };
}

export class WebhookStore {
  constructor(private readonly sql: SqlClient) {}

  /** Inserts the endpoint unless there are `maxEndpoints` already; false when refused for that. */
  async insertEndpoint(endpoint: EndpointRow, maxEndpoints: number): Promise<boolean> {
    return this.sql.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [ENDPOINT_LOCK_KEY]);
      const { rows } = await tx.query<{ count: string | number }>(
        'SELECT count(*) AS count FROM webhook_endpoints',
      );
      if (toNumber(rows[0]?.count ?? 0) >= maxEndpoints) return false;
      await tx.query(
        `INSERT INTO webhook_endpoints (id, url, events, session_id, secret, disabled, created_at_ms)
         VALUES ($1, $2, $3::text[], $4, $5, false, $6::bigint)`,
        [
          endpoint.id,
          endpoint.url,
          endpoint.events,
          endpoint.sessionId,
          endpoint.secret,
          endpoint.createdAtMs,
        ],
      );
      return true;
    });
  }

  async listEndpoints(): Promise<EndpointRow[]> {
    const { rows } = await this.sql.query<EndpointRow>(
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY created_at_ms, id`,
    );
    return rows.map(endpointOf);
  }

  async getEndpoint(id: string): Promise<EndpointRow | null> {
    const { rows } = await this.sql.query<EndpointRow>(
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1`,
      [id],
    );
    return rows[0] === undefined ? null : endpointOf(rows[0]);
  }

  /** Deletes the endpoint and its delivery log; false when there was none. */
  async deleteEndpoint(id: string): Promise<boolean> {
    const { rows } = await this.sql.query('DELETE FROM webhook_endpoints WHERE id = $1 RETURNING id', [id]);
    return rows.length > 0;
  }

  async disableEndpoint(id: string, reason: string): Promise<void> {
    await this.sql.query('UPDATE webhook_endpoints SET disabled = true, disabled_reason = $2 WHERE id = $1', [
      id,
      reason,
    ]);
  }

  /**
   * Logs the messages as pending (those already logged are left as they are) and returns the ids
   * still pending: the ones to queue. A message already delivered or failed is not queued again;
   * one logged but never queued (a crash in between) is. Messages of a deleted endpoint are dropped.
   */
  async logPending(messages: readonly WebhookMessage[], nowMs: number): Promise<Set<string>> {
    if (messages.length === 0) return new Set();
    const ids = messages.map((m) => m.id);
    // One statement: the rows it inserts, and those logged before and still pending (its snapshot
    // is from before the insert, so the two halves never overlap).
    const { rows } = await this.sql.query<{ message_id: string }>(
      `WITH inserted AS (
         INSERT INTO webhook_deliveries
           (message_id, endpoint_id, session_id, version, event_type, next_attempt_at_ms, created_at_ms, updated_at_ms)
         SELECT m.message_id, m.endpoint_id, m.session_id, m.version, m.event_type, $6::bigint, $6::bigint, $6::bigint
           FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::text[]) WITH ORDINALITY
                  AS m (message_id, endpoint_id, session_id, version, event_type, ord)
           JOIN webhook_endpoints e ON e.id = m.endpoint_id
          -- The log's order (seq) is the changes' order.
          ORDER BY m.ord
         ON CONFLICT (message_id) DO NOTHING
         RETURNING message_id
       )
       SELECT message_id FROM inserted
       UNION ALL
       SELECT message_id FROM webhook_deliveries WHERE message_id = ANY($1::text[]) AND status = 'pending'`,
      [
        ids,
        messages.map((m) => m.endpointId),
        messages.map((m) => m.sessionId),
        messages.map((m) => m.version),
        messages.map((m) => m.type),
        nowMs,
      ],
    );
    return new Set(rows.map((row) => row.message_id));
  }

  /**
   * What deciding on each message needs, in one query: its log row, its endpoint, and the earliest
   * still-pending message of the same session to the same endpoint with a lower version (ordering:
   * the message waits for it). A message whose row is gone (its endpoint deleted) is absent.
   */
  async claim(messageIds: readonly string[]): Promise<Map<string, Claim>> {
    const { rows } = await this.sql.query<ClaimRow>(
      `SELECT ${deliveryColumns('d.')},
              e.url, e.secret, e.disabled, e.disabled_reason AS "disabledReason",
              earlier.message_id AS "earlierId", earlier.next_attempt_at_ms AS "earlierNextAttemptAtMs"
         FROM webhook_deliveries d
         JOIN webhook_endpoints e ON e.id = d.endpoint_id
         LEFT JOIN LATERAL (
           SELECT x.message_id, x.next_attempt_at_ms FROM webhook_deliveries x
            WHERE x.endpoint_id = d.endpoint_id AND x.session_id = d.session_id
              AND x.version < d.version AND x.status = 'pending'
            ORDER BY x.version LIMIT 1
         ) earlier ON d.status = 'pending'
        WHERE d.message_id = ANY($1::text[])`,
      [messageIds],
    );
    return new Map(
      rows.map((row) => [
        row.messageId,
        {
          delivery: deliveryOf(row),
          endpoint: {
            url: row.url,
            secret: row.secret,
            disabled: row.disabled,
            disabledReason: row.disabledReason,
          },
          earlier:
            row.earlierId === null
              ? null
              : {
                  messageId: row.earlierId,
                  nextAttemptAtMs:
                    row.earlierNextAttemptAtMs === null ? null : toNumber(row.earlierNextAttemptAtMs),
                },
        },
      ]),
    );
  }

  /**
   * Records each attempt's outcome, in one statement, and answers for each message that is now
   * finished the next still-pending message of its session to its endpoint (to wake), or null.
   */
  async finish(attempts: readonly AttemptRecord[]): Promise<(string | null)[]> {
    const { rows } = await this.sql.query<{ messageId: string; nextId: string | null }>(
      `WITH done AS (
         UPDATE webhook_deliveries d
            SET status = u.status, attempts = u.attempts, last_response_code = u.response_code,
                last_error = u.error, next_attempt_at_ms = u.next_attempt_at_ms, updated_at_ms = u.now_ms
           FROM unnest($1::text[], $2::text[], $3::integer[], $4::integer[], $5::text[], $6::bigint[], $7::bigint[])
                  AS u (message_id, status, attempts, response_code, error, next_attempt_at_ms, now_ms)
          WHERE d.message_id = u.message_id
         RETURNING d.message_id, d.endpoint_id, d.session_id, d.version, d.status
       )
       SELECT done.message_id AS "messageId", later.message_id AS "nextId"
         FROM done
         LEFT JOIN LATERAL (
           SELECT x.message_id FROM webhook_deliveries x
            WHERE x.endpoint_id = done.endpoint_id AND x.session_id = done.session_id
              AND x.version > done.version AND x.status = 'pending'
            ORDER BY x.version LIMIT 1
         ) later ON done.status <> 'pending'`,
      [
        attempts.map((a) => a.messageId),
        attempts.map((a) => a.status),
        attempts.map((a) => a.attempts),
        attempts.map((a) => a.responseCode),
        attempts.map((a) => a.error),
        attempts.map((a) => a.nextAttemptAtMs),
        attempts.map((a) => a.nowMs),
      ],
    );
    const next = new Map(rows.map((row) => [row.messageId, row.nextId]));
    return attempts.map((a) => next.get(a.messageId) ?? null);
  }

  /**
   * Ends every pending message of the endpoint (it was disabled), but `exceptMessageId` (the one
   * whose answer disabled it): none of them will be sent.
   */
  async failPending(
    endpointId: string,
    reason: string,
    nowMs: number,
    exceptMessageId: string,
  ): Promise<void> {
    await this.sql.query(
      `UPDATE webhook_deliveries SET status = 'failed', last_error = $2, next_attempt_at_ms = NULL,
              updated_at_ms = $3::bigint
        WHERE endpoint_id = $1 AND status = 'pending' AND message_id <> $4`,
      [endpointId, reason, nowMs, exceptMessageId],
    );
  }

  /** The endpoint's delivery log, oldest first, `limit` rows after the sequence number `afterSeq`. */
  async deliveries(endpointId: string, afterSeq: number, limit: number): Promise<DeliveryRow[]> {
    const { rows } = await this.sql.query<DeliveryRow>(
      `SELECT ${deliveryColumns()} FROM webhook_deliveries
        WHERE endpoint_id = $1 AND seq > $2::bigint ORDER BY seq LIMIT $3`,
      [endpointId, afterSeq, limit],
    );
    return rows.map(deliveryOf);
  }

  async putDevice(device: DeviceRow, nowMs: number): Promise<void> {
    await this.sql.query(
      `INSERT INTO push_devices (session_id, token, participant_id, created_at_ms)
       VALUES ($1, $2, $3, $4::bigint)
       ON CONFLICT (session_id, token) DO UPDATE SET participant_id = EXCLUDED.participant_id`,
      [device.sessionId, device.token, device.participantId, nowMs],
    );
  }

  /** Removes the tokens from the session (all of its sessions when `sessionId` is null). */
  async removeDevices(sessionId: string | null, tokens: readonly string[]): Promise<number> {
    if (tokens.length === 0) return 0;
    const { rows } = await this.sql.query(
      `DELETE FROM push_devices WHERE token = ANY($1::text[]) AND ($2::text IS NULL OR session_id = $2)
       RETURNING token`,
      [tokens, sessionId],
    );
    return rows.length;
  }

  async devicesOf(sessionIds: readonly string[]): Promise<DeviceRow[]> {
    if (sessionIds.length === 0) return [];
    const { rows } = await this.sql.query<DeviceRow>(
      `SELECT session_id AS "sessionId", token, participant_id AS "participantId"
         FROM push_devices WHERE session_id = ANY($1::text[])`,
      [sessionIds],
    );
    return rows;
  }
}
