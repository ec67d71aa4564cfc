import { setTimeout as sleep } from 'node:timers/promises';
import { ReplyError } from 'ioredis';
import type { Clock } from '../types/clock.js';
import { storeUnavailable } from '../types/errors.js';
import { SESSION_STATUSES, type SessionState, type SessionStatus } from '../types/session.js';
import type {
  DeadlineEntry,
  RestoreWrite,
  SessionListQuery,
  SessionWrite,
  StateStore,
  WriteResult,
} from '../types/store.js';
import { earliestInBuckets } from './bucketIndex.js';
import { stateKeys, type StateKeys } from './keys.js';
import { REDIS_CALL_TIMEOUT_MS, withinCallTimeout, type RedisClient } from './redisConnection.js';
import { WriteTooLateError } from './scriptResult.js';
import {
  defineStateScripts,
  dropStaleDeadlineScript,
  dropStaleListingScript,
  removeSessionScript,
  restoreSessionScript,
  saveSessionScript,
} from './scripts.js';
import { decodeState } from './stateCodec.js';

/**
 * How much earlier than the caller's timeout a write's not-after instant falls. It covers the
 * error of the instance's clock against Redis TIME (half the round trip of its best sync
 * sample, plus drift between syncs: about a millisecond on one network), so Redis refuses a
 * late write before its caller can have given up on it. It does not cover Redis's own clock
 * being stepped back by more than this.
 */
const NOT_AFTER_MARGIN_MS = 100;

export interface RedisStateStoreOptions {
  /** The instance's clock, disciplined to Redis TIME (RedisClock): not-after instants are on it. */
  clock: Clock;
  keyPrefix?: string;
  /**
   * How long a removed session's lifetime is kept from being restored from the audit trail
   * (default 1 h): longer than the audit relay takes to record the removal.
   */
  removalMarkTtlMs?: number;
}

const DEFAULT_REMOVAL_MARK_TTL_MS = 60 * 60 * 1000;

/** Every Redis failure (closed, timed out, offline) leaves the store as one STORE_UNAVAILABLE. */
async function orUnavailable<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (err) {
    throw storeUnavailable('redis', err);
  }
}

/** A stored value, '<version>|<stateJson>' (save-session-5.lua): the JSON carries the version too. */
function stateOf(value: string | null): SessionState | null {
  return value === null ? null : decodeState(value.slice(value.indexOf('|') + 1));
}

/** Redis answered (a refusal or an error reply): what the write did is known, nothing is pending. */
function isAnswer(err: unknown): boolean {
  return err instanceof ReplyError || err instanceof WriteTooLateError;
}

/**
 * The distributed store: one string per session, CAS writes in Lua, a sorted-set deadline index
 * per bucket. The same on one Redis and on a Redis Cluster (keys.ts: one slot per script).
 */
export class RedisStateStore implements StateStore {
  readonly name = 'redis';
  readonly keys: StateKeys;
  private readonly redis: RedisClient;
  private readonly clock: Clock;
  private readonly scripts: ReturnType<typeof defineStateScripts>;
  private readonly removalMarkTtlMs: number;

  constructor(redis: RedisClient, options: RedisStateStoreOptions) {
    this.redis = redis;
    this.removalMarkTtlMs = options.removalMarkTtlMs ?? DEFAULT_REMOVAL_MARK_TTL_MS;
    this.clock = options.clock;
    this.keys = stateKeys(options.keyPrefix);
    this.scripts = defineStateScripts(redis);
  }

  async get(sessionId: string): Promise<SessionState | null> {
    return stateOf(await this.read(this.redis.get(this.keys.session(sessionId))));
  }

  save(write: SessionWrite): Promise<WriteResult> {
    return this.write((notAfterMs) => saveSessionScript(this.scripts, this.keys, write, notAfterMs));
  }

  remove(
    state: SessionState,
    expectedVersion: number,
    auditRecords: readonly string[] = [],
  ): Promise<WriteResult> {
    const remove = { state, expectedVersion, auditRecords, removalMarkTtlMs: this.removalMarkTtlMs };
    return this.write((notAfterMs) => removeSessionScript(this.scripts, this.keys, remove, notAfterMs));
  }

  restore(write: RestoreWrite): Promise<WriteResult> {
    return this.write((notAfterMs) => restoreSessionScript(this.scripts, this.keys, write, notAfterMs));
  }

  async deadlinesUntil(untilMs: number, limit: number): Promise<DeadlineEntry[]> {
    const indexes = this.keys.buckets.map((bucket) => this.keys.deadlines(bucket));
    const earliest = await this.read(earliestInBuckets(this.redis, indexes, untilMs, limit));
    return earliest.map(({ member, score }) => ({ sessionId: member, deadlineAtMs: score }));
  }

  async list(query: SessionListQuery): Promise<SessionState[]> {
    const found: SessionState[] = [];
    let afterId = query.afterId;
    while (found.length < query.limit) {
      const { ids, more } = await this.idsAfter(query.status, afterId, query.limit - found.length);
      // One GET per session (a cluster routes each to its slot; auto-pipelining batches them).
      const values = await this.read(Promise.all(ids.map((id) => this.redis.get(this.keys.session(id)))));
      const stale: string[] = [];
      ids.forEach((id, i) => {
        const state = stateOf(values[i] ?? null);
        if (state === null) stale.push(id);
        // The status may have changed between the index read and the GET: it is filtered again.
        else if (query.status === undefined || state.status === query.status) found.push(state);
      });
      // Gone by TTL: the ids leave the indexes (only if still gone, atomically), never listed.
      await Promise.all(
        stale.map((id) =>
          this.write((notAfterMs) => dropStaleListingScript(this.scripts, this.keys, id, notAfterMs)),
        ),
      );
      if (!more) break;
      afterId = ids[ids.length - 1];
    }
    return found;
  }

  /**
   * The first ids after `afterId` over the status indexes of every bucket (of one status, or of
   * all), at most `limit`, in order: a few from each index (ids hash evenly over the buckets),
   * merged. An index that filled its share may hold more before the others' last ids, so only
   * ids up to the smallest such index's last are certain to be the first: those are kept, and
   * `more` says whether any ids may follow.
   */
  private async idsAfter(
    status: SessionStatus | undefined,
    afterId: string | undefined,
    limit: number,
  ): Promise<{ ids: string[]; more: boolean }> {
    const { buckets } = this.keys;
    const statuses = status === undefined ? SESSION_STATUSES : [status];
    const indexes = buckets.flatMap((bucket) => statuses.map((s) => this.keys.sessionIndex(bucket, s)));
    // Three times a bucket's even share, plus a margin: a page almost never needs a second round.
    const share = Math.min(limit, Math.ceil((3 * limit) / buckets.length) + 4);
    const min = afterId === undefined ? '-' : `(${afterId}`;
    // One read per index (a cluster routes each to its master; auto-pipelining batches them).
    const perIndex = await this.read(
      Promise.all(indexes.map((key) => this.redis.zrange(key, min, '+', 'BYLEX', 'LIMIT', 0, share))),
    );
    let bound: string | undefined;
    for (const ids of perIndex) {
      const last = ids[ids.length - 1];
      if (ids.length === share && last !== undefined && (bound === undefined || last < bound)) bound = last;
    }
    // Ids are ASCII, so code-unit order is Redis's byte order. An id in two indexes (one left
    // behind by a lifetime whose TTL ran out) is read once.
    const merged = perIndex
      .flat()
      .filter((id) => bound === undefined || id <= bound)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .filter((id, i, sorted) => i === 0 || id !== sorted[i - 1]);
    return { ids: merged.slice(0, limit), more: bound !== undefined || merged.length > limit };
  }

  dropStaleDeadline(sessionId: string): Promise<void> {
    return this.write((notAfterMs) =>
      dropStaleDeadlineScript(this.scripts, this.keys, sessionId, notAfterMs),
    );
  }

  async ping(): Promise<void> {
    await this.read(this.redis.ping());
  }

  /** The connection belongs to whoever passed it in, so closing the store leaves it open. */
  async close(): Promise<void> {}

  private read<T>(call: Promise<T>): Promise<T> {
    return orUnavailable(withinCallTimeout(call));
  }

  /**
   * Runs a write script that Redis must run by its not-after instant (`REDIS_CALL_TIMEOUT_MS`
   * minus the margin from now, on the Redis-disciplined clock) or never. A failure is reported
   * no earlier than the full timeout after the write was issued, when Redis can no longer run
   * it: whoever hears STORE_UNAVAILABLE knows the write either happened before or never will.
   */
  private async write<T>(run: (notAfterMs: number) => Promise<T>): Promise<T> {
    // Not connected: ioredis refuses the command without sending it, so nothing can land later.
    if (this.redis.status !== 'ready') {
      throw storeUnavailable('redis', new Error(`the connection is ${this.redis.status}`));
    }
    const issuedAtMs = performance.now();
    const notAfterMs = this.clock.nowMs() + REDIS_CALL_TIMEOUT_MS - NOT_AFTER_MARGIN_MS;
    try {
      return await withinCallTimeout(run(notAfterMs));
    } catch (err) {
      // Failed early without an answer (a dropped connection): the script may still be on its way.
      const pendingMs = issuedAtMs + REDIS_CALL_TIMEOUT_MS - performance.now();
      if (!isAnswer(err) && pendingMs > 0) await sleep(pendingMs);
      throw storeUnavailable('redis', err);
    }
  }
}
