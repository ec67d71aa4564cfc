import type { Redis } from 'ioredis';
import { storeUnavailable } from '../types/errors.js';
import type { SessionState } from '../types/session.js';
import type { DeadlineEntry, SessionWrite, StateStore, WriteResult } from '../types/store.js';
import { stateKeys, type StateKeys } from './keys.js';
import {
  defineStateScripts,
  dropStaleDeadlineScript,
  removeSessionScript,
  saveSessionScript,
} from './scripts.js';
import { decodeState } from './stateCodec.js';

/** Every Redis failure (closed, timed out, offline) leaves the store as one STORE_UNAVAILABLE. */
async function orUnavailable<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (err) {
    throw storeUnavailable('redis', err);
  }
}

/** The distributed store: one string per session, CAS writes in Lua, a sorted-set deadline index. */
export class RedisStateStore implements StateStore {
  readonly name = 'redis';
  readonly keys: StateKeys;
  private readonly redis: Redis;
  private readonly scripts: ReturnType<typeof defineStateScripts>;

  constructor(redis: Redis, options: { keyPrefix?: string } = {}) {
    this.redis = redis;
    this.keys = stateKeys(options.keyPrefix);
    this.scripts = defineStateScripts(redis);
  }

  async get(sessionId: string): Promise<SessionState | null> {
    const value = await orUnavailable(this.redis.get(this.keys.session(sessionId)));
    // '<version>|<stateJson>' (save-session-3.lua); the JSON carries the version too.
    return value === null ? null : decodeState(value.slice(value.indexOf('|') + 1));
  }

  save(write: SessionWrite): Promise<WriteResult> {
    return orUnavailable(saveSessionScript(this.scripts, this.keys, write));
  }

  remove(
    state: SessionState,
    expectedVersion: number,
    auditRecords: readonly string[] = [],
  ): Promise<WriteResult> {
    return orUnavailable(removeSessionScript(this.scripts, this.keys, state, expectedVersion, auditRecords));
  }

  async deadlinesUntil(untilMs: number, limit: number): Promise<DeadlineEntry[]> {
    // A non-positive LIMIT count means "no limit" to Redis; here it means nothing.
    if (limit <= 0) return [];
    const flat = await orUnavailable(
      this.redis.zrangebyscore(this.keys.deadlines, '-inf', untilMs, 'WITHSCORES', 'LIMIT', 0, limit),
    );
    const entries: DeadlineEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      entries.push({ sessionId: flat[i]!, deadlineAtMs: Number(flat[i + 1]) });
    }
    return entries;
  }

  dropStaleDeadline(sessionId: string): Promise<void> {
    return orUnavailable(dropStaleDeadlineScript(this.scripts, this.keys, sessionId));
  }

  async ping(): Promise<void> {
    await orUnavailable(this.redis.ping());
  }

  /** The connection belongs to whoever passed it in, so closing the store leaves it open. */
  async close(): Promise<void> {}
}
