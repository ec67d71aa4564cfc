// Clock sync, pure: estimating the server's offset from PING/PONG samples, and applying a new
// offset to the displayed time without making it jump back. No I/O, times passed in.

/** One PING/PONG round trip, read on one local clock. */
export interface PingSample {
  /** Local time the PING was sent. */
  sentMs: number;
  /** Local time the PONG arrived. */
  receivedMs: number;
  /** The PONG's `server_time`. */
  serverMs: number;
}

export interface OffsetEstimate {
  /** Server time minus local time. */
  offsetMs: number;
  /** The true offset is within ± this of `offsetMs`. */
  uncertaintyMs: number;
  /** The lowest round trip of the samples. */
  roundTripMs: number;
}

/**
 * NTP-style, from several samples. The server read its clock at some instant between sending
 * and receiving, so each sample bounds the offset to `[server − received, server + q − sent]`,
 * where `q` is 1 ms when server times are whole milliseconds (the server truncates: its clock
 * reads up to 1 ms behind the truth) and 0 otherwise. These are hard bounds, so their
 * intersection holds the true offset and its midpoint is the estimate: the lowest round trips
 * set the bounds, and samples taken at different phases of the server's millisecond cut the
 * truncation's 1 ms down. If the intersection is empty (a clock stepped during the sync), the
 * median offset of the best third of round trips is used instead.
 */
export function estimateOffset(samples: readonly PingSample[]): OffsetEstimate {
  if (samples.length === 0) throw new Error('estimateOffset needs at least one sample');
  const quantumMs = samples.every((s) => Number.isInteger(s.serverMs)) ? 1 : 0;
  let lowerMs = Number.NEGATIVE_INFINITY;
  let upperMs = Number.POSITIVE_INFINITY;
  let roundTripMs = Number.POSITIVE_INFINITY;
  for (const s of samples) {
    lowerMs = Math.max(lowerMs, s.serverMs - s.receivedMs);
    upperMs = Math.min(upperMs, s.serverMs + quantumMs - s.sentMs);
    roundTripMs = Math.min(roundTripMs, s.receivedMs - s.sentMs);
  }
  if (lowerMs <= upperMs) {
    return { offsetMs: (lowerMs + upperMs) / 2, uncertaintyMs: (upperMs - lowerMs) / 2, roundTripMs };
  }
  const best = [...samples]
    .sort((a, b) => a.receivedMs - a.sentMs - (b.receivedMs - b.sentMs))
    .slice(0, Math.max(1, Math.ceil(samples.length / 3)));
  const offsets = best
    .map((s) => s.serverMs + quantumMs / 2 - (s.sentMs + s.receivedMs) / 2)
    .sort((a, b) => a - b);
  return {
    offsetMs: median(offsets),
    uncertaintyMs: (roundTripMs + quantumMs) / 2,
    roundTripMs,
  };
}

function median(sorted: readonly number[]): number {
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** A correction at least this large is applied at once; a smaller one is slewed. */
export const MAX_SLEW_MS = 250;
/** A slewed correction changes the displayed time by at most this fraction of elapsed time. */
export const SLEW_RATE = 0.1;

/**
 * The offset in effect at each instant of a monotonic clock. A new offset that differs from the
 * one in effect by less than MAX_SLEW_MS is slewed in at SLEW_RATE (a 100 ms correction takes
 * 1 s), so the displayed time runs 10% fast or slow for a while but never steps — and never
 * goes back. A larger correction (a laptop that slept, a first sync that was far off) jumps, in
 * either direction: showing a time that is wrong by that much for seconds would be worse.
 */
export class SlewedOffset {
  private fromMs = 0;
  private targetMs = 0;
  private sinceMonoMs = 0;
  private initialized = false;

  /** The offset in effect at `monoMs`. */
  at(monoMs: number): number {
    const gapMs = this.targetMs - this.fromMs;
    const movedMs = Math.max(0, monoMs - this.sinceMonoMs) * SLEW_RATE;
    return Math.abs(gapMs) <= movedMs ? this.targetMs : this.fromMs + Math.sign(gapMs) * movedMs;
  }

  /** Moves toward `offsetMs` from `monoMs` on; tells whether it slews or jumped. */
  set(offsetMs: number, monoMs: number): 'jump' | 'slew' {
    const currentMs = this.at(monoMs);
    this.sinceMonoMs = monoMs;
    this.targetMs = offsetMs;
    if (!this.initialized || Math.abs(offsetMs - currentMs) >= MAX_SLEW_MS) {
      this.initialized = true;
      this.fromMs = offsetMs;
      return 'jump';
    }
    this.fromMs = currentMs;
    return 'slew';
  }
}

/**
 * How fast two clocks may drift apart, as NTP assumes (PHI, 15 ppm): a sample's bounds widen by
 * this much per millisecond of its age, so old samples stay true bounds, only looser ones.
 */
export const MAX_DRIFT_RATE = 15e-6;
/** Samples kept per connection: enough for minutes of background sampling. */
export const MAX_KEPT_SAMPLES = 256;

/**
 * NTP's clock filter, over every sample of a connection rather than the last eight: the bounds
 * of all samples that still agree, each widened for the drift since it was taken. The lowest
 * round trips in each direction set the bounds, so the estimate only gets better as samples come
 * in. When the newest samples contradict older ones (either clock stepped, a laptop slept), the
 * older ones are left out: the estimate follows the newest consistent run.
 */
export class ClockFilter {
  private readonly samples: PingSample[] = [];

  get size(): number {
    return this.samples.length;
  }

  add(sample: PingSample): void {
    this.samples.push(sample);
    if (this.samples.length > MAX_KEPT_SAMPLES) this.samples.shift();
  }

  clear(): void {
    this.samples.length = 0;
  }

  /** The estimate from the newest samples that agree with one another; null before any sample. */
  estimate(): OffsetEstimate | null {
    const newest = this.samples.at(-1);
    if (newest === undefined) return null;
    const quantumMs = this.samples.every((s) => Number.isInteger(s.serverMs)) ? 1 : 0;
    const agreeing: PingSample[] = [];
    let lowerMs = Number.NEGATIVE_INFINITY;
    let upperMs = Number.POSITIVE_INFINITY;
    for (let i = this.samples.length - 1; i >= 0; i--) {
      const s = this.samples[i] as PingSample;
      const driftMs = (newest.receivedMs - s.receivedMs) * MAX_DRIFT_RATE;
      const widened = {
        sentMs: s.sentMs - driftMs,
        receivedMs: s.receivedMs + driftMs,
        serverMs: s.serverMs,
      };
      const lower = Math.max(lowerMs, widened.serverMs - widened.receivedMs);
      const upper = Math.min(upperMs, widened.serverMs + quantumMs - widened.sentMs);
      if (lower > upper) break;
      lowerMs = lower;
      upperMs = upper;
      agreeing.push(widened);
    }
    return estimateOffset(agreeing);
  }
}
