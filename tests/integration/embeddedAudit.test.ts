// Embedded mode's audit trail end to end: SyncEngine on MemoryStateStore → appendAudit →
// EmbeddedAuditWriter → AuditStore on PGlite in a data folder, read back over GET /events.
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type HttpApp } from '../../src/api/app.js';
import { AuditStore, encodeHistoryCursor } from '../../src/audit/AuditStore.js';
import { EmbeddedAuditWriter } from '../../src/audit/EmbeddedAuditWriter.js';
import { pgliteClient } from '../../src/audit/sqlClient.js';
import { auditRecord, SyncEngine } from '../../src/engine/SyncEngine.js';
import { createLogger } from '../../src/monitoring/logger.js';
import { createMetrics } from '../../src/monitoring/metrics.js';
import { MemoryStateStore } from '../../src/state/MemoryStateStore.js';
import { systemClock } from '../../src/state/SystemClock.js';
import type { SessionEvent } from '../../src/types/session.js';
import { auditEvent } from '../contract/auditStore.contract.js';
import { freshPgliteDataDir, type PgliteDataDir } from '../helpers/postgresServer.js';

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('embedded audit trail on PGlite', () => {
  let data: PgliteDataDir;
  let auditStore: AuditStore;
  let writer: EmbeddedAuditWriter;
  let stateStore: MemoryStateStore;
  let engine: SyncEngine;
  let app: HttpApp;

  beforeAll(async () => {
    data = await freshPgliteDataDir();
    auditStore = new AuditStore(await pgliteClient(data.dir), { name: 'pglite' });
    await auditStore.migrate();
    writer = new EmbeddedAuditWriter(auditStore, { retryDelayMs: 5 });
    stateStore = new MemoryStateStore({ appendAudit: (records) => writer.append(records) });
    engine = new SyncEngine({ store: stateStore, clock: systemClock });
    app = createApp({
      engine,
      store: stateStore,
      logger: createLogger({ logLevel: 'silent', nodeEnv: 'test' }),
      metrics: createMetrics({ defaultMetrics: false }),
      bodyLimitBytes: 64 * 1024,
      auditStore,
    });
  });

  afterAll(async () => {
    await writer?.close();
    await stateStore?.close();
    await auditStore?.close();
    await data?.remove();
  });

  async function versions(sessionId: string): Promise<number[]> {
    return (await auditStore.history(sessionId, { limit: 1000 })).events.map((e) => e.version);
  }

  it('records every version of every session exactly once, in the order they happened', async () => {
    const chess = await engine.createSession({
      session_id: 'embedded-chess',
      sync_mode: 'per_participant',
      participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
      total_time_ms: 300_000,
      increment_ms: 2_000,
      metadata: { board: 7 },
    });
    const quiz = await engine.createSession({
      session_id: 'embedded-quiz',
      sync_mode: 'per_cycle',
      participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
      time_per_cycle_ms: 30_000,
    });
    await engine.execute(chess.session_id, { type: 'start' }, { actor: 'arbiter' });
    await engine.execute(quiz.session_id, { type: 'start' });
    for (let i = 0; i < 6; i++) {
      await engine.execute(chess.session_id, { type: 'switch' }, { actor: i % 2 === 0 ? 'white' : 'black' });
      await engine.execute(quiz.session_id, { type: 'switch' });
    }
    await engine.execute(chess.session_id, { type: 'pause' });
    await engine.execute(chess.session_id, { type: 'adjust', participantId: 'black', deltaMs: 10_000 });
    await engine.execute(chess.session_id, { type: 'resume' });
    const finalChess = await engine.execute(chess.session_id, { type: 'complete' });
    const lastQuiz = await engine.getSession(quiz.session_id);
    await engine.deleteSession(quiz.session_id, { actor: 'host' });

    await writer.drain();
    expect(writer.failedCount).toBe(0);
    expect(writer.pendingCount).toBe(0);

    expect(await versions(chess.session_id)).toEqual(range(1, finalChess.version));
    // DELETE records one last version: cancelled.
    expect(await versions(quiz.session_id)).toEqual(range(1, lastQuiz.version + 1));

    const chessHistory = (await auditStore.history(chess.session_id, { limit: 1000 })).events;
    expect(chessHistory.map((e) => e.event)).toEqual([
      'created',
      'started',
      ...Array(6).fill('switched'),
      'paused',
      'adjusted',
      'resumed',
      'completed',
    ]);
    expect(chessHistory[1]?.actor).toBe('arbiter');
    expect(chessHistory[2]).toMatchObject({ event: 'switched', actor: 'white', participant_id: 'white' });
    // The state after each change is as clients saw it at that moment.
    expect(chessHistory.at(-1)?.state).toMatchObject({ status: 'completed', version: finalChess.version });
    const ats = chessHistory.map((e) => e.at);
    expect(ats).toEqual([...ats].sort((a, b) => a - b));

    expect(await auditStore.sessionSummary(quiz.session_id)).toMatchObject({
      status: 'cancelled',
      last_version: lastQuiz.version + 1,
      last_event: 'cancelled',
    });
    expect(await auditStore.sessionSummary(chess.session_id)).toMatchObject({
      status: 'completed',
      metadata: { board: 7 },
      participant_ids: ['white', 'black'],
    });
  });

  it('4: records PGlite refuses as data (an unpaired surrogate, a NUL) fail at once and are counted; the records behind them are written', async () => {
    const poisoned = 'embedded-poison';
    const bystander = 'embedded-bystander';
    const poison = [
      auditEvent(poisoned, 1, { state: { metadata: { note: 'x\ud800' } } }),
      auditEvent(poisoned, 2, { state: { metadata: { note: 'nul \u0000' } } }),
    ];
    const tries: string[][] = [];
    const counting = {
      write: (events: SessionEvent[]) => {
        tries.push(events.map((event) => `${event.sessionId}@${event.version}`));
        return auditStore.write(events);
      },
    };
    const failedHere: string[] = [];
    // A retry would hold every record behind it for a minute: the test would time out.
    const slowRetries = new EmbeddedAuditWriter(counting, {
      retryDelayMs: 60_000,
      onFailed: (record) => failedHere.push(record),
    });
    try {
      slowRetries.append([
        auditRecord(poison[0]!),
        auditRecord(auditEvent(bystander, 1)),
        auditRecord(poison[1]!),
        auditRecord(auditEvent(bystander, 2)),
      ]);
      await slowRetries.drain();
      expect(slowRetries.failedCount).toBe(2);
      expect(failedHere).toEqual(poison.map(auditRecord));
      expect(slowRetries.failedRecords.map((failure) => failure.error)).toEqual([
        expect.stringMatching(/invalid input syntax/),
        expect.stringMatching(/Unicode/),
      ]);
      // Each tried once on its own, after the batch that held it was refused.
      expect(tries.filter((batch) => batch.length === 1 && batch[0]!.startsWith(poisoned))).toHaveLength(2);
      expect(await versions(bystander)).toEqual([1, 2]);
      expect(await versions(poisoned)).toEqual([]);
    } finally {
      await slowRetries.close();
    }
  });

  describe('GET /v1/sessions/:id/events', () => {
    let sessionId: string;
    let lastVersion: number;

    beforeAll(async () => {
      const created = await request(app)
        .post('/v1/sessions')
        .send({
          sync_mode: 'global',
          participants: [{ participant_id: 'host' }, { participant_id: 'guest' }],
          total_time_ms: 60_000,
        });
      expect(created.status).toBe(201);
      sessionId = created.body.session_id as string;
      await request(app).post(`/v1/sessions/${sessionId}/start`).send({}).expect(200);
      let last = 0;
      for (let i = 0; i < 5; i++) {
        const res = await request(app).post(`/v1/sessions/${sessionId}/switch`).send({}).expect(200);
        last = res.body.version as number;
      }
      lastVersion = last;
      await writer.drain();
    });

    it('pages the history oldest first until next_cursor is null', async () => {
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor === null ? '?limit=3' : `?limit=3&cursor=${cursor}`;
        const res = await request(app).get(`/v1/sessions/${sessionId}/events${query}`);
        expect(res.status).toBe(200);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.body.events.length).toBeLessThanOrEqual(3);
        seen.push(...(res.body.events as Array<{ version: number }>).map((e) => e.version));
        cursor = res.body.next_cursor as string | null;
        pages++;
      } while (cursor !== null && pages < 10);
      expect(lastVersion).toBe(7);
      expect(seen).toEqual(range(1, 7));
      expect(pages).toBe(3);
    });

    it('answers each event in API field names, 100 by default', async () => {
      const res = await request(app).get(`/v1/sessions/${sessionId}/events`);
      expect(res.status).toBe(200);
      expect(res.body.next_cursor).toBeNull();
      expect(res.body.events).toHaveLength(7);
      const switched = res.body.events[2];
      expect(Object.keys(switched).sort()).toEqual(
        [
          'session_id',
          'version',
          'event',
          'actor',
          'participant_id',
          'at',
          'clocks_before',
          'clocks_after',
          'state',
          'recorded_at',
        ].sort(),
      );
      expect(switched).toMatchObject({ session_id: sessionId, version: 3, event: 'switched' });
      expect(switched.state).toMatchObject({ session_id: sessionId, version: 3, server_time: switched.at });
      expect(typeof switched.clocks_before.session).toBe('number');
    });

    it('is 404 SESSION_NOT_FOUND for a session without history', async () => {
      const res = await request(app).get('/v1/sessions/never-was/events');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({
        error: {
          code: 'SESSION_NOT_FOUND',
          message: "Session 'never-was' does not exist",
          details: { session_id: 'never-was' },
        },
      });
    });

    it('is an empty last page, not a 404, past the end of a history', async () => {
      const res = await request(app).get(`/v1/sessions/${sessionId}/events?cursor=${encodeHistoryCursor(7)}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ events: [], next_cursor: null, lifetime: 1, lifetimes: 1 });
    });

    it('an id created again after DELETE has a history of its own; ?lifetime=1 serves the old one', async () => {
      const id = `reused-${Date.now()}`;
      const game = {
        session_id: id,
        sync_mode: 'per_participant',
        participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
        total_time_ms: 60_000,
      };
      await request(app).post('/v1/sessions').send(game).expect(201);
      await request(app).post(`/v1/sessions/${id}/start`).send({}).expect(200);
      await request(app).post(`/v1/sessions/${id}/switch`).send({}).expect(200);
      await request(app).delete(`/v1/sessions/${id}`).expect(204);
      // The same id again, in the next moment: a new game.
      await request(app)
        .post('/v1/sessions')
        .send({ ...game, metadata: { round: 2 } })
        .expect(201);
      await request(app).post(`/v1/sessions/${id}/start`).send({}).expect(200);
      await writer.drain();

      const current = await request(app).get(`/v1/sessions/${id}/events`).expect(200);
      expect(current.body).toMatchObject({ lifetime: 2, lifetimes: 2, next_cursor: null });
      expect(
        current.body.events.map((e: { version: number; event: string }) => [e.version, e.event]),
      ).toEqual([
        [1, 'created'],
        [2, 'started'],
      ]);
      expect(current.body.events[0].state.metadata).toEqual({ round: 2 });

      const old = await request(app).get(`/v1/sessions/${id}/events?lifetime=1`).expect(200);
      expect(old.body).toMatchObject({ lifetime: 1, lifetimes: 2 });
      expect(old.body.events.map((e: { version: number; event: string }) => [e.version, e.event])).toEqual([
        [1, 'created'],
        [2, 'started'],
        [3, 'switched'],
        [4, 'cancelled'],
      ]);
      expect(old.body.events[0].state.metadata).toBeNull();
      expect((await request(app).get(`/v1/sessions/${id}/events?lifetime=2`)).body).toEqual(current.body);

      const never = await request(app).get(`/v1/sessions/${id}/events?lifetime=3`);
      expect(never.status).toBe(404);
      expect(never.body.error).toMatchObject({
        code: 'SESSION_NOT_FOUND',
        details: { session_id: id, lifetime: 3, lifetimes: 2 },
      });
    });

    it.each([
      ['a cursor it never issued', 'cursor=not-a-cursor', 'query.cursor'],
      ['a cursor of another shape', `cursor=${Buffer.from('v0').toString('base64url')}`, 'query.cursor'],
      ['a padded cursor', `cursor=${encodeHistoryCursor(3)}%3D`, 'query.cursor'],
      ['limit 0', 'limit=0', 'query.limit'],
      ['limit 501', 'limit=501', 'query.limit'],
      ['a limit that is not a number', 'limit=ten', 'query.limit'],
      ['a limit given twice', 'limit=1&limit=2', 'query.limit'],
      ['an unknown parameter', 'after=3', 'query.after'],
      ['lifetime 0', 'lifetime=0', 'query.lifetime'],
      ['a lifetime that is not a number', 'lifetime=first', 'query.lifetime'],
    ])('is 400 VALIDATION_ERROR for %s', async (_name, query, path) => {
      const res = await request(app).get(`/v1/sessions/${sessionId}/events?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
      expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
    });

    it('is 503 naming the audit store when the app has none', async () => {
      const bare = createApp({
        engine,
        store: stateStore,
        logger: createLogger({ logLevel: 'silent', nodeEnv: 'test' }),
        metrics: createMetrics({ defaultMetrics: false }),
        bodyLimitBytes: 64 * 1024,
      });
      const res = await request(bare).get(`/v1/sessions/${sessionId}/events`);
      expect(res.status).toBe(503);
      expect(res.body.error).toMatchObject({ code: 'STORE_UNAVAILABLE', details: { store: 'audit' } });
    });
  });

  it('refuses to open a folder that is already open, here or in another live process', async () => {
    await expect(pgliteClient(data.dir)).rejects.toThrow(/already open in this process/);
    const other = await freshPgliteDataDir();
    try {
      // The parent process is alive: its lock must be respected.
      await writeFile(`${other.dir}.lock`, String(process.ppid));
      await expect(pgliteClient(other.dir)).rejects.toThrow(`in use by process ${process.ppid}`);
    } finally {
      await other.remove();
    }
  });

  // Last: it closes the database the tests above use.
  it('survives a restart: reopened from the same folder, the history is all there', async () => {
    const before = await versions('embedded-chess');
    expect(before.length).toBeGreaterThan(10);
    await writer.close();
    await auditStore.close();
    // As if the process had been killed: a lock left behind by a process that is gone.
    await writeFile(`${data.dir}.lock`, String(spawnSync('true').pid));

    const reopenedAtMs = performance.now();
    const reopened = new AuditStore(await pgliteClient(data.dir), { name: 'pglite' });
    const openMs = performance.now() - reopenedAtMs;
    try {
      expect(await reopened.migrate()).toEqual([]);
      expect(
        (await reopened.history('embedded-chess', { limit: 1000 })).events.map((e) => e.version),
      ).toEqual(before);
      expect((await reopened.sessionSummary('embedded-quiz'))?.status).toBe('cancelled');
    } finally {
      await reopened.close();
    }
    console.log(`PGlite reopened an existing data folder in ${Math.round(openMs)} ms`);
  });
});

/** An AuditStore stand-in that fails as told, to drive the writer's retry rules quickly. */
class ScriptedStore {
  readonly written: SessionEvent[] = [];
  readonly calls: number[] = [];
  outageCalls = 0;
  refuse: (event: SessionEvent) => boolean = () => false;

  async write(events: SessionEvent[]): Promise<number> {
    this.calls.push(events.length);
    if (this.outageCalls > 0) {
      this.outageCalls--;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    }
    if (events.some(this.refuse)) {
      // Not about the data: a retry may well succeed.
      throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
    }
    this.written.push(...events);
    return events.length;
  }
}

const records = (sessionId: string, versions: number[]): string[] =>
  versions.map((v) => auditRecord(auditEvent(sessionId, v)));

describe('EmbeddedAuditWriter', () => {
  it('appends without waiting or throwing, and writes in order', async () => {
    const store = new ScriptedStore();
    const writer = new EmbeddedAuditWriter(store, { retryDelayMs: 1 });
    expect(writer.append(records('s', [1, 2, 3]))).toBeUndefined();
    expect(store.written).toHaveLength(0);
    writer.append(records('s', [4]));
    await writer.drain();
    expect(store.written.map((e) => e.version)).toEqual([1, 2, 3, 4]);
    expect(writer.writtenCount).toBe(4);
    await writer.close();
    await writer.close();
  });

  it('retries a refused record with backoff, then keeps it as failed; the rest still go through in order', async () => {
    const store = new ScriptedStore();
    store.refuse = (event) => event.version === 3;
    const onFailed: Array<[string, unknown]> = [];
    const writer = new EmbeddedAuditWriter(store, {
      retryDelayMs: 2,
      maxAttempts: 4,
      onFailed: (record, err) => onFailed.push([record, err]),
    });
    const startedAtMs = performance.now();
    writer.append(records('s', [1, 2, 3, 4, 5]));
    await writer.drain();
    expect(store.written.map((e) => e.version)).toEqual([1, 2, 4, 5]);
    expect(writer.failedCount).toBe(1);
    expect(onFailed).toHaveLength(1);
    expect(JSON.parse(onFailed[0]?.[0] as string).version).toBe(3);
    // The batch of 5, then one at a time; 4 attempts on version 3 with 2 + 4 + 8 ms between them.
    expect(store.calls.filter((n) => n === 1).length).toBeGreaterThanOrEqual(4);
    expect(performance.now() - startedAtMs).toBeGreaterThanOrEqual(14);
    await writer.close();
  });

  it('spends no attempts while the database is unreachable, and writes everything once it is back', async () => {
    const store = new ScriptedStore();
    store.outageCalls = 12;
    const writer = new EmbeddedAuditWriter(store, { retryDelayMs: 1, maxOutageDelayMs: 4, maxAttempts: 2 });
    writer.append(records('s', [1, 2]));
    writer.append(records('s', [3]));
    await writer.drain();
    expect(store.written.map((e) => e.version)).toEqual([1, 2, 3]);
    expect(writer.failedCount).toBe(0);
    await writer.close();
  });

  it('fails a record that is not JSON at once, without blocking the others', async () => {
    const store = new ScriptedStore();
    const writer = new EmbeddedAuditWriter(store, { retryDelayMs: 1 });
    writer.append(['{not json', ...records('s', [1])]);
    await writer.drain();
    expect(writer.failedCount).toBe(1);
    expect(writer.failedRecords[0]?.record).toBe('{not json');
    expect(store.written.map((e) => e.version)).toEqual([1]);
    await writer.close();
  });

  it('close gives up on a database that stays down after closeTimeoutMs, and ignores later appends', async () => {
    const store = new ScriptedStore();
    store.outageCalls = Number.POSITIVE_INFINITY;
    const writer = new EmbeddedAuditWriter(store, { retryDelayMs: 5, closeTimeoutMs: 50 });
    writer.append(records('s', [1]));
    const startedAtMs = performance.now();
    await writer.close();
    expect(performance.now() - startedAtMs).toBeLessThan(1_000);
    expect(writer.pendingCount).toBe(0);
    writer.append(records('s', [2]));
    await writer.drain();
    expect(store.written).toHaveLength(0);
  });
});
