// When an undelivered message is tried again: the schedule with ±10 % jitter, never before the
// receiver's Retry-After, and not at all once the schedule is spent.
import { describe, expect, it } from 'vitest';
import { holdBackMs, nextRetryDelayMs, parseRetryAfterMs } from '../../../src/webhooks/retrySchedule.js';

const schedule = [1_000, 10_000, 100_000];

describe('retry schedule', () => {
  it('waits the scheduled delay after each failed attempt, jittered by at most 10 %', () => {
    expect(nextRetryDelayMs(schedule, 1, null, () => 0.5)).toBe(1_000);
    expect(nextRetryDelayMs(schedule, 2, null, () => 0)).toBe(9_000);
    expect(nextRetryDelayMs(schedule, 3, null, () => 1)).toBe(110_000);
  });

  it('is spent after the last delay: the message has failed for good', () => {
    expect(nextRetryDelayMs(schedule, 4, null)).toBeNull();
  });

  it("takes the receiver's Retry-After when it is longer, capped at a day", () => {
    expect(nextRetryDelayMs(schedule, 1, 60_000, () => 0.5)).toBe(60_000);
    expect(nextRetryDelayMs(schedule, 1, 10, () => 0.5)).toBe(1_000);
    expect(nextRetryDelayMs(schedule, 1, 10 * 24 * 3600 * 1000, () => 0.5)).toBe(24 * 3600 * 1000);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const nowMs = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfterMs('120', nowMs)).toBe(120_000);
    expect(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', nowMs)).toBe(30_000);
    expect(parseRetryAfterMs('soon', nowMs)).toBeNull();
    expect(parseRetryAfterMs(null, nowMs)).toBeNull();
  });
});

describe('a message held back behind an earlier one of its session', () => {
  const nowMs = 1_000_000;

  it('looks again soon while it is young', () => {
    expect(holdBackMs(null, nowMs, nowMs)).toBe(50);
    expect(holdBackMs(nowMs - 10, nowMs - 40, nowMs)).toBe(50);
  });

  it('waits half its age, so a backlog is not looked at every 50 ms', () => {
    expect(holdBackMs(null, nowMs - 10_000, nowMs)).toBe(5_000);
    expect(holdBackMs(nowMs - 3_000, nowMs - 2_000, nowMs)).toBe(1_000);
  });

  it("waits for the earlier message's next attempt when that is later, at most 30 s", () => {
    expect(holdBackMs(nowMs + 8_000, nowMs - 2_000, nowMs)).toBe(8_000);
    expect(holdBackMs(nowMs + 5 * 3_600_000, nowMs, nowMs)).toBe(30_000);
    expect(holdBackMs(null, nowMs - 3_600_000, nowMs)).toBe(30_000);
  });
});
