// The clock filter on synthetic samples, time passed in: it keeps the truth within its bounds
// through drift and clock steps, and on a 50 ± 30 ms path it finds the offset within 2 ms from
// as many samples as 10 s of background PINGs give.
import { describe, expect, it } from 'vitest';
import { ClockFilter, MAX_DRIFT_RATE, type PingSample } from '@synckairos/client';

/** A seeded PRNG (mulberry32): the same samples on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A server whose clock reads `local + offsetMs(sent)`, truncated to whole ms as the service's is. */
function sample(sentMs: number, outMs: number, backMs: number, offsetMs: number): PingSample {
  return { sentMs, receivedMs: sentMs + outMs + backMs, serverMs: Math.floor(sentMs + outMs + offsetMs) };
}

describe('ClockFilter', () => {
  it('has no estimate before a sample, and forgets all on clear()', () => {
    const filter = new ClockFilter();
    expect(filter.estimate()).toBeNull();
    filter.add(sample(0, 1, 1, 100));
    expect(filter.estimate()).not.toBeNull();
    filter.clear();
    expect(filter.estimate()).toBeNull();
  });

  it('on a 50 ± 30 ms path, 150 samples (10 s of background PINGs) put 20 connects within 2 ms, each inside its ±', () => {
    const next = random(14);
    const jitter = () => 50 + (next() * 2 - 1) * 30;
    const errors: number[] = [];
    for (let connect = 0; connect < 20; connect++) {
      const filter = new ClockFilter();
      const trueOffsetMs = 5_000 + next() * 100;
      for (let i = 0; i < 150; i++) {
        filter.add(sample(i * 66 + next() * 33, jitter(), jitter(), trueOffsetMs));
        const estimate = filter.estimate()!;
        expect(Math.abs(estimate.offsetMs - trueOffsetMs)).toBeLessThanOrEqual(estimate.uncertaintyMs);
      }
      errors.push(Math.abs(filter.estimate()!.offsetMs - trueOffsetMs));
    }
    expect(Math.max(...errors)).toBeLessThanOrEqual(2);
  });

  it('keeps the truth inside its bounds while the clocks drift apart at the rate it allows for', () => {
    const next = random(7);
    const filter = new ClockFilter();
    // 10 minutes, a sample a second, the server's clock gaining on ours at the allowed rate.
    for (let i = 0; i < 600; i++) {
      const sentMs = i * 1_000;
      const offsetMs = 250 + sentMs * MAX_DRIFT_RATE;
      filter.add(sample(sentMs, 0.1 + next(), 0.1 + next(), offsetMs));
      const estimate = filter.estimate()!;
      expect(Math.abs(estimate.offsetMs - offsetMs)).toBeLessThanOrEqual(estimate.uncertaintyMs + 1e-9);
    }
  });

  it('follows a clock that stepped, leaving out the samples from before the step', () => {
    const filter = new ClockFilter();
    for (let i = 0; i < 20; i++) filter.add(sample(i * 10, 0.2, 0.2, 1_000));
    for (let i = 20; i < 23; i++) filter.add(sample(i * 10, 0.2, 0.2, 1_150));
    const estimate = filter.estimate()!;
    expect(Math.abs(estimate.offsetMs - 1_150)).toBeLessThanOrEqual(estimate.uncertaintyMs);
    expect(estimate.uncertaintyMs).toBeLessThan(1);
  });
});
