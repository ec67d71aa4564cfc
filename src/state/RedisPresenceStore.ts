import { storeUnavailable } from '../types/errors.js';
import type { DisconnectEntry, PresenceStore } from '../types/presence.js';
import { earliestInBuckets } from './bucketIndex.js';
import { stateKeys, type StateKeys } from './keys.js';
import { disconnectEntry, disconnectMember } from './MemoryPresenceStore.js';
import { withinCallTimeout, type RedisClient } from './redisConnection.js';
import { loadLua } from './scripts.js';

/** How much longer than its newest lease and grace a presence hash is kept (clock error, a slow sweep). */
const PRESENCE_TTL_MARGIN_MS = 60_000;

const SCRIPTS = {
  skRenewPresence: { numberOfKeys: 2, lua: loadLua('renew-presence-2.lua') },
  skReleasePresence: { numberOfKeys: 2, lua: loadLua('release-presence-2.lua') },
  skSettleDisconnect: { numberOfKeys: 1, lua: loadLua('settle-disconnect-1.lua') },
} as const;

/** The commands defineCommand adds at runtime (ioredis cannot type them). */
interface PresenceCommands {
  skRenewPresence(...keysAndArgs: string[]): Promise<number>;
  skReleasePresence(...keysAndArgs: string[]): Promise<number>;
  skSettleDisconnect(...keysAndArgs: string[]): Promise<number>;
}

function definePresenceScripts(redis: RedisClient): PresenceCommands {
  for (const [name, definition] of Object.entries(SCRIPTS)) {
    if (!(name in redis.scriptsSet)) redis.defineCommand(name, definition);
  }
  return redis as unknown as PresenceCommands;
}

/**
 * The distributed presence store: a hash of leases per session with on_disconnect, and a
 * disconnect index per bucket, both in the session's slot (keys.ts). Presence is advisory: the
 * pause it leads to is the engine's compare-and-set, so no write here needs a not-after instant.
 */
export class RedisPresenceStore implements PresenceStore {
  readonly keys: StateKeys;
  private readonly redis: RedisClient;
  private readonly scripts: PresenceCommands;

  constructor(redis: RedisClient, options: { keyPrefix?: string } = {}) {
    this.redis = redis;
    this.keys = stateKeys(options.keyPrefix);
    this.scripts = definePresenceScripts(redis);
  }

  async renew(
    sessionId: string,
    participantId: string,
    instanceId: string,
    leaseUntilMs: number,
    graceMs: number,
  ): Promise<void> {
    // Only roughly: the hash outlives the lease by a minute, so the local clock's error does not matter.
    const ttlMs = Math.max(1, leaseUntilMs - Date.now()) + graceMs + PRESENCE_TTL_MARGIN_MS;
    await this.call(
      this.scripts.skRenewPresence(
        this.keys.presence(sessionId),
        this.keys.disconnectsOf(sessionId),
        `${participantId}|${instanceId}`,
        String(leaseUntilMs),
        String(Math.round(ttlMs)),
        disconnectMember(sessionId, participantId),
        String(leaseUntilMs + graceMs),
      ),
    );
  }

  async release(
    sessionId: string,
    participantId: string,
    instanceId: string,
    nowMs: number,
    graceMs: number,
  ): Promise<void> {
    await this.call(
      this.scripts.skReleasePresence(
        this.keys.presence(sessionId),
        this.keys.disconnectsOf(sessionId),
        `${participantId}|${instanceId}`,
        `${participantId}|`,
        String(nowMs),
        disconnectMember(sessionId, participantId),
        String(nowMs + graceMs),
      ),
    );
  }

  async present(sessionId: string, participantId: string, nowMs: number): Promise<boolean> {
    const leases = await this.call(this.redis.hgetall(this.keys.presence(sessionId)));
    const prefix = `${participantId}|`;
    return Object.entries(leases).some(
      ([field, leaseUntilMs]) => field.startsWith(prefix) && Number(leaseUntilMs) > nowMs,
    );
  }

  async due(untilMs: number, limit: number): Promise<DisconnectEntry[]> {
    const indexes = this.keys.buckets.map((bucket) => this.keys.disconnects(bucket));
    const earliest = await this.call(earliestInBuckets(this.redis, indexes, untilMs, limit));
    return earliest.map(({ member, score }) => disconnectEntry(member, score));
  }

  async settle(entry: DisconnectEntry, nextDueAtMs: number | null): Promise<boolean> {
    const settled = await this.call(
      this.scripts.skSettleDisconnect(
        this.keys.disconnectsOf(entry.sessionId),
        disconnectMember(entry.sessionId, entry.participantId),
        String(entry.dueAtMs),
        nextDueAtMs === null ? '' : String(nextDueAtMs),
      ),
    );
    return settled === 1;
  }

  /** The connection belongs to whoever passed it in. */
  async close(): Promise<void> {}

  private async call<T>(operation: Promise<T>): Promise<T> {
    try {
      return await withinCallTimeout(operation);
    } catch (err) {
      throw storeUnavailable('redis', err);
    }
  }
}
