// The scheduler's arming rules on fake timers, over a stand-in index and engine: which deadline
// gets a timer when, and at what time each claim runs.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineScheduler } from '../../src/services/DeadlineScheduler.js';
import type { SessionEvent } from '../../src/types/session.js';

const T0 = 1_700_000_000_000;

/** A scheduler (poll 100 ms, lookahead 1 s, grace 20 ms) whose claims record the time they ran. */
function schedulerOver(index: Map<string, number>, outcome: (sessionId: string) => SessionEvent[] | null) {
  const claims: Array<{ sessionId: string; atMs: number }> = [];
  const dropped: string[] = [];
  const scheduler = new DeadlineScheduler({
    engine: {
      expireDue: async (sessionId) => {
        claims.push({ sessionId, atMs: Date.now() });
        return outcome(sessionId);
      },
    },
    store: {
      deadlinesUntil: async (untilMs, limit) =>
        [...index]
          .filter(([, deadlineAtMs]) => deadlineAtMs <= untilMs)
          .sort((a, b) => a[1] - b[1])
          .slice(0, limit)
          .map(([sessionId, deadlineAtMs]) => ({ sessionId, deadlineAtMs })),
      dropStaleDeadline: async (sessionId) => void dropped.push(sessionId),
    },
    clock: { nowMs: () => Date.now() },
    pollIntervalMs: 100,
    lookaheadMs: 1000,
    backstopGraceMs: 20,
  });
  scheduler.start();
  return { scheduler, claims, dropped };
}

const advanceTo = (atMs: number) => vi.advanceTimersByTimeAsync(atMs - Date.now());

describe('DeadlineScheduler arming', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('arms a deadline noted beyond the lookahead only once the poll finds it near, and fires it on time', async () => {
    const index = new Map([['far', T0 + 5000]]);
    const { scheduler, claims } = schedulerOver(index, () => []);
    await advanceTo(T0 + 1);
    scheduler.note('far', T0 + 5000);
    // Only the poll's timer: the deadline waits for the poll.
    expect(vi.getTimerCount()).toBe(1);
    await advanceTo(T0 + 3900);
    expect(vi.getTimerCount()).toBe(1);
    await advanceTo(T0 + 4100);
    expect(vi.getTimerCount()).toBe(2);
    await advanceTo(T0 + 4999);
    expect(claims).toEqual([]);
    await advanceTo(T0 + 5000);
    // Noted by this instance (its commit or a watched update): no grace.
    expect(claims).toEqual([{ sessionId: 'far', atMs: T0 + 5000 }]);
    await scheduler.close();
  });

  it('a deadline noted later than the one armed drops the armed timer', async () => {
    const { scheduler, claims } = schedulerOver(new Map(), () => []);
    await advanceTo(T0 + 1);
    scheduler.note('moved', T0 + 500);
    expect(vi.getTimerCount()).toBe(2);
    scheduler.note('moved', T0 + 60_000);
    expect(vi.getTimerCount()).toBe(1);
    await advanceTo(T0 + 1000);
    expect(claims).toEqual([]);
    await scheduler.close();
  });

  it('claims a deadline known only from the index a grace after it, as a backstop', async () => {
    const index = new Map([['elsewhere', T0 + 500]]);
    const { scheduler, claims } = schedulerOver(index, () => []);
    await advanceTo(T0 + 519);
    expect(claims).toEqual([]);
    await advanceTo(T0 + 520);
    expect(claims).toEqual([{ sessionId: 'elsewhere', atMs: T0 + 520 }]);
    await scheduler.close();
  });

  it('drops an index entry only when its session is gone, not when another instance claimed it', async () => {
    const index = new Map([
      ['gone', T0 + 100],
      ['claimed', T0 + 100],
    ]);
    const { scheduler, claims, dropped } = schedulerOver(index, (id) => (id === 'gone' ? null : []));
    await advanceTo(T0 + 150);
    expect(claims.map((c) => c.sessionId).sort()).toEqual(['claimed', 'gone']);
    expect(dropped).toEqual(['gone']);
    await scheduler.close();
  });

  it('forgets noted deadlines 10 s past that no poll found, at most 1,000 a poll, and keeps the rest', async () => {
    const { scheduler } = schedulerOver(new Map(), () => []);
    await advanceTo(T0 + 1);
    // Noted, then their sessions went elsewhere: the index never returns them.
    for (let i = 0; i < 2500; i++) scheduler.note(`gone-${i}`, T0 + 2000);
    scheduler.note('later', T0 + 60_000);
    expect(scheduler.deadlinesHeld).toEqual({ armed: 0, noted: 2501 });
    await advanceTo(T0 + 11_950);
    expect(scheduler.deadlinesHeld.noted).toBe(2501);
    const seen: number[] = [];
    for (let poll = 0; poll < 5; poll++) {
      await vi.advanceTimersByTimeAsync(100);
      seen.push(scheduler.deadlinesHeld.noted);
    }
    // Each poll looks at a slice of the notes; every stale one is gone within a few polls.
    expect(seen.at(-1)).toBe(1);
    for (const [i, noted] of seen.entries())
      expect((i === 0 ? 2501 : seen[i - 1]!) - noted).toBeLessThanOrEqual(1000);
    expect(seen.filter((noted, i) => noted < (i === 0 ? 2501 : seen[i - 1]!)).length).toBeGreaterThanOrEqual(
      3,
    );
    await scheduler.close();
  });
});
