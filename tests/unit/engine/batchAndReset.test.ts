// SyncEngine's batch create and reset over a real (in-memory) store: what is written, audited,
// indexed and published, and the all-or-nothing rule when a create loses a race for its id.
import { describe, expect, it } from 'vitest';
import { SyncEngine, type Commit } from '../../../src/engine/SyncEngine.js';
import { MemoryStateStore } from '../../../src/state/MemoryStateStore.js';
import type { CreateSessionInput, SessionEvent, SessionState } from '../../../src/types/session.js';

const T0 = 1_700_000_000_000;
const MAX_IDLE_MS = 3_600_000;

function board(sessionId: string): CreateSessionInput {
  return {
    session_id: sessionId,
    sync_mode: 'per_participant',
    participants: [{ participant_id: 'w' }, { participant_id: 'b' }],
    total_time_ms: 60_000,
  };
}

/** An engine over `store` with a clock the test moves, keeping every commit it hands on. */
function setup(store: MemoryStateStore) {
  const commits: Commit[] = [];
  const clock = { now: T0, nowMs: () => clock.now };
  const engine = new SyncEngine({ store, clock, maxIdleMs: MAX_IDLE_MS, onCommit: (c) => commits.push(c) });
  return { engine, store, clock, commits };
}

/** A store that hands every audit record it commits to `records`. */
function auditedStore(records: SessionEvent[]): MemoryStateStore {
  return new MemoryStateStore({ appendAudit: (r) => records.push(...r.map((x) => JSON.parse(x))) });
}

describe('batch create', () => {
  it('writes each session once with its created and started records, starting all at start_at', async () => {
    const records: SessionEvent[] = [];
    const store = auditedStore(records);
    const { engine } = setup(store);
    const views = await engine.createSessions([board('a'), board('b')], {
      actor: 'td',
      startAtMs: T0 + 5_000,
    });
    expect(views.map((v) => [v.session_id, v.version, v.start_at])).toEqual([
      ['a', 2, T0 + 5_000],
      ['b', 2, T0 + 5_000],
    ]);
    expect(records.map((r) => [r.sessionId, r.version, r.type, r.actor])).toEqual([
      ['a', 1, 'created', 'td'],
      ['a', 2, 'started', 'td'],
      ['b', 1, 'created', 'td'],
      ['b', 2, 'started', 'td'],
    ]);
    expect(await store.deadlinesUntil(Number.MAX_SAFE_INTEGER, 10)).toEqual([
      { sessionId: 'a', deadlineAtMs: T0 + 65_000 },
      { sessionId: 'b', deadlineAtMs: T0 + 65_000 },
    ]);
    await store.close();
  });

  it('removes what it created when a create loses a race for its id, and answers 409 naming it', async () => {
    // The id was free when the batch checked, and taken by another create before its write.
    class RacedStore extends MemoryStateStore {
      hidden: string | null = null;
      override async get(sessionId: string): Promise<SessionState | null> {
        return sessionId === this.hidden ? null : super.get(sessionId);
      }
    }
    const raced = new RacedStore();
    const { engine, store, commits } = setup(raced);
    await engine.createSession(board('raced'));
    raced.hidden = 'raced';

    await expect(
      engine.createSessions([board('first'), board('raced'), board('last')]),
    ).rejects.toMatchObject({
      code: 'SESSION_EXISTS',
      details: { indexes: [1], session_ids: ['raced'] },
    });
    expect(await store.get('first')).toBeNull();
    expect(await store.get('last')).toBeNull();
    // Watchers saw the two created, then cancelled and removed; the other create's session stays.
    const batchCommits = commits.slice(1).map((c) => [c.state.sessionId, c.state.status, c.removed]);
    expect(batchCommits).toEqual(
      expect.arrayContaining([
        ['first', 'pending', false],
        ['last', 'pending', false],
        ['first', 'cancelled', true],
        ['last', 'cancelled', true],
      ]),
    );
    expect(batchCommits).toHaveLength(4);
    raced.hidden = null;
    expect((await engine.getSession('raced')).version).toBe(1);
    await store.close();
  });
});

describe('reset', () => {
  it('is audited, published and leaves the deadline index with the idle deadline only', async () => {
    const records: SessionEvent[] = [];
    const store = auditedStore(records);
    const { engine, clock, commits } = setup(store);
    await engine.createSession(board('g'));
    await engine.execute('g', { type: 'start' });
    clock.now += 4_000;
    await engine.execute('g', { type: 'switch' });
    expect(await store.deadlinesUntil(Number.MAX_SAFE_INTEGER, 10)).toEqual([
      { sessionId: 'g', deadlineAtMs: T0 + 64_000 },
    ]);
    clock.now += 1_000;

    const view = await engine.execute('g', { type: 'reset' }, { actor: 'arbiter' });

    expect(view).toMatchObject({ version: 4, status: 'pending', event: 'reset' });
    expect(records.at(-1)).toMatchObject({
      version: 4,
      type: 'reset',
      actor: 'arbiter',
      atMs: T0 + 5_000,
      clocksBefore: { participants: { w: 56_000, b: 59_000 } },
      clocksAfter: { participants: { w: 60_000, b: 60_000 } },
    });
    expect(commits.at(-1)?.state).toMatchObject({ version: 4, status: 'pending', lastEvent: 'reset' });
    // The clock's deadline is gone; what is left is the idle limit every pending session has.
    expect(await store.deadlinesUntil(Number.MAX_SAFE_INTEGER, 10)).toEqual([
      { sessionId: 'g', deadlineAtMs: T0 + 5_000 + MAX_IDLE_MS },
    ]);
    await store.close();
  });
});
