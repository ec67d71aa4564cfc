// Every Redis key, channel and group name is built here, so the layout can be read (and changed)
// in one place.
//
// Redis Cluster runs a script only if all its keys lie in one slot. A session's script touches
// the session, its bucket's deadline index and its bucket's audit stream, and publishes on the
// session's channel: all four carry the bucket's hash tag (`{b7}`), so they share a slot. The
// bucket is chosen from the session id; the deadline index and the audit stream are split into
// BUCKET_COUNT buckets, which every instance's scheduler and audit relay cover. A single Redis
// uses the same layout, so both modes run one code path.

import type { SessionStatus } from '../types/session.js';

export const DEFAULT_KEY_PREFIX = 'sk:';

/**
 * Fixed for a deployment: a session's keys are named after its bucket, so changing this moves
 * every session to another key. 64 tags spread evenly over the slot ranges of up to 64 masters
 * (22/22/20 over three), and each poll of the deadline index costs one read per bucket.
 */
export const BUCKET_COUNT = 64;

export interface StateKeys {
  readonly prefix: string;
  /** 0 … BUCKET_COUNT − 1. */
  readonly buckets: readonly number[];
  /** The bucket (and so the slot) a session lives in. */
  bucketOf(sessionId: string): number;
  /** The session, a string `<version>|<stateJson>`: `sk:{b7}:s:abc`. */
  session(sessionId: string): string;
  /**
   * Left for a while when a session is removed, naming the removed lifetime, so a restore from
   * an audit trail that has not yet recorded the removal never brings it back: `sk:{b7}:s:abc:gone`.
   */
  removalMark(sessionId: string): string;
  /** Where every write of the session is published (sharded pub/sub): `sk:{b7}:s:abc:updates`. */
  updatesChannel(sessionId: string): string;
  /** Sorted set of the bucket's session ids scored by deadlineAtMs: `sk:{b7}:deadlines`. */
  deadlines(bucket: number): string;
  /** The deadline index of the session's bucket. */
  deadlinesOf(sessionId: string): string;
  /**
   * The ids of the bucket's sessions of one status (score 0, so ordered by id: read BYLEX), kept
   * by the write scripts: `sk:{b7}:ids:running`. No index of all ids: at ~100 B an entry it would
   * add a tenth to each session's memory, and the list merges the status indexes instead.
   */
  sessionIndex(bucket: number, status: SessionStatus): string;
  /** The status index of the session's bucket. */
  sessionIndexOf(sessionId: string, status: SessionStatus): string;
  /**
   * Stream of the bucket's audit records, appended by the same script that commits each change
   * and drained into the audit queue by a relay: `sk:{b7}:audit`.
   */
  auditLog(bucket: number): string;
  /** The audit stream of the session's bucket. */
  auditLogOf(sessionId: string): string;
  /**
   * Sessions with on_disconnect only: which instances hold a participant's connections, a hash of
   * `<participantId>|<instanceId>` → lease end (ms): `sk:{b7}:s:abc:presence`.
   */
  presence(sessionId: string): string;
  /**
   * Sorted set of the bucket's `<sessionId>|<participantId>` scored by when the participant, if
   * still gone, is due for the disconnect policy: `sk:{b7}:disconnects`.
   */
  disconnects(bucket: number): string;
  /** The disconnect index of the session's bucket. */
  disconnectsOf(sessionId: string): string;
  /** The audit relays' consumer group on every audit stream. */
  readonly auditRelayGroup: string;
  /**
   * BullMQ's prefix: hash-tagged as BullMQ documents for Redis Cluster (its scripts touch several
   * keys of one queue), so the whole queue lives in one slot: `{sk:bull}`.
   */
  readonly bullPrefix: string;
  /**
   * The rate limiter's counts, one key per client address: `sk:rl:<address>`. Every limiter
   * script touches one key only, so the counts spread over all slots untagged.
   */
  readonly rateLimitPrefix: string;
}

/** FNV-1a, 32 bits: cheap, stable across processes and versions, even over short ids. */
function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function bucketOf(sessionId: string): number {
  return hash32(sessionId) % BUCKET_COUNT;
}

const BUCKETS: readonly number[] = Array.from({ length: BUCKET_COUNT }, (_, bucket) => bucket);

export function stateKeys(prefix: string = DEFAULT_KEY_PREFIX): StateKeys {
  const tagged = (bucket: number): string => `${prefix}{b${bucket}}`;
  const session = (sessionId: string): string => `${tagged(bucketOf(sessionId))}:s:${sessionId}`;
  const deadlines = (bucket: number): string => `${tagged(bucket)}:deadlines`;
  const auditLog = (bucket: number): string => `${tagged(bucket)}:audit`;
  const sessionIndex = (bucket: number, status: SessionStatus): string => `${tagged(bucket)}:ids:${status}`;
  const disconnects = (bucket: number): string => `${tagged(bucket)}:disconnects`;
  return {
    prefix,
    buckets: BUCKETS,
    bucketOf,
    session,
    removalMark: (sessionId) => `${session(sessionId)}:gone`,
    updatesChannel: (sessionId) => `${session(sessionId)}:updates`,
    deadlines,
    deadlinesOf: (sessionId) => deadlines(bucketOf(sessionId)),
    sessionIndex,
    sessionIndexOf: (sessionId, status) => sessionIndex(bucketOf(sessionId), status),
    auditLog,
    auditLogOf: (sessionId) => auditLog(bucketOf(sessionId)),
    presence: (sessionId) => `${session(sessionId)}:presence`,
    disconnects,
    disconnectsOf: (sessionId) => disconnects(bucketOf(sessionId)),
    auditRelayGroup: 'audit-relay',
    bullPrefix: `{${prefix}bull}`,
    rateLimitPrefix: `${prefix}rl:`,
  };
}
