import { describe, expect, it } from 'vitest';
import { SyncEngine } from '../../../src/engine/SyncEngine.js';
import { MemoryStateStore } from '../../../src/state/MemoryStateStore.js';
import type { SessionEvent } from '../../../src/types/session.js';

describe('SyncEngine audit records', () => {
  it('every version gets exactly one record, with the clocks before and after it', async () => {
    const records: SessionEvent[] = [];
    const clock = { now: 1_000_000, nowMs: () => clock.now };
    const store = new MemoryStateStore({ appendAudit: (r) => records.push(...r.map((x) => JSON.parse(x))) });
    const engine = new SyncEngine({ store, clock });

    await engine.createSession({
      session_id: 'g',
      sync_mode: 'per_participant',
      participants: [{ participant_id: 'w' }, { participant_id: 'b' }],
      total_time_ms: 10_000,
      increment_ms: 1_000,
    });
    await engine.execute('g', { type: 'start' }, { actor: 'arbiter' });
    clock.now += 4_000;
    await engine.execute('g', { type: 'switch' });
    clock.now += 12_000; // b's 10 s run out at +10 s; the switch arrives 2 s late
    await expect(engine.execute('g', { type: 'switch' })).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await engine.deleteSession('g');
    await store.close();

    expect(records.map((r) => [r.version, r.type])).toEqual([
      [1, 'created'],
      [2, 'started'],
      [3, 'switched'],
      [4, 'expired'],
      [5, 'cancelled'],
    ]);
    expect(records[1]).toMatchObject({ actor: 'arbiter', atMs: 1_000_000 });
    expect(records[2]).toMatchObject({
      participantId: 'w',
      atMs: 1_004_000,
      clocksBefore: { participants: { w: 6_000, b: 10_000 } },
      clocksAfter: { participants: { w: 7_000, b: 10_000 } },
    });
    expect(records[3]).toMatchObject({
      participantId: 'b',
      atMs: 1_014_000,
      clocksBefore: { participants: { w: 7_000, b: 0 } },
      clocksAfter: { participants: { w: 7_000, b: 0 } },
    });
    expect(records[3]?.state.status).toBe('expired');
    // An ended session keeps its status when it is deleted.
    expect(records[4]?.state).toMatchObject({ status: 'expired', version: 5 });
  });
});
