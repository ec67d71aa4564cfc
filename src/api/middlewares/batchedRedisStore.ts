// The rate limiter's counts in Redis without a Redis round trip per request. Each instance counts
// a client's hits locally and adds them to the client's Redis counter in batches (every
// FLUSH_INTERVAL_MS), learning the total that every instance has added; only a client close to
// its limit (within the slack) is counted in Redis on the request path, so the limit is exact
// where it matters. Tolerance across instances: a client can exceed its limit only by the hits
// the other instances admitted within one flush interval beyond the slack.
import type { FastifyRateLimitStore } from '@fastify/rate-limit';
import { withinCallTimeout, type RedisClient } from '../../state/redisConnection.js';

/** How often the hits counted here go to Redis. */
export const FLUSH_INTERVAL_MS = 20;
/** Limits up to this many hits are counted in Redis on every request: small limits stay exact. */
const MIN_SLACK_HITS = 50;
/** Otherwise the last 5% of a window's hits are counted in Redis on the request path. */
const SLACK_FRACTION = 0.05;

/** KEYS[1] the client's counter; ARGV[1] the window (ms), ARGV[2] hits to add. → { hits in the window, ms left }. */
const ADD_HITS_LUA = `
local windowMs = tonumber(ARGV[1])
local hits = tonumber(ARGV[2])
local leftMs = redis.call("PTTL", KEYS[1])
if leftMs <= 0 then
  redis.call("SET", KEYS[1], hits, "PX", windowMs)
  return { hits, windowMs }
end
return { redis.call("INCRBY", KEYS[1], hits), leftMs }
`;

/** A hit that takes the count past this is counted in Redis before the answer. */
function localUpToHits(max: number): number {
  const slack = Math.max(MIN_SLACK_HITS, Math.ceil(max * SLACK_FRACTION));
  return Math.max(0, max - slack);
}

interface AddHitsCommand {
  skRateLimitAddHits(key: string, windowMs: string, hits: string): Promise<[number, number]>;
}

/** A client's hits in the window (every instance's, as far as known here) and the ms left of it. */
export interface Hits {
  current: number;
  ttl: number;
}

interface Counter {
  /** The client's hits in Redis at its last answer, this instance's included. */
  knownHits: number;
  /** Hits sent to Redis and not answered yet. */
  sentHits: number;
  /** Hits admitted here and not sent yet. */
  unsentHits: number;
  resetAtMs: number;
}

export class BatchedRedisStore implements FastifyRateLimitStore {
  readonly prefix: string;
  private readonly redis: RedisClient & AddHitsCommand;
  private readonly counters = new Map<string, Counter>();
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(redis: RedisClient, prefix: string) {
    this.prefix = prefix;
    if (!('skRateLimitAddHits' in redis.scriptsSet)) {
      // EVALSHA, and EVAL on NOSCRIPT: the script survives a Redis restart by itself.
      redis.defineCommand('skRateLimitAddHits', { numberOfKeys: 1, lua: ADD_HITS_LUA });
    }
    this.redis = redis as RedisClient & AddHitsCommand;
  }

  /** @fastify/rate-limit's store call: one hit of `key` in a window of `windowMs`, limit `max`. */
  incr(key: string, done: (err: Error | null, hits?: Hits) => void, windowMs: number, max: number): void {
    this.hit(key, windowMs, max).then(
      (hits) => done(null, hits),
      (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
    );
  }

  /** One limit for the whole service: every route shares the same counters. */
  child(): FastifyRateLimitStore {
    return this;
  }

  /** Counts one hit of `key`; in Redis before answering only when the client nears `max`. */
  async hit(key: string, windowMs: number, max: number): Promise<Hits> {
    const nowMs = Date.now();
    let counter = this.counters.get(key);
    if (counter === undefined) {
      counter = { knownHits: 0, sentHits: 0, unsentHits: 0, resetAtMs: nowMs + windowMs };
      this.counters.set(key, counter);
    } else if (nowMs >= counter.resetAtMs) {
      // The Redis counter has expired with its window; what is in flight starts the next one.
      counter.knownHits = 0;
      counter.resetAtMs = nowMs + windowMs;
    }
    const hits = counter.knownHits + counter.sentHits + counter.unsentHits + 1;
    if (hits <= localUpToHits(max)) {
      counter.unsentHits++;
      this.flushTimer ??= setTimeout(() => this.flush(windowMs), FLUSH_INTERVAL_MS).unref();
      return { current: hits, ttl: counter.resetAtMs - nowMs };
    }
    const add = counter.unsentHits + 1;
    counter.unsentHits = 0;
    return this.send(key, counter, add, windowMs);
  }

  async resetKey(key: string): Promise<void> {
    this.counters.delete(key);
    await withinCallTimeout(this.redis.del(this.prefix + key));
  }

  shutdown(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }

  /** Every counter's unsent hits in one write (auto-pipelined); forgets counters whose window is over. */
  private flush(windowMs: number): void {
    this.flushTimer = null;
    const nowMs = Date.now();
    for (const [key, counter] of this.counters) {
      if (counter.unsentHits !== 0) {
        const add = counter.unsentHits;
        counter.unsentHits = 0;
        // A failed batch is not sent again: Redis may have counted it, and the limiter fails
        // open while Redis is away anyway.
        this.send(key, counter, add, windowMs).catch(() => {});
      } else if (counter.sentHits === 0 && nowMs >= counter.resetAtMs) {
        this.counters.delete(key);
      }
    }
  }

  /** Adds `add` hits to the client's Redis counter; answers with every instance's total. */
  private async send(key: string, counter: Counter, add: number, windowMs: number): Promise<Hits> {
    counter.sentHits += add;
    try {
      const [totalHits, leftMs] = await withinCallTimeout(
        this.redis.skRateLimitAddHits(this.prefix + key, String(windowMs), String(add)),
      );
      // Replies come in order on one connection: this total includes every earlier batch of ours.
      counter.knownHits = totalHits;
      counter.resetAtMs = Date.now() + leftMs;
      return { current: totalHits, ttl: leftMs };
    } finally {
      counter.sentHits -= add;
    }
  }
}
