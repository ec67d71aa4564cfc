import { afterEach, describe, expect, it, vi } from 'vitest';
import { BatchWhileBusy } from '../../../src/webhooks/batchWhileBusy.js';

/** A batch function whose batches the test answers by hand. */
function manual(lingerMs = 0) {
  const batches: { inputs: number[]; answer: () => void; fail: (err: Error) => void }[] = [];
  const batcher = new BatchWhileBusy<number, string>(
    (inputs) =>
      new Promise((resolve, reject) => {
        batches.push({
          inputs,
          answer: () => resolve(inputs.map((n) => `#${n}`)),
          fail: reject,
        });
      }),
    { maxBatch: 3, lingerMs },
  );
  return { batcher, batches };
}

describe('BatchWhileBusy', () => {
  it('sends a call alone at once, and the calls made while it is in flight as the next batch', async () => {
    const { batcher, batches } = manual();
    const first = batcher.call(1);
    expect(batches.map((b) => b.inputs)).toEqual([[1]]);
    const later = [batcher.call(2), batcher.call(3)];
    expect(batches).toHaveLength(1);
    batches[0]!.answer();
    expect(await first).toBe('#1');
    await Promise.resolve();
    expect(batches.map((b) => b.inputs)).toEqual([[1], [2, 3]]);
    batches[1]!.answer();
    expect(await Promise.all(later)).toEqual(['#2', '#3']);
  });

  it('keeps batches to their maximum size, in call order', async () => {
    const { batcher, batches } = manual();
    const calls = [1, 2, 3, 4, 5, 6].map((n) => batcher.call(n));
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      batches[i]!.answer();
    }
    expect(await Promise.all(calls)).toEqual(['#1', '#2', '#3', '#4', '#5', '#6']);
    expect(batches.map((b) => b.inputs)).toEqual([[1], [2, 3, 4], [5, 6]]);
  });

  it('rejects every call of a failed batch, and goes on with the next', async () => {
    const { batcher, batches } = manual();
    const first = batcher.call(1);
    const second = [batcher.call(2), batcher.call(3)];
    batches[0]!.fail(new Error('database down'));
    await expect(first).rejects.toThrow('database down');
    await new Promise((resolve) => setImmediate(resolve));
    batches[1]!.fail(new Error('still down'));
    for (const call of second) await expect(call).rejects.toThrow('still down');
    const third = batcher.call(4);
    await new Promise((resolve) => setImmediate(resolve));
    batches[2]!.answer();
    expect(await third).toBe('#4');
  });

  describe('with a linger', () => {
    afterEach(() => vi.useRealTimers());

    it('gathers the calls made within the linger into one batch', async () => {
      vi.useFakeTimers();
      const { batcher, batches } = manual(10);
      const calls = [batcher.call(1)];
      await vi.advanceTimersByTimeAsync(6);
      calls.push(batcher.call(2));
      expect(batches).toHaveLength(0);
      await vi.advanceTimersByTimeAsync(4);
      expect(batches.map((b) => b.inputs)).toEqual([[1, 2]]);
      batches[0]!.answer();
      expect(await Promise.all(calls)).toEqual(['#1', '#2']);
    });

    it('sends a full batch at once, and lingers again for the calls after it', async () => {
      vi.useFakeTimers();
      const { batcher, batches } = manual(10);
      const calls = [1, 2, 3, 4].map((n) => batcher.call(n));
      expect(batches.map((b) => b.inputs)).toEqual([[1, 2, 3]]);
      batches[0]!.answer();
      await vi.advanceTimersByTimeAsync(0);
      expect(batches).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(10);
      expect(batches.map((b) => b.inputs)).toEqual([[1, 2, 3], [4]]);
      batches[1]!.answer();
      expect(await Promise.all(calls)).toEqual(['#1', '#2', '#3', '#4']);
    });
  });
});
