// The rate limiter's counts in Redis without a Redis round trip per request. Each instance counts
// a client's hits locally and adds them to the client's Redis counter in batches (every
// FLUSH_INTERVAL_MS), learning the total that every instance has added; only a client close to
// its limit (within the slack) is counted in Redis on the request path, so the limit is exact
// where it matters. Tolerance across instances: a client can exceed its limit only by the hits
// the other instances admitted within one flush interval beyond the slack.
import type { IncrementResponse, Options, Store } from 'express-rate-limit';
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

interface AddHitsCommand {
  skRateLimitAddHits(key: string, windowMs: string, hits: string): Promise<[number, number]>;
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

export class BatchedRedisStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private readonly redis: RedisClient & AddHitsCommand;
  private windowMs = 60_000;
  /** A hit that takes the count past this is counted in Redis before the answer. */
  private localUpToHits = 0;
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

  init(options: Options): void {
    this.windowMs = options.windowMs;
    // A per-request limit (a function) cannot be known here: every hit is then counted in Redis.
    const max = typeof options.limit === 'number' ? options.limit : 0;
    const slack = Math.max(MIN_SLACK_HITS, Math.ceil(max * SLACK_FRACTION));
    this.localUpToHits = Math.max(0, max - slack);
  }

  async increment(key: string): Promise<IncrementResponse> {
    const nowMs = Date.now();
    let counter = this.counters.get(key);
    if (counter === undefined) {
      counter = { knownHits: 0, sentHits: 0, unsentHits: 0, resetAtMs: nowMs + this.windowMs };
      this.counters.set(key, counter);
    } else if (nowMs >= counter.resetAtMs) {
      // The Redis counter has expired with its window; what is in flight starts the next one.
      counter.knownHits = 0;
      counter.resetAtMs = nowMs + this.windowMs;
    }
    const hits = counter.knownHits + counter.sentHits + counter.unsentHits + 1;
    if (hits <= this.localUpToHits) {
      counter.unsentHits++;
      this.flushTimer ??= setTimeout(this.flush, FLUSH_INTERVAL_MS).unref();
      return { totalHits: hits, resetTime: new Date(counter.resetAtMs) };
    }
    const add = counter.unsentHits + 1;
    counter.unsentHits = 0;
    return this.send(key, counter, add);
  }

  decrement(key: string): void {
    const counter = this.counters.get(key);
    if (counter === undefined) return;
    counter.unsentHits--;
    this.flushTimer ??= setTimeout(this.flush, FLUSH_INTERVAL_MS).unref();
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
  private readonly flush = (): void => {
    this.flushTimer = null;
    const nowMs = Date.now();
    for (const [key, counter] of this.counters) {
      if (counter.unsentHits !== 0) {
        const add = counter.unsentHits;
        counter.unsentHits = 0;
        // A failed batch is not sent again: Redis may have counted it, and the limiter fails
        // open while Redis is away anyway.
        this.send(key, counter, add).catch(() => {});
      } else if (counter.sentHits === 0 && nowMs >= counter.resetAtMs) {
        this.counters.delete(key);
      }
    }
  };

  /** Adds `add` hits to the client's Redis counter; answers with every instance's total. */
  private async send(key: string, counter: Counter, add: number): Promise<IncrementResponse> {
    counter.sentHits += add;
    try {
      const [totalHits, leftMs] = await withinCallTimeout(
        this.redis.skRateLimitAddHits(this.prefix + key, String(this.windowMs), String(add)),
      );
      // Replies come in order on one connection: this total includes every earlier batch of ours.
      counter.knownHits = totalHits;
      counter.resetAtMs = Date.now() + leftMs;
      return { totalHits, resetTime: new Date(counter.resetAtMs) };
    } finally {
      counter.sentHits -= add;
    }
  }
}
