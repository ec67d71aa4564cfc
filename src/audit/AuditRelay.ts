// Drains the audit log that the state scripts append to (one Redis stream per bucket, written
// in the same atomic step as each change) into the audit queue. Every instance runs one over
// every bucket, in one consumer group per stream: an entry goes to one relay, is acknowledged
// and deleted only after its job is queued, and entries a dead instance had read but not
// queued are claimed by another after a while — so an instance killed at any point loses no
// record, and none is relayed twice.
import type { StateKeys } from '../state/keys.js';
import { lifetimeOf } from '../state/lifetime.js';
import type { RedisClient } from '../state/redisConnection.js';
import type { SessionState } from '../types/session.js';
import type { AuditQueue } from './DBWriteQueue.js';

const BATCH_SIZE = 500;
/**
 * How often the streams are read, unless the last read left a full batch behind. On a cluster the
 * streams live in many slots, so no single blocking read can wait on all of them; the audit trail
 * (and the webhooks it feeds) may lag this much. Reading again at once after every non-empty
 * read cost a read per bucket for the few records each change adds: at 100 changes a second
 * that was 2,000 reads a second, and webhook batches of one change each.
 */
const POLL_INTERVAL_MS = 100;
const RETRY_DELAY_MS = 1_000;
/** XGROUP CREATE <stream> <group> 0 MKSTREAM. */
const CREATE_GROUP_LUA = "return redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')";
/** Entries read but not acknowledged for this long belong to a consumer presumed dead. */
const DEFAULT_CLAIM_IDLE_MS = 15_000;

/** Fields are null for an entry deleted while it was pending. */
type StreamEntry = [id: string, fields: string[] | null];

interface RelayedRecord {
  sessionId: string;
  lifetime: string;
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
  const { sessionId, version, state } = (parsed ?? {}) as {
    sessionId?: unknown;
    version?: unknown;
    state?: SessionState;
  };
  if (typeof sessionId !== 'string' || !Number.isSafeInteger(version) || (version as number) < 1) {
    return 'no sessionId and version';
  }
  // A record without a state still gets a job; the writer refuses it as data.
  const lifetime = typeof state === 'object' && state !== null ? lifetimeOf(state) : '';
  return { sessionId, lifetime, version: version as number, record };
}

export interface AuditRelayOptions {
  /** A connection of its own (one Redis or the cluster). The relay owns and closes it. */
  redis: RedisClient;
  keys: StateKeys;
  queue: Pick<AuditQueue, 'addRecords'>;
  /** Unique per instance (e.g. host-pid-random). */
  consumerName: string;
  claimIdleMs?: number;
  onError?: (err: unknown, context: string) => void;
}

interface BucketEntries {
  bucket: number;
  entries: StreamEntry[];
}

export class AuditRelay {
  private running = false;
  private closed = false;
  private loop: Promise<void> | null = null;
  private lastClaimAtMs = 0;
  private wake: (() => void) | null = null;

  constructor(private readonly options: AuditRelayOptions) {}

  start(): void {
    if (this.running || this.closed) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops reading; entries not yet queued stay in the streams for the next relay. Safe twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.running = false;
    this.wake?.();
    // Fails a read in flight; the loop then sees running = false.
    this.options.redis.disconnect();
    await this.loop;
  }

  private async run(): Promise<void> {
    let groupsReady = false;
    let ownPendingDone = false;
    while (this.running) {
      try {
        if (!groupsReady) groupsReady = await this.ensureGroups();
        // First what this consumer read before a restart but never queued, then new entries.
        if (!ownPendingDone) ownPendingDone = (await this.relay('0')).count === 0;
        else {
          await this.claimAbandoned();
          if (!(await this.relay('>')).backlog) await this.pause(POLL_INTERVAL_MS);
        }
      } catch (err) {
        if (!this.running) break;
        // Redis lost the streams and their group (a flush, a failover): made again, then read on.
        if (err instanceof Error && err.message.includes('NOGROUP')) groupsReady = false;
        // What was read but not queued goes first next time, so a session's records keep their order.
        ownPendingDone = false;
        this.options.onError?.(err, 'audit relay');
        await this.pause(RETRY_DELAY_MS);
      }
    }
  }

  /** Sleeps, or less if the relay is closed meanwhile. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async ensureGroups(): Promise<boolean> {
    const { redis, keys } = this.options;
    await Promise.all(
      keys.buckets.map(async (bucket) => {
        try {
          // As a script, so a cluster routes it by its key: ioredis finds no key in XGROUP.
          await redis.eval(CREATE_GROUP_LUA, 1, keys.auditLog(bucket), keys.auditRelayGroup);
        } catch (err) {
          if (!(err instanceof Error) || !err.message.includes('BUSYGROUP')) throw err;
        }
      }),
    );
    return true;
  }

  /**
   * Reads a batch per bucket (`>`: new entries; `0`: this consumer's pending ones) and queues them:
   * how many, and whether a bucket filled its batch (more may be waiting there).
   */
  private async relay(from: '>' | '0'): Promise<{ count: number; backlog: boolean }> {
    const batches = this.options.redis.isCluster
      ? await Promise.all(this.options.keys.buckets.map((bucket) => this.readBuckets([bucket], from)))
      : [await this.readBuckets(this.options.keys.buckets, from)];
    const flat = batches.flat();
    return {
      count: await this.queueAndAcknowledge(flat),
      backlog: flat.some(({ entries }) => entries.length >= BATCH_SIZE),
    };
  }

  /**
   * One XREADGROUP over these buckets' streams (up to a batch from each). On one Redis that is
   * every bucket at once; on a cluster each stream lives in its own slot, so one read per bucket.
   */
  private async readBuckets(buckets: readonly number[], from: '>' | '0'): Promise<BucketEntries[]> {
    const { redis, keys, consumerName } = this.options;
    const streams = buckets.map((bucket) => keys.auditLog(bucket));
    const reply = (await redis.call(
      'XREADGROUP',
      'GROUP',
      keys.auditRelayGroup,
      consumerName,
      'COUNT',
      BATCH_SIZE,
      'STREAMS',
      ...streams,
      ...streams.map(() => from),
    )) as Array<[string, StreamEntry[]]> | null;
    // Streams with nothing to read are left out of the reply.
    const entriesOf = new Map(reply ?? []);
    return buckets.map((bucket, i) => ({ bucket, entries: entriesOf.get(streams[i]!) ?? [] }));
  }

  private async claimAbandoned(): Promise<void> {
    const idleMs = this.options.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS;
    const nowMs = Date.now();
    if (nowMs - this.lastClaimAtMs < Math.min(idleMs, 5_000)) return;
    this.lastClaimAtMs = nowMs;
    const { keys } = this.options;
    await Promise.all(keys.buckets.map((bucket) => this.claimAbandonedIn(bucket, idleMs)));
  }

  private async claimAbandonedIn(bucket: number, idleMs: number): Promise<void> {
    const { redis, keys, consumerName } = this.options;
    let cursor = '0-0';
    do {
      const [next, entries] = (await redis.xautoclaim(
        keys.auditLog(bucket),
        keys.auditRelayGroup,
        consumerName,
        idleMs,
        cursor,
        'COUNT',
        BATCH_SIZE,
      )) as [string, StreamEntry[], ...unknown[]];
      await this.queueAndAcknowledge([{ bucket, entries: entries.filter((entry) => entry !== null) }]);
      cursor = next;
    } while (cursor !== '0-0' && this.running);
  }

  /** Queues the records of every batch in one go, then acknowledges each bucket's; returns how many entries. */
  private async queueAndAcknowledge(batches: BucketEntries[]): Promise<number> {
    const records: RelayedRecord[] = [];
    const acknowledgements: Array<{ bucket: number; done: string[]; unreadable: string[] }> = [];
    let count = 0;
    for (const { bucket, entries } of batches) {
      if (entries.length === 0) continue;
      count += entries.length;
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
      acknowledgements.push({ bucket, done, unreadable });
    }
    if (count === 0) return 0;
    await this.options.queue.addRecords(records);
    const { redis, keys } = this.options;
    await Promise.all(
      acknowledgements.map(({ bucket, done, unreadable }) => {
        const log = keys.auditLog(bucket);
        // One stream, one slot: a transaction even on a cluster.
        const acknowledge = redis.multi().xack(log, keys.auditRelayGroup, ...done, ...unreadable);
        if (done.length > 0) acknowledge.xdel(log, ...done);
        return acknowledge.exec();
      }),
    );
    return count;
  }
}
