// One suite, every StateStore: the embedded store must behave exactly like the Redis one.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SessionState, SessionStatus } from '../../src/types/session.js';
import type { SessionListQuery, SessionWrite, StateStore } from '../../src/types/store.js';
import { sessionStateFixture } from '../helpers/fixtures.js';
import { decodeState, splitPublished } from '../../src/state/stateCodec.js';
import { SyncEngine } from '../../src/engine/SyncEngine.js';

export interface PublishedMessage {
  sessionId: string;
  /** As published: `<version>|<stateJson>`. */
  message: string;
}

export interface StateStoreContext {
  store: StateStore;
  /** Everything published so far (Redis delivers asynchronously; the suite waits for it). */
  published: () => PublishedMessage[];
  /** Every audit record the store has appended, oldest first. */
  auditLog: () => Promise<string[]>;
  cleanup(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function newState(overrides: Partial<SessionState> = {}): SessionState {
  return sessionStateFixture({ sessionId: `s-${randomUUID()}`, ...overrides });
}

function create(state: SessionState, extra: Partial<SessionWrite> = {}): SessionWrite {
  return { expectedVersion: 0, previousStatus: null, state, deadlineAtMs: null, ttlMs: null, ...extra };
}

function next(state: SessionState, extra: Partial<SessionWrite> = {}): SessionWrite {
  const bumped: SessionState = { ...state, version: state.version + 1, lastEvent: 'started' };
  return {
    expectedVersion: state.version,
    previousStatus: state.status,
    state: bumped,
    deadlineAtMs: null,
    ttlMs: null,
    ...extra,
  };
}

/** The next version of the session, with another status. */
function withStatus(state: SessionState, status: SessionStatus): SessionWrite {
  return next(state, { state: { ...state, version: state.version + 1, status } });
}

const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function stateStoreContract(name: string, setup: () => Promise<StateStoreContext>): void {
  describe(`StateStore contract: ${name}`, () => {
    // A fresh store (fresh key prefix for Redis) per test, so deadline indexes never mix.
    let ctx: StateStoreContext;
    let store: StateStore;

    beforeEach(async () => {
      ctx = await setup();
      store = ctx.store;
    });

    afterEach(async () => {
      await ctx.cleanup();
    });

    /** The states published for the session, each checked to carry its own version in front. */
    function publishedFor(sessionId: string): SessionState[] {
      return ctx
        .published()
        .filter((published) => published.sessionId === sessionId)
        .map(({ message }) => {
          const split = splitPublished(message);
          if (split === null) throw new Error(`not a published state: ${message.slice(0, 40)}`);
          const state = decodeState(split.stateJson);
          expect(split.version).toBe(state.version);
          return state;
        });
    }

    it('audit records are appended with their write, in order, and not at all when it fails', async () => {
      const state = newState();
      await store.save(create(state, { auditRecords: ['v1'] }));
      await store.save(next(state, { auditRecords: ['v2-expired', 'v3-switched'] }));
      // A losing compare-and-set appends nothing.
      expect(await store.save(next(state, { auditRecords: ['lost'] }))).toMatchObject({ ok: false });
      await store.remove({ ...state, version: 3 }, 2, ['v3-cancelled']);
      expect(await ctx.auditLog()).toEqual(['v1', 'v2-expired', 'v3-switched', 'v3-cancelled']);
    });

    it('a created session reads back equal', async () => {
      const state = newState({ metadata: { table: 7, tags: ['a', 'b'] } });
      expect(await store.save(create(state))).toEqual({ ok: true });
      expect(await store.get(state.sessionId)).toEqual(state);
    });

    it('creating a session that exists fails with exists', async () => {
      const state = newState();
      await store.save(create(state));
      expect(await store.save(create({ ...state, lastEvent: 'started' }))).toEqual({
        ok: false,
        reason: 'exists',
      });
      expect(await store.get(state.sessionId)).toEqual(state);
    });

    it('a save with the stored version succeeds and stores the new version', async () => {
      const state = newState();
      await store.save(create(state));
      const write = next(state);
      expect(await store.save(write)).toEqual({ ok: true });
      const stored = await store.get(state.sessionId);
      expect(stored?.version).toBe(2);
      expect(stored).toEqual(write.state);
    });

    it('a save with a stale version is a version conflict naming the current version', async () => {
      const state = newState();
      await store.save(create(state));
      const v2 = next(state);
      await store.save(v2);
      expect(await store.save(next(state))).toEqual({
        ok: false,
        reason: 'version_conflict',
        currentVersion: 2,
      });
      expect(await store.save({ ...next(v2.state), expectedVersion: 5 })).toEqual({
        ok: false,
        reason: 'version_conflict',
        currentVersion: 2,
      });
      expect(await store.get(state.sessionId)).toEqual(v2.state);
    });

    it('a save of a session that does not exist is not_found', async () => {
      const state = newState();
      expect(await store.save(next(state))).toEqual({ ok: false, reason: 'not_found' });
      expect(await store.get(state.sessionId)).toBeNull();
    });

    it('restore writes a missing session at its own version, publishes it, and appends no audit record', async () => {
      const state = newState({ version: 7, lastEvent: 'restored' });
      expect(await store.restore({ state, deadlineAtMs: 5_000, ttlMs: null })).toEqual({ ok: true });
      expect(await store.get(state.sessionId)).toEqual(state);
      expect(await store.deadlinesUntil(5_000, 10)).toContainEqual({
        sessionId: state.sessionId,
        deadlineAtMs: 5_000,
      });
      // The next change continues from the restored version.
      expect(await store.save(next(state))).toEqual({ ok: true });
      await vi.waitFor(() => expect(publishedFor(state.sessionId)).toHaveLength(2));
      expect(await ctx.auditLog()).toEqual([]);
    });

    it('restore of a session that is stored changes nothing (exists): of racing restores one wins', async () => {
      const state = newState({ version: 3 });
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.restore({ state: { ...state, metadata: { racer: i } }, deadlineAtMs: null, ttlMs: null }),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok && r.reason === 'exists')).toHaveLength(9);
      const winner = results.findIndex((r) => r.ok);
      expect((await store.get(state.sessionId))?.metadata).toEqual({ racer: winner });
    });

    it('get of an unknown session is null', async () => {
      expect(await store.get(`unknown-${randomUUID()}`)).toBeNull();
    });

    it('objects handed in or out are copies: mutating them does not change the store', async () => {
      const state = newState();
      await store.save(create(state));
      state.participants[0]!.bankMs = 1;
      const read = await store.get(state.sessionId);
      expect(read?.participants[0]?.bankMs).toBe(300_000);
      read!.participants[1]!.usedMs = 42;
      read!.status = 'cancelled';
      const again = await store.get(state.sessionId);
      expect(again?.participants[1]?.usedMs).toBe(0);
      expect(again?.status).toBe('pending');
    });

    it('remove deletes the session and publishes the final state', async () => {
      const state = newState();
      await store.save(create(state));
      const final: SessionState = { ...state, version: 2, status: 'cancelled', lastEvent: 'cancelled' };
      expect(await store.remove(final, 2)).toEqual({
        ok: false,
        reason: 'version_conflict',
        currentVersion: 1,
      });
      expect(await store.remove(final, 1)).toEqual({ ok: true });
      expect(await store.get(state.sessionId)).toBeNull();
      expect(await store.remove(final, 2)).toEqual({ ok: false, reason: 'not_found' });
      await vi.waitFor(() => expect(publishedFor(state.sessionId)).toStrictEqual([state, final]));
    });

    it('deadlinesUntil returns the entries up to untilMs, overdue included, earliest first, at most limit', async () => {
      const baseMs = 1_800_000_000_000;
      const [a, b, c, d, e] = Array.from({ length: 5 }, () => newState());
      await store.save(create(a!, { deadlineAtMs: baseMs + 3000 }));
      await store.save(create(b!, { deadlineAtMs: baseMs + 1000 }));
      await store.save(create(c!, { deadlineAtMs: baseMs + 2000 }));
      await store.save(create(d!, { deadlineAtMs: baseMs + 9000 }));
      await store.save(create(e!)); // no deadline at all
      const entry = (state: SessionState, offsetMs: number) => ({
        sessionId: state.sessionId,
        deadlineAtMs: baseMs + offsetMs,
      });

      expect(await store.deadlinesUntil(baseMs, 10)).toEqual([]);
      expect(await store.deadlinesUntil(baseMs + 2000, 10)).toEqual([entry(b!, 1000), entry(c!, 2000)]);
      expect(await store.deadlinesUntil(baseMs + 5000, 10)).toEqual([
        entry(b!, 1000),
        entry(c!, 2000),
        entry(a!, 3000),
      ]);
      expect(await store.deadlinesUntil(baseMs + 5000, 2)).toEqual([entry(b!, 1000), entry(c!, 2000)]);
      expect(await store.deadlinesUntil(baseMs + 5000, 0)).toEqual([]);
    });

    it('a save with a null deadline takes the session out of the index; a new deadline moves it', async () => {
      const baseMs = 1_800_000_000_000;
      const a = newState();
      const b = newState();
      await store.save(create(a, { deadlineAtMs: baseMs + 1000 }));
      await store.save(create(b, { deadlineAtMs: baseMs + 2000 }));

      await store.save(next(a, { deadlineAtMs: null }));
      expect(await store.deadlinesUntil(baseMs + 5000, 10)).toEqual([
        { sessionId: b.sessionId, deadlineAtMs: baseMs + 2000 },
      ]);

      await store.save(next(b, { deadlineAtMs: baseMs + 7000 }));
      expect(await store.deadlinesUntil(baseMs + 5000, 10)).toEqual([]);
      expect(await store.deadlinesUntil(baseMs + 7000, 10)).toEqual([
        { sessionId: b.sessionId, deadlineAtMs: baseMs + 7000 },
      ]);
    });

    it('a concurrent session with phases is indexed at its next due change, and each change is claimed once', async () => {
      const startMs = 1_800_000_000_000;
      let nowMs = startMs;
      const engine = new SyncEngine({ store, clock: { nowMs: () => nowMs } });
      const sessionId = `s-${randomUUID()}`;
      await engine.createSession({
        session_id: sessionId,
        sync_mode: 'per_participant',
        concurrent: true,
        participants: [
          { participant_id: 'a', total_time_ms: 5_000 },
          { participant_id: 'b', total_time_ms: 8_000 },
        ],
        phases: [{ name: 'warning', remaining_ms: 2_000 }],
      });
      await engine.execute(sessionId, { type: 'start' });
      const indexed = () => store.deadlinesUntil(startMs + 60_000, 10);
      expect(await indexed()).toEqual([{ sessionId, deadlineAtMs: startMs + 3_000 }]);

      // Two claims racing: the compare-and-set lets one apply the crossing.
      nowMs = startMs + 3_000;
      const claims = await Promise.all([engine.expireDue(sessionId), engine.expireDue(sessionId)]);
      expect(claims.flatMap((events) => events ?? []).map((e) => [e.type, e.participantId])).toEqual([
        ['phase_changed', 'a'],
      ]);
      expect(await indexed()).toEqual([{ sessionId, deadlineAtMs: startMs + 5_000 }]);

      nowMs = startMs + 6_500;
      const applied = await engine.expireDue(sessionId);
      expect(applied?.map((e) => [e.type, e.participantId, e.atMs])).toEqual([
        ['participant_expired', 'a', startMs + 5_000],
        ['phase_changed', 'b', startMs + 6_000],
      ]);
      expect(await indexed()).toEqual([{ sessionId, deadlineAtMs: startMs + 8_000 }]);
    });

    it('remove takes the session out of the deadline index', async () => {
      const baseMs = 1_800_000_000_000;
      const a = newState();
      await store.save(create(a, { deadlineAtMs: baseMs }));
      await store.remove({ ...a, version: 2, status: 'cancelled' }, 1);
      expect(await store.deadlinesUntil(baseMs + 1000, 10)).toEqual([]);
    });

    it('a session whose TTL ran out leaves its deadline behind; dropStaleDeadline drops only that one', async () => {
      const baseMs = 1_800_000_000_000;
      const gone = newState();
      const live = newState();
      await store.save(create(gone, { deadlineAtMs: baseMs + 1000, ttlMs: 50 }));
      await store.save(create(live, { deadlineAtMs: baseMs + 2000 }));
      await sleep(150);
      expect(await store.get(gone.sessionId)).toBeNull();
      // Like a Redis key expiring: nothing took the id out of the index.
      expect(await store.deadlinesUntil(baseMs + 5000, 10)).toEqual([
        { sessionId: gone.sessionId, deadlineAtMs: baseMs + 1000 },
        { sessionId: live.sessionId, deadlineAtMs: baseMs + 2000 },
      ]);

      await store.dropStaleDeadline(live.sessionId);
      await store.dropStaleDeadline(gone.sessionId);
      expect(await store.deadlinesUntil(baseMs + 5000, 10)).toEqual([
        { sessionId: live.sessionId, deadlineAtMs: baseMs + 2000 },
      ]);
      expect(await store.get(live.sessionId)).toEqual(live);
    });

    it('dropStaleDeadline of an id that is in neither the store nor the index does nothing', async () => {
      const baseMs = 1_800_000_000_000;
      const live = newState();
      await store.save(create(live, { deadlineAtMs: baseMs }));
      await expect(store.dropStaleDeadline(`unknown-${randomUUID()}`)).resolves.toBeUndefined();
      expect(await store.deadlinesUntil(baseMs, 10)).toEqual([
        { sessionId: live.sessionId, deadlineAtMs: baseMs },
      ]);
    });

    it('a session with a TTL disappears after it; a later write without TTL keeps it', async () => {
      const short = newState();
      const kept = newState();
      await store.save(create(short, { ttlMs: 100 }));
      await store.save(create(kept, { ttlMs: 100 }));
      await store.save(next(kept, { ttlMs: null }));
      expect(await store.get(short.sessionId)).toEqual(short);

      await sleep(250);
      expect(await store.get(short.sessionId)).toBeNull();
      expect(await store.save(next(short))).toEqual({ ok: false, reason: 'not_found' });
      expect((await store.get(kept.sessionId))?.version).toBe(2);
      // Gone means gone: the id can be created again.
      expect(await store.save(create(short))).toEqual({ ok: true });
    });

    it('a session saved with ttlMs null stays', async () => {
      const state = newState();
      await store.save(create(state));
      await sleep(150);
      expect(await store.get(state.sessionId)).toEqual(state);
    });

    it('every successful write publishes its state for that session, and no failed one does', async () => {
      const state = newState();
      const other = newState();
      const v2 = next(state);
      await store.save(create(state));
      await store.save(create(other));
      await store.save(create(state)); // exists: not published
      await store.save(v2);
      await store.save(next(state)); // conflict: not published
      await store.save(next(newState())); // not_found: not published
      const v3 = next(v2.state, { deadlineAtMs: 1_800_000_000_000, ttlMs: 60_000 });
      await store.save(v3);

      // Watchers decode what is published back into exactly the state that was written.
      await vi.waitFor(() =>
        expect(publishedFor(state.sessionId)).toStrictEqual([state, v2.state, v3.state]),
      );
      expect(publishedFor(other.sessionId)).toStrictEqual([other]);
    });

    /** Every page of the list, `limit` at a time; `between` runs after each page but the last. */
    async function walk(
      query: Omit<SessionListQuery, 'afterId'>,
      between: (page: number) => Promise<void> = async () => {},
    ): Promise<SessionState[]> {
      const all: SessionState[] = [];
      for (let page = 0; ; page++) {
        const found = await store.list({ ...query, afterId: all.at(-1)?.sessionId });
        expect(found.length).toBeLessThanOrEqual(query.limit);
        all.push(...found);
        if (found.length < query.limit) return all;
        await between(page);
      }
    }

    const idsOf = (states: SessionState[]): string[] => states.map((state) => state.sessionId);

    it('list pages through the sessions in id order, with their stored state', async () => {
      const states = Array.from({ length: 7 }, () => newState());
      for (const state of states) await store.save(create(state));
      const sorted = [...states].sort((a, b) => byId(a.sessionId, b.sessionId));

      expect(await store.list({ limit: 100 })).toEqual(sorted);
      expect(idsOf(await walk({ limit: 3 }))).toEqual(idsOf(sorted));
      expect(idsOf(await store.list({ limit: 2, afterId: sorted[4]!.sessionId }))).toEqual(
        idsOf(sorted.slice(5)),
      );
      expect(await store.list({ limit: 5, afterId: sorted[6]!.sessionId })).toEqual([]);
    });

    it('list by status follows every change of status, and a write that keeps it', async () => {
      const [a, b, c] = [newState(), newState(), newState()];
      for (const state of [a!, b!, c!]) await store.save(create(state));
      const aRunning = withStatus(a!, 'running');
      await store.save(aRunning);
      const bPaused = withStatus(b!, 'paused');
      await store.save(bPaused);
      // The same status again (a switch): the session stays where it is.
      const aSwitched = next(aRunning.state);
      await store.save(aSwitched);

      const listed = async (status: SessionStatus): Promise<string[]> =>
        idsOf(await store.list({ status, limit: 10 }));
      expect(await store.list({ status: 'running', limit: 10 })).toEqual([aSwitched.state]);
      expect(await listed('paused')).toEqual([b!.sessionId]);
      expect(await listed('pending')).toEqual([c!.sessionId]);
      expect(await listed('completed')).toEqual([]);

      await store.save(withStatus(bPaused.state, 'running'));
      expect(await listed('running')).toEqual([a!.sessionId, b!.sessionId].sort(byId));
      expect(await listed('paused')).toEqual([]);
      expect(idsOf(await store.list({ limit: 10 }))).toEqual([a!, b!, c!].map((s) => s.sessionId).sort(byId));
    });

    it('a walk sees every session that lived throughout it exactly once, while others come and go', async () => {
      const kept = Array.from({ length: 12 }, () => newState());
      const doomed = Array.from({ length: 4 }, () => newState());
      for (const state of [...kept, ...doomed]) await store.save(create(state));
      const created: SessionState[] = [];

      const listed = await walk({ limit: 3 }, async (page) => {
        // Between pages: one session removed, two created (random ids land before and after the cursor).
        const gone = doomed[page];
        if (gone !== undefined) await store.remove({ ...gone, status: 'cancelled', version: 2 }, 1);
        for (let i = 0; i < 2; i++) {
          const state = newState();
          await store.save(create(state));
          created.push(state);
        }
      });

      const ids = idsOf(listed);
      expect(ids).toEqual([...ids].sort(byId));
      expect(new Set(ids).size).toBe(ids.length);
      for (const state of kept) expect(ids.filter((id) => id === state.sessionId)).toHaveLength(1);
      // Whatever else it saw existed at some point of the walk.
      const existed = new Set(idsOf([...kept, ...doomed, ...created]));
      for (const id of ids) expect(existed.has(id)).toBe(true);
    });

    it('a walk by status is stable while sessions change status between pages', async () => {
      const running = Array.from({ length: 8 }, () => newState());
      const states = new Map<string, SessionState>();
      for (const state of running) {
        await store.save(create(state));
        const write = withStatus(state, 'running');
        await store.save(write);
        states.set(state.sessionId, write.state);
      }
      const sorted = [...running].sort((a, b) => byId(a.sessionId, b.sessionId));
      // The last one leaves `running` mid-walk; the rest stay.
      const leaver = sorted[7]!;

      const listed = await walk({ status: 'running', limit: 2 }, async (page) => {
        if (page === 0) await store.save(withStatus(states.get(leaver.sessionId)!, 'paused'));
      });
      expect(idsOf(listed)).toEqual(idsOf(sorted.slice(0, 7)));
      expect(listed.every((state) => state.status === 'running')).toBe(true);
    });

    it('an id created again after its TTL ran out is listed once, under its new status only', async () => {
      const first = newState();
      const running = withStatus(first, 'running');
      await store.save(create(first, { ttlMs: 60_000 }));
      await store.save({ ...running, ttlMs: 50 });
      await sleep(150);
      const again = newState({ sessionId: first.sessionId });
      await store.save(create(again));

      expect(await store.list({ limit: 10 })).toEqual([again]);
      expect(await store.list({ status: 'pending', limit: 10 })).toEqual([again]);
      expect(await store.list({ status: 'running', limit: 10 })).toEqual([]);
    });

    it('list never returns removed sessions nor those whose TTL ran out, and a restore is listed', async () => {
      const removed = newState();
      const expiring = newState();
      const live = newState();
      await store.save(create(removed));
      await store.save(create(expiring, { ttlMs: 50 }));
      await store.save(create(live));
      await store.remove({ ...removed, status: 'cancelled', version: 2 }, 1);
      await sleep(150);

      expect(await store.list({ limit: 10 })).toEqual([live]);
      expect(await store.list({ status: 'pending', limit: 1 })).toEqual([live]);
      expect(await store.list({ status: 'cancelled', limit: 10 })).toEqual([]);

      const restored = { ...expiring, version: 4, status: 'running' as const };
      expect(await store.restore({ state: restored, deadlineAtMs: null, ttlMs: null })).toEqual({ ok: true });
      expect(await store.list({ status: 'running', limit: 10 })).toEqual([restored]);
      expect(idsOf(await store.list({ limit: 10 }))).toEqual([restored.sessionId, live.sessionId].sort(byId));
    });

    it('of 50 concurrent saves with the same expected version exactly one wins', async () => {
      const state = newState();
      await store.save(create(state));
      const writes = Array.from({ length: 50 }, (_, writer) =>
        next(state, { state: { ...state, version: 2, metadata: { writer } } }),
      );
      const results = await Promise.all(writes.map((write) => store.save(write)));

      const winners = results.flatMap((result, writer) => (result.ok ? [writer] : []));
      expect(winners).toHaveLength(1);
      const losers = results.filter((result) => !result.ok);
      expect(losers).toHaveLength(49);
      for (const result of losers) {
        expect(result).toEqual({ ok: false, reason: 'version_conflict', currentVersion: 2 });
      }
      expect((await store.get(state.sessionId))?.metadata).toEqual({ writer: winners[0] });
    });
  });
}
