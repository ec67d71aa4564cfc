// An instance's count of its connections per participant: a lease while any is open, released
// at the last close, renewed on a timer.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PresenceTracker } from '../../src/services/PresenceTracker.js';
import { MemoryPresenceStore } from '../../src/state/MemoryPresenceStore.js';

const T0 = 1_700_000_000_000;
const GRACE_MS = 1000;

afterEach(() => {
  vi.useRealTimers();
});

function tracked() {
  let nowMs = T0;
  const clock = { nowMs: () => nowMs };
  const store = new MemoryPresenceStore();
  const tracker = new PresenceTracker({
    store,
    clock,
    instanceId: 'i1',
    leaseMs: 3000,
    renewIntervalMs: 1000,
  });
  return { store, tracker, advance: (ms: number) => void (nowMs += ms), now: () => nowMs };
}

describe('PresenceTracker', () => {
  it('keeps the participant present until its last connection here closes', async () => {
    const { store, tracker, advance, now } = tracked();
    tracker.connected('s1', 'white', GRACE_MS);
    tracker.connected('s1', 'white', GRACE_MS);
    advance(100);
    tracker.disconnected('s1', 'white');
    await tracker.close();
    expect(await store.present('s1', 'white', now())).toBe(true);
    expect(tracker.heldCount).toBe(1);

    tracker.disconnected('s1', 'white');
    await tracker.close();
    expect(tracker.heldCount).toBe(0);
    expect(await store.present('s1', 'white', now())).toBe(false);
    expect(await store.due(Number.MAX_SAFE_INTEGER, 10)).toEqual([
      { sessionId: 's1', participantId: 'white', dueAtMs: now() + GRACE_MS },
    ]);
  });

  it('renews every lease it holds on its timer, pushing the entry later', async () => {
    vi.useFakeTimers();
    const { store, tracker, advance } = tracked();
    tracker.start();
    tracker.connected('s1', 'white', GRACE_MS);
    await vi.advanceTimersByTimeAsync(0);
    const [first] = await store.due(Number.MAX_SAFE_INTEGER, 10);
    expect(first?.dueAtMs).toBe(T0 + 3000 + GRACE_MS);
    advance(1000);
    await vi.advanceTimersByTimeAsync(1000);
    const [renewed] = await store.due(Number.MAX_SAFE_INTEGER, 10);
    expect(renewed?.dueAtMs).toBe(T0 + 1000 + 3000 + GRACE_MS);
    await tracker.close();
  });

  it('a disconnect it never counted changes nothing', async () => {
    const { store, tracker } = tracked();
    tracker.disconnected('s1', 'white');
    await tracker.close();
    expect(await store.due(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });
});
