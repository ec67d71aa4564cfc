// Drains the audit log that the state scripts append to (a Redis stream, written in the
// same atomic step as each change) into the audit queue. Every instance runs one, in one
// consumer group: an entry is acknowledged and deleted only after its job is queued, and
// entries a dead instance had read but not queued are claimed by another after a while —
// so an instance killed at any point loses no record.
import type { Redis } from 'ioredis';
import type { StateKeys } from '../state/keys.js';
import type { AuditQueue } from './DBWriteQueue.js';

export const AUDIT_RELAY_GROUP = 'audit-relay';
const BATCH_SIZE = 500;
const BLOCK_MS = 1_000;
const RETRY_DELAY_MS = 1_000;
/** Entries read but not acknowledged for this long belong to a consumer presumed dead. */
const DEFAULT_CLAIM_IDLE_MS = 15_000;

/** Fields are null for an entry deleted while it was pending. */
type StreamEntry = [id: string, fields: string[] | null];

interface RelayedRecord {
  sessionId: string;
  version: number;
  record: string;
}

/** The record in an entry's field 'r' and the ids its job is keyed by, or what is wrong with it. */
function readEntry(fields: string[]): RelayedRecord | string {
  let record: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'r') record = fields[i + 1];
  if (record === undefined) return "no field 'r'";
  let parsed: unknown;
  try {
    parsed = JSON.parse(record);
  } catch {
    return 'not JSON';
  }
  const { sessionId, version } = (parsed ?? {}) as { sessionId?: unknown; version?: unknown };
  if (typeof sessionId !== 'string' || !Number.isSafeInteger(version) || (version as number) < 1) {
    return 'no sessionId and version';
  }
  return { sessionId, version: version as number, record };
}

export interface AuditRelayOptions {
  /** A connection of its own: the relay blocks on it. The relay owns and closes it. */
  redis: Redis;
  keys: StateKeys;
  queue: Pick<AuditQueue, 'addRecords'>;
  /** Unique per instance (e.g. host-pid-random). */
  consumerName: string;
  claimIdleMs?: number;
  onError?: (err: unknown, context: string) => void;
}

export class AuditRelay {
  private running = false;
  private closed = false;
  private loop: Promise<void> | null = null;
  private lastClaimAtMs = 0;

  constructor(private readonly options: AuditRelayOptions) {}

  start(): void {
    if (this.running || this.closed) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops reading; entries not yet queued stay in the stream for the next relay. Safe twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.running = false;
    // Interrupts a blocked XREADGROUP; the loop then sees running = false.
    this.options.redis.disconnect();
    await this.loop;
  }

  private async run(): Promise<void> {
    let groupReady = false;
    let ownPendingDone = false;
    while (this.running) {
      try {
        if (!groupReady) groupReady = await this.ensureGroup();
        // First what this consumer read before a restart but never queued, then new entries.
        if (!ownPendingDone) ownPendingDone = (await this.relay('0')) === 0;
        else {
          await this.claimAbandoned();
          await this.relay('>');
        }
      } catch (err) {
        if (!this.running) break;
        this.options.onError?.(err, 'audit relay');
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
      }
    }
  }

  private async ensureGroup(): Promise<boolean> {
    try {
      await this.options.redis.xgroup(
        'CREATE',
        this.options.keys.auditLog,
        AUDIT_RELAY_GROUP,
        '0',
        'MKSTREAM',
      );
    } catch (err) {
      if (!(err instanceof Error) || !err.message.includes('BUSYGROUP')) throw err;
    }
    return true;
  }

  /** Reads a batch (`>`: new entries, blocking; `0`: this consumer's pending ones) and queues it. */
  private async relay(from: '>' | '0'): Promise<number> {
    const { redis, keys, consumerName } = this.options;
    const block = from === '>' ? ['BLOCK', BLOCK_MS] : [];
    const reply = (await redis.call(
      'XREADGROUP',
      'GROUP',
      AUDIT_RELAY_GROUP,
      consumerName,
      'COUNT',
      BATCH_SIZE,
      ...block,
      'STREAMS',
      keys.auditLog,
      from,
    )) as Array<[string, StreamEntry[]]> | null;
    const entries = reply?.[0]?.[1] ?? [];
    await this.queueAndAcknowledge(entries);
    return entries.length;
  }

  private async claimAbandoned(): Promise<void> {
    const idleMs = this.options.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS;
    const nowMs = Date.now();
    if (nowMs - this.lastClaimAtMs < Math.min(idleMs, 5_000)) return;
    this.lastClaimAtMs = nowMs;
    const { redis, keys, consumerName } = this.options;
    let cursor = '0-0';
    do {
      const [next, entries] = (await redis.xautoclaim(
        keys.auditLog,
        AUDIT_RELAY_GROUP,
        consumerName,
        idleMs,
        cursor,
        'COUNT',
        BATCH_SIZE,
      )) as [string, StreamEntry[], ...unknown[]];
      await this.queueAndAcknowledge(entries.filter((entry) => entry !== null));
      cursor = next;
    } while (cursor !== '0-0' && this.running);
  }

  private async queueAndAcknowledge(entries: StreamEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const records: RelayedRecord[] = [];
    /** Queued, or already deleted: acknowledged and deleted. */
    const done: string[] = [];
    /** Acknowledged but left in the stream: only our own scripts write here, so a person should look. */
    const unreadable: string[] = [];
    for (const [id, fields] of entries) {
      const entry = fields === null ? null : readEntry(fields);
      if (typeof entry === 'string') {
        unreadable.push(id);
        this.options.onError?.(
          new Error(`audit log entry ${id}: ${entry}`),
          `unreadable audit log entry ${id}`,
        );
      } else {
        if (entry !== null) records.push(entry);
        done.push(id);
      }
    }
    await this.options.queue.addRecords(records);
    const log = this.options.keys.auditLog;
    const acknowledge = this.options.redis.multi().xack(log, AUDIT_RELAY_GROUP, ...done, ...unreadable);
    if (done.length > 0) acknowledge.xdel(log, ...done);
    await acknowledge.exec();
  }
}
