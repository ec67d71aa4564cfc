// When the next attempt of an undelivered message is due: the configured schedule
// (WEBHOOK_RETRY_SCHEDULE), with jitter so that many messages failed together do not all come
// back together, and never sooner than the receiver's Retry-After.

/** 5 s, 5 min, 30 min, 2 h, 5 h, 10 h: six retries over about 17.6 hours, seven attempts in all. */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000,
];

/** ±10 %: enough to spread a burst, small enough that the schedule still means what it says. */
const JITTER = 0.1;
/** A Retry-After beyond this is read as this. */
const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;

/**
 * The delay before the retry that follows attempt `attemptsMade` (1 = the first attempt failed),
 * or null when the schedule is spent and the message has failed for good.
 */
export function nextRetryDelayMs(
  schedule: readonly number[],
  attemptsMade: number,
  retryAfterMs: number | null,
  random: () => number = Math.random,
): number | null {
  const base = schedule[attemptsMade - 1];
  if (base === undefined) return null;
  const jittered = Math.round(base * (1 - JITTER + 2 * JITTER * random()));
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
}

/** A Retry-After header (delay seconds or an HTTP date) in ms from `nowMs`; null when absent or unreadable. */
export function parseRetryAfterMs(header: string | null, nowMs: number): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const atMs = Date.parse(value);
  return Number.isNaN(atMs) ? null : Math.max(0, atMs - nowMs);
}

/** A message held back behind an earlier one looks again after at most this long. */
const MAX_HOLD_BACK_MS = 30_000;
const MIN_HOLD_BACK_MS = 50;

/**
 * How long a message held back waits before it looks again: until the earlier message's next
 * attempt, and at least half its own age. So a backlog is looked at a logarithmic number of times
 * rather than every 50 ms, which under load would cost more than the deliveries themselves; a
 * message that has waited little still looks again soon.
 */
export function holdBackMs(
  earlierNextAttemptAtMs: number | null,
  createdAtMs: number,
  nowMs: number,
): number {
  const untilEarlierMs = (earlierNextAttemptAtMs ?? nowMs) - nowMs;
  const halfAgeMs = (nowMs - createdAtMs) / 2;
  return Math.round(Math.min(Math.max(untilEarlierMs, halfAgeMs, MIN_HOLD_BACK_MS), MAX_HOLD_BACK_MS));
}
