// Bounded state: a session nobody acts on for the maximum idle time ends with `idle_expired`
// and leaves the store, whatever its status; count_up keeps its last 100 laps.
import { describe, expect, it } from 'vitest';
import { SyncEngine, type Commit } from '../../../src/engine/SyncEngine.js';
import { MemoryStateStore } from '../../../src/state/MemoryStateStore.js';
import type { CreateSessionInput, SessionEvent } from '../../../src/types/session.js';

const MAX_IDLE_MS = 60_000;
const T0 = 1_000_000;

function setup() {
  const clock = { now: T0, nowMs: () => clock.now };
  const records: SessionEvent[] = [];
  const commits: Commit[] = [];
  const store = new MemoryStateStore({
    appendAudit: (r) => records.push(...r.map((x) => JSON.parse(x) as SessionEvent)),
  });
  const engine = new SyncEngine({
    store,
    clock,
    maxIdleMs: MAX_IDLE_MS,
    onCommit: (commit) => commits.push(commit),
  });
  return { clock, records, commits, store, engine };
}

const chess = (id: string): CreateSessionInput => ({
  session_id: id,
  sync_mode: 'per_participant',
  participants: [{ participant_id: 'w' }, { participant_id: 'b' }],
  total_time_ms: 10 * 24 * 3600 * 1000,
});

const stopwatch = (id: string): CreateSessionInput => ({
  session_id: id,
  sync_mode: 'count_up',
  participants: [{ participant_id: 'runner' }],
});

describe('maximum idle time', () => {
  it('pending, paused and unlimited running sessions end once, stamped at their idle deadline, and are removed', async () => {
    const { clock, records, commits, store, engine } = setup();
    await engine.createSession(chess('pending'));
    await engine.createSession(chess('paused'));
    await engine.execute('paused', { type: 'start' });
    await engine.execute('paused', { type: 'pause' });
    await engine.createSession(stopwatch('unlimited'));
    await engine.execute('unlimited', { type: 'start' });
    const ids = ['pending', 'paused', 'unlimited'];

    // The store's deadline index holds each idle deadline, so the scheduler finds them.
    const index = await store.deadlinesUntil(T0 + MAX_IDLE_MS, 10);
    expect(index.map((e) => [e.sessionId, e.deadlineAtMs]).sort()).toEqual(
      ids.map((id) => [id, T0 + MAX_IDLE_MS]).sort(),
    );

    clock.now = T0 + MAX_IDLE_MS - 1;
    for (const id of ids) expect(await engine.expireDue(id)).toEqual([]);

    clock.now = T0 + MAX_IDLE_MS + 5_000;
    for (const id of ids) {
      const events = await engine.expireDue(id);
      expect(events?.map((e) => [e.type, e.atMs])).toEqual([['idle_expired', T0 + MAX_IDLE_MS]]);
      // A second claim finds nothing: it is gone.
      expect(await engine.expireDue(id)).toBeNull();
      await expect(engine.getSession(id)).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
    }
    expect(await store.deadlinesUntil(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);

    const idle = records.filter((r) => r.type === 'idle_expired');
    expect(idle.map((r) => r.sessionId).sort()).toEqual([...ids].sort());
    for (const record of idle)
      expect(record.state).toMatchObject({ status: 'expired', lastEvent: 'idle_expired' });
    // The stopwatch ran until the deadline and not past it.
    expect(idle.find((r) => r.sessionId === 'unlimited')?.state.elapsedMs).toBe(MAX_IDLE_MS);
    // Watchers get the final state, as with a delete.
    expect(commits.filter((c) => c.removed).map((c) => c.state.lastEvent)).toEqual([
      'idle_expired',
      'idle_expired',
      'idle_expired',
    ]);
    await store.close();
  });

  it('a command starts the idle time again; expiries do not', async () => {
    const { clock, engine, store } = setup();
    await engine.createSession({
      session_id: 'cycles',
      sync_mode: 'per_cycle',
      participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
      time_per_cycle_ms: 10_000,
      on_expire: 'auto_advance',
    });
    await engine.createSession(chess('game'));
    await engine.execute('cycles', { type: 'start' });
    await engine.execute('game', { type: 'start' });

    clock.now = T0 + MAX_IDLE_MS - 1_000;
    await engine.execute('game', { type: 'switch' });
    // Cycles advanced by themselves all along: no client acted, so the session is idle.
    clock.now = T0 + MAX_IDLE_MS + 1;
    const ended = await engine.expireDue('cycles');
    expect(ended?.at(-1)).toMatchObject({ type: 'idle_expired', atMs: T0 + MAX_IDLE_MS });
    expect(await engine.expireDue('game')).toEqual([]);
    expect((await engine.getSession('game')).version).toBe(3);
    await store.close();
  });

  it('a command that arrives after the idle deadline, before the scheduler, finds the session ended', async () => {
    const { clock, records, engine, store } = setup();
    await engine.createSession(chess('late'));
    clock.now = T0 + MAX_IDLE_MS + 10;
    await expect(engine.execute('late', { type: 'start' })).rejects.toMatchObject({
      code: 'SESSION_NOT_FOUND',
    });
    expect(records.map((r) => [r.version, r.type])).toEqual([
      [1, 'created'],
      [2, 'idle_expired'],
    ]);
    await store.close();
  });
});

describe('count_up laps', () => {
  it('keeps the last 100 laps in the state; lap_count counts all; the audit has every lap', async () => {
    const { clock, records, engine, store } = setup();
    await engine.createSession(stopwatch('laps'));
    await engine.execute('laps', { type: 'start' });
    let view = await engine.getSession('laps');
    for (let lap = 1; lap <= 150; lap++) {
      clock.now += lap;
      view = await engine.execute('laps', { type: 'switch' });
    }
    expect(view.lap_count).toBe(150);
    expect(view.laps).toHaveLength(100);
    // Laps 51…150, oldest first: lap n lasted n ms.
    expect(view.laps?.map((l) => l.lap_ms)).toEqual(Array.from({ length: 100 }, (_, i) => i + 51));
    const stored = await store.get('laps');
    expect(stored?.laps).toHaveLength(100);
    const lapsInAudit = records.filter((r) => r.type === 'switched').map((r) => r.state.laps.at(-1)?.lapMs);
    expect(lapsInAudit).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    await store.close();
  });
});
