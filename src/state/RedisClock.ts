import type { Clock } from '../types/clock.js';
import { storeUnavailable } from '../types/errors.js';
import type { RedisClient } from './redisConnection.js';

export interface RedisClockOptions {
  /** The local clock the offset is applied to; tests inject a skewed one. */
  localNowMs?: () => number;
  /** TIME round trips per sync; the one with the lowest round trip is kept. */
  samples?: number;
  resyncIntervalMs?: number;
  /** A failed resync (the previous offset is kept). */
  onError?: (err: unknown) => void;
}

interface Sample {
  offsetMs: number;
  roundTripMs: number;
}

const DEFAULT_SAMPLES = 8;
const DEFAULT_RESYNC_INTERVAL_MS = 30_000;

/** Wall-clock epoch ms that never steps with NTP adjustments of the system clock. */
function monotonicEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * One clock for the whole deployment: the local monotonic clock disciplined to Redis `TIME`,
 * sampled NTP-style, so every instance writes and hands out the same "server now".
 */
export class RedisClock implements Clock {
  private readonly redis: RedisClient;
  private readonly localNowMs: () => number;
  private readonly samples: number;
  private readonly resyncIntervalMs: number;
  private readonly onError: (err: unknown) => void;
  private offset = 0;
  private roundTrip = Number.NaN;
  private lastNowMs = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  private syncing = false;

  constructor(redis: RedisClient, options: RedisClockOptions = {}) {
    this.redis = redis;
    this.localNowMs = options.localNowMs ?? monotonicEpochMs;
    this.samples = Math.max(1, options.samples ?? DEFAULT_SAMPLES);
    this.resyncIntervalMs = options.resyncIntervalMs ?? DEFAULT_RESYNC_INTERVAL_MS;
    this.onError = options.onError ?? (() => {});
  }

  /** Syncs once (rejecting with STORE_UNAVAILABLE if Redis does not answer), then keeps re-syncing. */
  async start(): Promise<void> {
    await this.sync();
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.resync(), this.resyncIntervalMs);
    // Re-syncing must not keep the process alive on its own.
    this.timer.unref();
  }

  nowMs(): number {
    // A resync may move the offset back by a fraction of a round trip; time handed out never goes back.
    this.lastNowMs = Math.max(this.lastNowMs, Math.floor(this.localNowMs() + this.offset));
    return this.lastNowMs;
  }

  /** Redis time minus local time, as of the last successful sync. */
  get offsetMs(): number {
    return this.offset;
  }

  /** Round trip of the sample the offset came from (NaN before the first sync). */
  get roundTripMs(): number {
    return this.roundTrip;
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private async resync(): Promise<void> {
    // A sync slower than the interval (Redis timing out) must not pile up.
    if (this.syncing) return;
    try {
      await this.sync();
    } catch (err) {
      this.onError(err);
    }
  }

  private async sync(): Promise<void> {
    this.syncing = true;
    try {
      let best: Sample | null = null;
      for (let i = 0; i < this.samples; i++) {
        const sample = await this.sample();
        if (best === null || sample.roundTripMs < best.roundTripMs) best = sample;
      }
      if (best !== null) {
        this.offset = best.offsetMs;
        this.roundTrip = best.roundTripMs;
      }
    } catch (err) {
      throw storeUnavailable('redis', err);
    } finally {
      this.syncing = false;
    }
  }

  /** NTP-style: the server read TIME halfway through the round trip, give or take half of it. */
  private async sample(): Promise<Sample> {
    const t0 = this.localNowMs();
    const [seconds, micros] = await this.redis.time();
    const t1 = this.localNowMs();
    const serverMs = Number(seconds) * 1000 + Number(micros) / 1000;
    return { offsetMs: serverMs - (t0 + t1) / 2, roundTripMs: t1 - t0 };
  }
}
