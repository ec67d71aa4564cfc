// One suite, every database behind the AuditStore: PGlite (embedded) must keep the audit trail
// exactly like PostgreSQL does.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditRecordError,
  decodeHistoryCursor,
  isConnectionError,
  isRecordError,
  type AuditStore,
} from '../../src/audit/AuditStore.js';
import { loadMigrations } from '../../src/audit/migrate.js';
import type { SessionEvent, SessionEventType, SessionState } from '../../src/types/session.js';
import { sessionStateFixture } from '../helpers/fixtures.js';

export interface AuditStoreContext {
  /** A store on a fresh database, not yet migrated. */
  store: AuditStore;
  cleanup(): Promise<void>;
}

const T0 = 1_700_000_000_000;

/** A plausible record of `version`: a per_participant session whose turn alternates. */
export function auditEvent(
  sessionId: string,
  version: number,
  overrides: { type?: SessionEventType; state?: Partial<SessionState> } = {},
): SessionEvent {
  const active = version % 2 === 0 ? 'p2' : 'p1';
  const atMs = T0 + version * 1000;
  return {
    sessionId,
    version,
    type: overrides.type ?? (version === 1 ? 'created' : 'switched'),
    atMs,
    participantId: version === 1 ? null : active === 'p1' ? 'p2' : 'p1',
    actor: 'admin-1',
    clocksBefore: { participants: { p1: 300_000 - version, p2: 300_000 } },
    clocksAfter: { participants: { p1: 300_000 - version - 1, p2: 300_000 } },
    state: sessionStateFixture({
      sessionId,
      version,
      status: version === 1 ? 'pending' : 'running',
      activeParticipantId: active,
      anchorAtMs: version === 1 ? null : atMs,
      cycleStartedAtMs: version === 1 ? null : atMs,
      updatedAtMs: atMs,
      lastEvent: overrides.type ?? (version === 1 ? 'created' : 'switched'),
      ...overrides.state,
    }),
  };
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

const newSessionId = (): string => `audit-${randomUUID()}`;

export function auditStoreContract(name: string, setup: () => Promise<AuditStoreContext>): void {
  describe(`AuditStore contract: ${name}`, () => {
    // One database per suite (PGlite takes seconds to open); every test uses its own session ids.
    let ctx: AuditStoreContext;
    let store: AuditStore;
    let firstRun: string[];

    beforeAll(async () => {
      ctx = await setup();
      store = ctx.store;
      firstRun = await store.migrate();
    });

    afterAll(async () => {
      await ctx?.cleanup();
    });

    async function allVersions(sessionId: string): Promise<number[]> {
      return (await store.history(sessionId, { limit: 1000 })).events.map((e) => e.version);
    }

    it('applies every migration once; migrating again is a no-op', async () => {
      const files = (await loadMigrations()).map((m) => m.name);
      expect(files.length).toBeGreaterThan(0);
      expect(firstRun).toEqual(files);
      expect(await store.migrate()).toEqual([]);
      expect(await store.migrate()).toEqual([]);
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('writing the same records twice keeps one row per version', async () => {
      const sessionId = newSessionId();
      const events = range(1, 4).map((v) => auditEvent(sessionId, v));
      expect(await store.write(events)).toBe(4);
      expect(await store.write(events)).toBe(0);
      // Overlapping batches and a duplicate inside one batch count only what is new.
      expect(
        await store.write([auditEvent(sessionId, 4), auditEvent(sessionId, 5), auditEvent(sessionId, 5)]),
      ).toBe(1);
      expect(await allVersions(sessionId)).toEqual([1, 2, 3, 4, 5]);
    });

    it('concurrent writers of overlapping batches insert each version exactly once', async () => {
      const sessionId = newSessionId();
      const batches = [range(1, 30), range(10, 40), range(25, 50), range(1, 50)].map((versions) =>
        versions.map((v) => auditEvent(sessionId, v)),
      );
      const counts = await Promise.all(batches.map((batch) => store.write(batch)));
      expect(counts.reduce((a, b) => a + b, 0)).toBe(50);
      expect(await allVersions(sessionId)).toEqual(range(1, 50));
      expect((await store.sessionSummary(sessionId))?.last_version).toBe(50);
    });

    it('writes large batches (more rows than one statement takes) across several sessions', async () => {
      const sessions = [newSessionId(), newSessionId(), newSessionId()];
      const events = sessions.flatMap((id) => range(1, 400).map((v) => auditEvent(id, v)));
      expect(await store.write(events)).toBe(1200);
      for (const id of sessions) {
        expect(await allVersions(id)).toEqual(range(1, 400));
        expect((await store.sessionSummary(id))?.last_version).toBe(400);
      }
    });

    it('pages a history oldest first, the cursor leading to the next page and null on the last', async () => {
      const sessionId = newSessionId();
      // Written out of order: the history is in version order regardless.
      await store.write([5, 2, 7, 1].map((v) => auditEvent(sessionId, v)));
      await store.write([3, 6, 4].map((v) => auditEvent(sessionId, v)));

      const first = await store.history(sessionId, { limit: 3 });
      expect(first.events.map((e) => e.version)).toEqual([1, 2, 3]);
      expect(first.nextCursor).not.toBeNull();
      expect(decodeHistoryCursor(first.nextCursor as string)).toBe(3);

      const second = await store.history(sessionId, {
        after: decodeHistoryCursor(first.nextCursor as string) ?? 0,
        limit: 3,
      });
      expect(second.events.map((e) => e.version)).toEqual([4, 5, 6]);

      const third = await store.history(sessionId, {
        after: decodeHistoryCursor(second.nextCursor as string) ?? 0,
        limit: 3,
      });
      expect(third.events.map((e) => e.version)).toEqual([7]);
      expect(third.nextCursor).toBeNull();

      // A page that ends exactly at the last version has no next page either.
      const exact = await store.history(sessionId, { limit: 7 });
      expect(exact.events).toHaveLength(7);
      expect(exact.nextCursor).toBeNull();

      const past = await store.history(sessionId, { after: 7, limit: 3 });
      expect(past).toEqual({ events: [], nextCursor: null, lifetime: 1, lifetimes: 1 });
    });

    it('returns each event in API field names, the state as clients saw it at the change', async () => {
      const sessionId = newSessionId();
      const event = auditEvent(sessionId, 2, { state: { metadata: { room: 'a', n: 1 } } });
      const before = Date.now();
      await store.write([event]);
      const [view] = (await store.history(sessionId, { limit: 10 })).events;
      expect(view).toMatchObject({
        session_id: sessionId,
        version: 2,
        event: 'switched',
        actor: 'admin-1',
        participant_id: 'p1',
        at: event.atMs,
        clocks_before: event.clocksBefore,
        clocks_after: event.clocksAfter,
      });
      expect(view?.state).toMatchObject({
        session_id: sessionId,
        version: 2,
        status: 'running',
        server_time: event.atMs,
        active_participant_id: 'p2',
        metadata: { room: 'a', n: 1 },
      });
      expect(view?.state.participants.map((p) => p.participant_id)).toEqual(['p1', 'p2']);
      expect(view?.recorded_at).toBeGreaterThanOrEqual(before - 5_000);
    });

    it('lifetimes of one id keep their own versions, and the newest is the current one', async () => {
      const sessionId = `s-${randomUUID()}`;
      const lifetime = (name: string, createdAtMs: number, versions: number) =>
        Array.from({ length: versions }, (_, i) =>
          auditEvent(sessionId, i + 1, { state: { lifetime: name, createdAtMs } }),
        );
      const first = lifetime('first', T0, 3);
      const second = lifetime('second', T0 + 60_000, 2);
      // Written out of order and together: the key keeps them apart.
      expect(await store.write([...second, ...first])).toBe(5);
      expect(await store.write(first)).toBe(0);

      const current = await store.history(sessionId, { limit: 10 });
      expect(current).toMatchObject({ lifetime: 2, lifetimes: 2 });
      expect(current.events.map((e) => e.version)).toEqual([1, 2]);
      const old = await store.history(sessionId, { limit: 10, lifetime: 1 });
      expect(old.events.map((e) => e.version)).toEqual([1, 2, 3]);
      expect(await store.history(sessionId, { limit: 10, lifetime: 3 })).toMatchObject({
        events: [],
        lifetime: null,
        lifetimes: 2,
      });
      expect((await store.sessionSummary(sessionId))?.last_version).toBe(2);
      expect((await store.lastState(sessionId))?.lifetime).toBe('second');
    });

    it('a session it never heard of has an empty history and no summary', async () => {
      const sessionId = newSessionId();
      expect(await store.history(sessionId, { limit: 10 })).toEqual({
        events: [],
        nextCursor: null,
        lifetime: null,
        lifetimes: 0,
      });
      expect(await store.sessionSummary(sessionId)).toBeNull();
    });

    it('the summary row tracks the latest version even when records arrive out of order', async () => {
      const sessionId = newSessionId();
      const completed = auditEvent(sessionId, 3, {
        type: 'completed',
        state: { status: 'completed', metadata: { final: true } },
      });
      await store.write([completed]);
      await store.write([auditEvent(sessionId, 1), auditEvent(sessionId, 2)]);
      expect(await store.sessionSummary(sessionId)).toEqual({
        session_id: sessionId,
        sync_mode: 'per_participant',
        status: 'completed',
        last_version: 3,
        last_event: 'completed',
        active_participant_id: 'p1',
        participant_ids: ['p1', 'p2'],
        metadata: { final: true },
        created_at: T0,
        updated_at: completed.atMs,
      });

      await store.write([auditEvent(sessionId, 5, { type: 'cancelled', state: { status: 'cancelled' } })]);
      await store.write([auditEvent(sessionId, 4)]);
      const summary = await store.sessionSummary(sessionId);
      expect(summary?.last_version).toBe(5);
      expect(summary?.status).toBe('cancelled');
      expect(await allVersions(sessionId)).toEqual([1, 2, 3, 4, 5]);
    });

    it('a record the database refuses is an error that is not a connection error, and writes nothing of its batch', async () => {
      const sessionId = newSessionId();
      // jsonb cannot hold U+0000.
      const poison = auditEvent(sessionId, 2, { state: { metadata: { note: 'nul \u0000 here' } } });
      const err = await store.write([auditEvent(sessionId, 1), poison]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(isConnectionError(err)).toBe(false);
      expect(store.isOutage(err)).toBe(false);
      expect(await allVersions(sessionId)).toEqual([]);
      expect(await store.sessionSummary(sessionId)).toBeNull();

      // The good record alone goes through, and the store is still usable.
      expect(await store.write([auditEvent(sessionId, 1)])).toBe(1);
      expect(await allVersions(sessionId)).toEqual([1]);
    });

    it('4: a value the database refuses as data is a record error (no retry can write it), an outage is not', async () => {
      const sessionId = newSessionId();
      const refused = [
        // An unpaired surrogate, as JSON.stringify escapes it: jsonb's "invalid input syntax" (22P02).
        auditEvent(sessionId, 1, { state: { metadata: { note: 'x\ud800' } } }),
        // U+0000 in a text column (22021) and in jsonb (22P05).
        { ...auditEvent(sessionId, 1), actor: 'admin\u0000' },
        auditEvent(sessionId, 1, { state: { metadata: { note: '\u0000' } } }),
      ];
      const codes: unknown[] = [];
      for (const event of refused) {
        const err = await store.write([event]).then(
          () => null,
          (e: unknown) => e,
        );
        codes.push((err as { code?: unknown } | null)?.code);
        expect(isRecordError(err), String(err)).toBe(true);
        expect(isConnectionError(err)).toBe(false);
      }
      expect(codes).toEqual(['22P02', '22021', '22P05']);
      expect(await allVersions(sessionId)).toEqual([]);
      const outage = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
        code: 'ECONNREFUSED',
      });
      expect(isRecordError(outage)).toBe(false);
    });

    it('a record that is not a SessionEvent is refused before SQL with a message saying why', async () => {
      const broken = { sessionId: newSessionId(), version: 1 } as unknown as SessionEvent;
      const err = await store.write([broken]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AuditRecordError);
      expect((err as Error).message).toMatch(/has no state/);
      expect(isConnectionError(err)).toBe(false);
    });
  });
}
