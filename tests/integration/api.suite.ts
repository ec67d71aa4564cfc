// The HTTP API, end to end over a real socket, against whichever state store `setup` wires in.
// Time assertions are derived from the server_time values in the responses, never from sleeps.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import request, { type Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpApp } from '../../src/api/app.js';
import { BATCH_BODY_LIMIT_BYTES } from '../../src/schemas/requests.js';
import { sessionBatchResponseSchema } from '../../src/schemas/responses.js';
import { sessionListResponseSchema } from '../../src/schemas/responses.js';
import type { ParticipantView, SessionView } from '../../src/types/session.js';

export interface ApiSetup {
  app: HttpApp;
  cleanup: () => Promise<void>;
}

/** The body limit the setups give createApp. */
export const SUITE_BODY_LIMIT_BYTES = 65_536;

const THIRTY_DAYS_MS = 2_592_000_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function uniqueId(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

function participant(view: SessionView, id: string): ParticipantView {
  const found = view.participants.find((p) => p.participant_id === id);
  if (!found) throw new Error(`no participant '${id}' in ${JSON.stringify(view)}`);
  return found;
}

function remaining(view: SessionView, id: string): number {
  const value = participant(view, id).time_remaining_ms;
  if (value === null) throw new Error(`participant '${id}' has no time_remaining_ms`);
  return value;
}

interface ErrorShape {
  error: { code: string; message: string; details?: unknown };
}

/** The one error shape, with this status and code; returns the error for further checks. */
function expectError(res: Response, status: number, code: string): ErrorShape['error'] {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.body as ErrorShape;
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  for (const key of Object.keys(body.error)) expect(['code', 'message', 'details']).toContain(key);
  return body.error;
}

function issuePaths(error: ErrorShape['error']): string[] {
  const details = error.details as { issues?: { path: string; message: string }[] } | undefined;
  return (details?.issues ?? []).map((issue) => issue.path);
}

/** `name` is the store's name, as /ready reports it ('memory', 'redis'). */
export function apiSuite(name: string, setup: () => Promise<ApiSetup>): void {
  describe(`REST API (${name} store)`, () => {
    let server: http.Server;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      const built = await setup();
      cleanup = built.cleanup;
      // As the service does before it listens: the first timed request does not wait for the plugins.
      await built.app.fastify.ready();
      server = http.createServer(built.app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });

    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cleanup();
    });

    const api = () => request(server);

    /** The create request as sent, its response unchecked. */
    const postSession = (body: object) => api().post('/v1/sessions').send(body);

    /** The raw command request; without a body, none is sent. */
    const postCommand = (sessionId: string, name: string, body?: Record<string, unknown>) => {
      const req = api().post(`/v1/sessions/${sessionId}/${name}`);
      return body === undefined ? req : req.send(body);
    };

    async function create(body: Record<string, unknown>): Promise<SessionView> {
      const res = await postSession(body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body as SessionView;
    }

    async function command(sessionId: string, name: string, body: Record<string, unknown> = {}) {
      const res = await postCommand(sessionId, name, body);
      expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(200);
      return res.body as SessionView;
    }

    async function read(sessionId: string): Promise<SessionView> {
      const res = await api().get(`/v1/sessions/${sessionId}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body as SessionView;
    }

    /** A create under a fresh id (from `label`): 400 VALIDATION_ERROR and no session; returns the error. */
    async function expectInvalidCreate(
      label: string,
      body: Record<string, unknown>,
    ): Promise<ErrorShape['error']> {
      const sessionId = uniqueId(label);
      const error = expectError(
        await postSession({ session_id: sessionId, ...body }),
        400,
        'VALIDATION_ERROR',
      );
      await expectNotCreated(sessionId);
      return error;
    }

    /** A running chess clock: w to move, 5 minutes each, 2 s increment. */
    async function runningChessClock(): Promise<SessionView> {
      const created = await create({
        session_id: uniqueId('chess'),
        sync_mode: 'per_participant',
        participants: [{ participant_id: 'w' }, { participant_id: 'b' }],
        total_time_ms: 300_000,
        increment_ms: 2000,
      });
      return command(created.session_id, 'start');
    }

    /** Nothing about the session moved: same version, status, turn and last change. */
    async function expectUnchanged(before: SessionView): Promise<void> {
      const after = await read(before.session_id);
      expect({
        version: after.version,
        status: after.status,
        active_participant_id: after.active_participant_id,
        updated_at: after.updated_at,
        cycle_started_at: after.cycle_started_at,
      }).toEqual({
        version: before.version,
        status: before.status,
        active_participant_id: before.active_participant_id,
        updated_at: before.updated_at,
        cycle_started_at: before.cycle_started_at,
      });
    }

    async function expectNotCreated(sessionId: string): Promise<void> {
      expectError(await api().get(`/v1/sessions/${sessionId}`), 404, 'SESSION_NOT_FOUND');
    }

    describe('create and read', () => {
      it('create answers 201 with version 1, status pending, server_time, a Location and every participant field', async () => {
        const before = Date.now();
        const sessionId = uniqueId('team');
        const res = await postSession({
          session_id: sessionId,
          sync_mode: 'per_group',
          participants: [
            { participant_id: 'a1', group_id: 'A' },
            { participant_id: 'b1', group_id: 'B' },
          ],
          groups: [{ group_id: 'B', total_time_ms: 90_000 }],
          total_time_ms: 60_000,
          metadata: { title: 'Quiz night', round: 1 },
        });
        expect(res.status).toBe(201);
        expect(res.headers.location).toBe(`/v1/sessions/${sessionId}`);
        const view = res.body as SessionView;
        expect(view).toMatchObject({
          session_id: sessionId,
          sync_mode: 'per_group',
          status: 'pending',
          version: 1,
          event: 'created',
          active_participant_id: 'a1',
          cycle_started_at: null,
          start_at: null,
          deadline_at: null,
          total_time_ms: 60_000,
          increment_ms: 0,
          on_expire: 'end_session',
          metadata: { title: 'Quiz night', round: 1 },
        });
        expect(Number.isInteger(view.server_time)).toBe(true);
        // The server clock is this machine's (embedded) or the local Redis's: the same within a second.
        expect(Math.abs(view.server_time - before)).toBeLessThan(1000);
        expect(view.created_at).toBe(view.server_time);
        expect(view.participants).toEqual([
          {
            participant_id: 'a1',
            group_id: 'A',
            time_remaining_ms: 60_000,
            time_used_ms: 0,
            cycle_count: 0,
            is_active: true,
            has_expired: false,
          },
          {
            participant_id: 'b1',
            group_id: 'B',
            time_remaining_ms: 90_000,
            time_used_ms: 0,
            cycle_count: 0,
            is_active: false,
            has_expired: false,
          },
        ]);
        expect(view.groups).toEqual([
          { group_id: 'A', time_remaining_ms: 60_000, time_used_ms: 0, has_expired: false },
          { group_id: 'B', time_remaining_ms: 90_000, time_used_ms: 0, has_expired: false },
        ]);

        const location = await api().get(res.headers.location as string);
        expect(location.status).toBe(200);
        expect((location.body as SessionView).version).toBe(1);
      });

      it('a session without session_id gets a generated one', async () => {
        const view = await create({
          sync_mode: 'global',
          participants: [{ participant_id: 'host' }],
          total_time_ms: 60_000,
        });
        expect(view.session_id).toMatch(/^[A-Za-z0-9_.:-]{1,128}$/);
        expect((await read(view.session_id)).session_id).toBe(view.session_id);
      });

      it('creating an id that exists is refused with 409 SESSION_EXISTS and leaves the first alone', async () => {
        const first = await runningChessClock();
        const res = await postSession({
          session_id: first.session_id,
          sync_mode: 'global',
          participants: [{ participant_id: 'x' }],
          total_time_ms: 1000,
        });
        expectError(res, 409, 'SESSION_EXISTS');
        await expectUnchanged(first);
      });

      it('a duration of exactly 30 days is accepted', async () => {
        const view = await create({
          sync_mode: 'per_participant',
          participants: [{ participant_id: 'p', total_time_ms: THIRTY_DAYS_MS }],
          increment_ms: THIRTY_DAYS_MS,
        });
        expect(remaining(view, 'p')).toBe(THIRTY_DAYS_MS);
      });

      it('state responses are not cacheable and carry a request id', async () => {
        const view = await runningChessClock();
        const res = await api().get(`/v1/sessions/${view.session_id}`).set('x-request-id', 'trace-42');
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.headers['x-request-id']).toBe('trace-42');
        expect(res.headers['x-powered-by']).toBeUndefined();
        const generated = await api().get(`/v1/sessions/${view.session_id}`);
        expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      });
    });

    describe('the five modes over HTTP', () => {
      it('per_participant: a switch charges the elapsed time to the mover and adds the increment; pause freezes; adjust moves a bank', async () => {
        const created = await create({
          session_id: uniqueId('pp'),
          sync_mode: 'per_participant',
          participants: [{ participant_id: 'w' }, { participant_id: 'b', total_time_ms: 240_000 }],
          total_time_ms: 300_000,
          increment_ms: 2000,
        });
        const id = created.session_id;
        expect(remaining(created, 'w')).toBe(300_000);
        expect(remaining(created, 'b')).toBe(240_000);

        const started = await command(id, 'start');
        expect(started).toMatchObject({
          status: 'running',
          version: 2,
          event: 'started',
          active_participant_id: 'w',
        });
        const t0 = started.cycle_started_at as number;
        expect(t0).toBe(started.server_time);
        expect(started.start_at).toBe(t0);
        expect(started.deadline_at).toBe(t0 + 300_000);

        await sleep(30);
        const switched = await command(id, 'switch', { expected_version: 2 });
        const t1 = switched.server_time;
        expect(t1 - t0).toBeGreaterThanOrEqual(20);
        expect(switched).toMatchObject({ version: 3, event: 'switched', active_participant_id: 'b' });
        expect(switched.cycle_started_at).toBe(t1);
        expect(participant(switched, 'w')).toEqual({
          participant_id: 'w',
          group_id: null,
          time_remaining_ms: 300_000 - (t1 - t0) + 2000,
          time_used_ms: t1 - t0,
          cycle_count: 1,
          is_active: false,
          has_expired: false,
        });
        expect(participant(switched, 'b')).toMatchObject({ time_remaining_ms: 240_000, is_active: true });
        expect(switched.deadline_at).toBe(t1 + 240_000);

        await sleep(30);
        const paused = await command(id, 'pause');
        const t2 = paused.server_time;
        expect(paused).toMatchObject({ status: 'paused', version: 4, deadline_at: null });
        const bPaused = 240_000 - (t2 - t1);
        expect(remaining(paused, 'b')).toBe(bPaused);

        await sleep(30);
        const whilePaused = await read(id);
        expect(whilePaused.server_time).toBeGreaterThan(t2);
        expect(remaining(whilePaused, 'b')).toBe(bPaused);
        expect(whilePaused.version).toBe(4);

        const resumed = await command(id, 'resume');
        const t3 = resumed.server_time;
        expect(resumed).toMatchObject({ status: 'running', version: 5, active_participant_id: 'b' });
        expect(remaining(resumed, 'b')).toBe(bPaused);
        expect(resumed.cycle_started_at).toBe(t1);
        expect(resumed.deadline_at).toBe(t3 + bPaused);

        const adjusted = await command(id, 'adjust', { participant_id: 'w', delta_ms: 5000 });
        expect(adjusted).toMatchObject({ version: 6, event: 'adjusted' });
        expect(remaining(adjusted, 'w')).toBe(300_000 - (t1 - t0) + 2000 + 5000);
        expect(remaining(adjusted, 'b')).toBe(bPaused - (adjusted.server_time - t3));

        await sleep(20);
        const completed = await command(id, 'complete');
        const t5 = completed.server_time;
        expect(completed).toMatchObject({
          status: 'completed',
          version: 7,
          event: 'completed',
          deadline_at: null,
        });
        const bFinal = bPaused - (t5 - t3);
        expect(remaining(completed, 'b')).toBe(bFinal);
        await sleep(20);
        expect(remaining(await read(id), 'b')).toBe(bFinal);
      });

      it('per_cycle: the next participant gets a fresh cycle; pause keeps what is left of the cycle', async () => {
        const created = await create({
          session_id: uniqueId('cycle'),
          sync_mode: 'per_cycle',
          participants: [{ participant_id: 'a' }, { participant_id: 'b' }, { participant_id: 'c' }],
          time_per_cycle_ms: 10_000,
        });
        const id = created.session_id;
        expect(created.participants.map((p) => p.time_remaining_ms)).toEqual([10_000, 10_000, 10_000]);

        const started = await command(id, 'start');
        const t0 = started.server_time;
        expect(started.deadline_at).toBe(t0 + 10_000);

        await sleep(30);
        const first = await command(id, 'switch');
        const t1 = first.server_time;
        expect(first.active_participant_id).toBe('b');
        expect(remaining(first, 'b')).toBe(10_000);
        expect(first.deadline_at).toBe(t1 + 10_000);
        expect(participant(first, 'a')).toMatchObject({
          cycle_count: 1,
          time_used_ms: t1 - t0,
          is_active: false,
        });

        await sleep(30);
        const paused = await command(id, 'pause');
        const t2 = paused.server_time;
        expect(remaining(paused, 'b')).toBe(10_000 - (t2 - t1));

        const resumed = await command(id, 'resume');
        const t3 = resumed.server_time;
        expect(remaining(resumed, 'b')).toBe(10_000 - (t2 - t1));

        await sleep(30);
        const second = await command(id, 'switch', { next_participant_id: 'c' });
        const t4 = second.server_time;
        expect(second.active_participant_id).toBe('c');
        expect(remaining(second, 'c')).toBe(10_000);
        expect(second.deadline_at).toBe(t4 + 10_000);
        expect(participant(second, 'b').time_used_ms).toBe(t2 - t1 + (t4 - t3));

        const adjusted = await command(id, 'adjust', { delta_ms: 2000 });
        expect(remaining(adjusted, 'c')).toBe(10_000 - (adjusted.server_time - t4) + 2000);
        expect(adjusted.deadline_at).toBe(t4 + 12_000);

        const completed = await command(id, 'complete');
        expect(completed.status).toBe('completed');
      });

      it('per_cycle cue list: each switch ends a cue with its wall-clock time, next_cycle_index skips ahead, the last switch completes', async () => {
        const created = await create({
          session_id: uniqueId('cues'),
          sync_mode: 'per_cycle',
          participants: [{ participant_id: 'host' }, { participant_id: 'speaker' }],
          cycles: [
            { label: 'Welcome', duration_ms: 300_000, participant_id: 'host' },
            { label: 'Keynote', duration_ms: 1_200_000, participant_id: 'speaker' },
            { label: 'Panel', duration_ms: 900_000 },
            { label: 'Close', duration_ms: 120_000, participant_id: 'host' },
          ],
          on_expire: 'overtime',
        });
        const id = created.session_id;
        expect(created).toMatchObject({
          cycle_index: 0,
          active_participant_id: 'host',
          time_remaining_ms: 300_000,
          time_per_cycle_ms: null,
          over_under_ms: 0,
        });
        expect(created.cycles?.map((c) => [c.label, c.participant_id, c.planned_ms, c.actual_ms])).toEqual([
          ['Welcome', 'host', 300_000, null],
          ['Keynote', 'speaker', 1_200_000, null],
          ['Panel', null, 900_000, null],
          ['Close', 'host', 120_000, null],
        ]);

        const started = await command(id, 'start');
        const t0 = started.server_time;
        expect(started.deadline_at).toBe(t0 + 300_000);
        await sleep(30);
        const keynote = await command(id, 'switch');
        const t1 = keynote.server_time;
        expect(keynote).toMatchObject({
          event: 'switched',
          cycle_index: 1,
          active_participant_id: 'speaker',
          cycle_started_at: t1,
          deadline_at: t1 + 1_200_000,
        });
        expect(keynote.cycles?.[0]).toMatchObject({ actual_ms: t1 - t0, over_under_ms: t1 - t0 - 300_000 });
        expect(keynote.over_under_ms).toBe(t1 - t0 - 300_000);

        await sleep(30);
        const close = await command(id, 'switch', { next_cycle_index: 3 });
        const t2 = close.server_time;
        expect(close).toMatchObject({
          cycle_index: 3,
          active_participant_id: 'host',
          time_remaining_ms: 120_000,
        });
        expect(close.cycles?.map((c) => c.actual_ms)).toEqual([t1 - t0, t2 - t1, null, null]);

        const done = await command(id, 'switch');
        const t3 = done.server_time;
        expect(done).toMatchObject({
          status: 'completed',
          event: 'completed',
          cycle_index: 3,
          deadline_at: null,
        });
        expect(done.cycles?.[3]).toMatchObject({ actual_ms: t3 - t2, over_under_ms: t3 - t2 - 120_000 });
        expect(done.over_under_ms).toBe(t3 - t0 - (300_000 + 1_200_000 + 120_000));
        expect(await read(id)).toMatchObject({ status: 'completed', over_under_ms: done.over_under_ms });
      });

      it('per_group: a switch charges the group bank that ran and adds the increment to it', async () => {
        const created = await create({
          session_id: uniqueId('group'),
          sync_mode: 'per_group',
          participants: [
            { participant_id: 'a1', group_id: 'A' },
            { participant_id: 'b1', group_id: 'B' },
            { participant_id: 'a2', group_id: 'A' },
          ],
          groups: [{ group_id: 'B', total_time_ms: 90_000 }],
          total_time_ms: 60_000,
          increment_ms: 1000,
        });
        const id = created.session_id;
        const started = await command(id, 'start');
        const t0 = started.server_time;

        await sleep(30);
        const switched = await command(id, 'switch');
        const t1 = switched.server_time;
        const groupA = 60_000 - (t1 - t0) + 1000;
        expect(switched.active_participant_id).toBe('b1');
        expect(switched.groups).toEqual([
          { group_id: 'A', time_remaining_ms: groupA, time_used_ms: t1 - t0, has_expired: false },
          { group_id: 'B', time_remaining_ms: 90_000, time_used_ms: 0, has_expired: false },
        ]);
        // Every member shows the bank of its group.
        expect(remaining(switched, 'a1')).toBe(groupA);
        expect(remaining(switched, 'a2')).toBe(groupA);
        expect(remaining(switched, 'b1')).toBe(90_000);

        await sleep(30);
        const paused = await command(id, 'pause');
        const t2 = paused.server_time;
        expect(paused.groups?.[1]?.time_remaining_ms).toBe(90_000 - (t2 - t1));

        const resumed = await command(id, 'resume');
        const t3 = resumed.server_time;
        const adjusted = await command(id, 'adjust', { group_id: 'A', delta_ms: -5000 });
        expect(adjusted.groups?.[0]?.time_remaining_ms).toBe(groupA - 5000);
        expect(adjusted.groups?.[1]?.time_remaining_ms).toBe(
          90_000 - (t2 - t1) - (adjusted.server_time - t3),
        );

        const back = await command(id, 'switch');
        const t4 = back.server_time;
        expect(back.active_participant_id).toBe('a2');
        expect(back.groups?.[1]?.time_remaining_ms).toBe(90_000 - (t2 - t1) - (t4 - t3) + 1000);

        expect((await command(id, 'complete')).status).toBe('completed');
      });

      it('global: a switch moves only the turn; the one session bank keeps running', async () => {
        const created = await create({
          session_id: uniqueId('global'),
          sync_mode: 'global',
          participants: [{ participant_id: 'p1' }, { participant_id: 'p2' }, { participant_id: 'p3' }],
          total_time_ms: 120_000,
        });
        const id = created.session_id;
        expect(created.time_remaining_ms).toBe(120_000);
        const started = await command(id, 'start');
        const t0 = started.server_time;
        expect(started.deadline_at).toBe(t0 + 120_000);

        await sleep(30);
        const switched = await command(id, 'switch');
        const t1 = switched.server_time;
        expect(switched.active_participant_id).toBe('p2');
        expect(switched.time_remaining_ms).toBe(120_000 - (t1 - t0));
        expect(switched.deadline_at).toBe(t0 + 120_000);
        expect(switched.cycle_started_at).toBe(t1);
        expect(participant(switched, 'p1')).toMatchObject({ time_used_ms: t1 - t0, cycle_count: 1 });

        await sleep(30);
        const paused = await command(id, 'pause');
        const t2 = paused.server_time;
        expect(paused.time_remaining_ms).toBe(120_000 - (t2 - t0));

        await sleep(30);
        expect((await read(id)).time_remaining_ms).toBe(120_000 - (t2 - t0));

        const resumed = await command(id, 'resume');
        const t3 = resumed.server_time;
        expect(resumed.deadline_at).toBe(t3 + 120_000 - (t2 - t0));

        const adjusted = await command(id, 'adjust', { delta_ms: 10_000 });
        expect(adjusted.time_remaining_ms).toBe(120_000 - (t2 - t0) - (adjusted.server_time - t3) + 10_000);

        expect((await command(id, 'complete')).status).toBe('completed');
      });

      it('count_up: elapsed time counts up without pauses and a switch records a lap', async () => {
        const created = await create({
          session_id: uniqueId('laps'),
          sync_mode: 'count_up',
          participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
          max_time_ms: 3_600_000,
        });
        const id = created.session_id;
        expect(created).toMatchObject({ elapsed_ms: 0, laps: [], time_remaining_ms: 3_600_000 });

        const started = await command(id, 'start');
        const t0 = started.server_time;
        expect(started.deadline_at).toBe(t0 + 3_600_000);

        await sleep(30);
        const lap1 = await command(id, 'switch');
        const t1 = lap1.server_time;
        expect(lap1.elapsed_ms).toBe(t1 - t0);
        expect(lap1.time_remaining_ms).toBe(3_600_000 - (t1 - t0));
        expect(lap1.laps).toEqual([{ participant_id: 'a', lap_ms: t1 - t0, elapsed_ms: t1 - t0 }]);

        await sleep(30);
        const paused = await command(id, 'pause');
        const t2 = paused.server_time;
        expect(paused.elapsed_ms).toBe(t2 - t0);
        await sleep(30);
        expect((await read(id)).elapsed_ms).toBe(t2 - t0);

        const resumed = await command(id, 'resume');
        const t3 = resumed.server_time;
        await sleep(30);
        const lap2 = await command(id, 'switch');
        const t4 = lap2.server_time;
        const elapsed = t2 - t0 + (t4 - t3);
        expect(lap2.elapsed_ms).toBe(elapsed);
        expect(lap2.laps).toEqual([
          { participant_id: 'a', lap_ms: t1 - t0, elapsed_ms: t1 - t0 },
          { participant_id: 'b', lap_ms: elapsed - (t1 - t0), elapsed_ms: elapsed },
        ]);

        const adjusted = await command(id, 'adjust', { delta_ms: 1000 });
        expect(adjusted.elapsed_ms).toBe(elapsed + (adjusted.server_time - t4) + 1000);

        const completed = await command(id, 'complete');
        expect(completed.status).toBe('completed');
        const final = completed.elapsed_ms;
        await sleep(20);
        expect((await read(id)).elapsed_ms).toBe(final);
      });

      it('a start_at in the future keeps the clock full until then and refuses a switch before it', async () => {
        const created = await create({
          session_id: uniqueId('later'),
          sync_mode: 'per_participant',
          participants: [{ participant_id: 'w' }, { participant_id: 'b' }],
          total_time_ms: 60_000,
        });
        const startAt = created.server_time + 60_000;
        const started = await command(created.session_id, 'start', { start_at: startAt });
        expect(started).toMatchObject({
          status: 'running',
          start_at: startAt,
          deadline_at: startAt + 60_000,
        });
        await sleep(20);
        const later = await read(created.session_id);
        expect(remaining(later, 'w')).toBe(60_000);
        expectError(await postCommand(created.session_id, 'switch'), 409, 'INVALID_STATE');
        await expectUnchanged(started);
      });

      it('a session whose clock ran out reads as expired', async () => {
        const created = await create({
          session_id: uniqueId('flag'),
          sync_mode: 'per_participant',
          participants: [{ participant_id: 'w' }, { participant_id: 'b' }],
          total_time_ms: 50,
        });
        const started = await command(created.session_id, 'start');
        await sleep(120);
        const expired = await read(created.session_id);
        expect(expired.status).toBe('expired');
        expect(expired.server_time).toBeGreaterThanOrEqual(started.server_time + 50);
        expect(participant(expired, 'w')).toMatchObject({ time_remaining_ms: 0, has_expired: true });
      });
    });

    describe('bad input is refused in the one error shape and changes nothing', () => {
      it('malformed JSON', async () => {
        const before = await runningChessClock();
        const res = await api()
          .post(`/v1/sessions/${before.session_id}/switch`)
          .set('content-type', 'application/json')
          .send('{"expected_version": 2,');
        const error = expectError(res, 400, 'VALIDATION_ERROR');
        expect(error.message).toMatch(/not valid JSON/);
        await expectUnchanged(before);

        const create = await api()
          .post('/v1/sessions')
          .set('content-type', 'application/json')
          .send('{"sync_mode": "global", participants: []}');
        expectError(create, 400, 'VALIDATION_ERROR');
      });

      it('a body that is not JSON', async () => {
        const before = await runningChessClock();
        const res = await api()
          .post(`/v1/sessions/${before.session_id}/switch`)
          .set('content-type', 'text/plain')
          .send('expected_version=2');
        const error = expectError(res, 400, 'VALIDATION_ERROR');
        expect(error.message).toMatch(/application\/json/);
        await expectUnchanged(before);
      });

      it('unknown fields', async () => {
        const error = await expectInvalidCreate('unknown', {
          sync_mode: 'global',
          participants: [{ participant_id: 'p', colour: 'red' }],
          total_time_ms: 1000,
          theme: 'dark',
        });
        expect(issuePaths(error).sort()).toEqual(['participants.0.colour', 'theme']);

        const before = await runningChessClock();
        const switchRes = await postCommand(before.session_id, 'switch', { next: 'b' });
        expect(issuePaths(expectError(switchRes, 400, 'VALIDATION_ERROR'))).toEqual(['next']);
        await expectUnchanged(before);
      });

      it('wrong types', async () => {
        const error = await expectInvalidCreate('types', {
          sync_mode: 'per_participant',
          participants: [{ participant_id: 42 }],
          total_time_ms: '300000',
        });
        expect(issuePaths(error).sort()).toEqual(['participants.0.participant_id', 'total_time_ms']);
        expect(error.message).toMatch(/total_time_ms: must be a number, got a string/);

        const notAnObject = await postSession([{ sync_mode: 'global' }]);
        expectError(notAnObject, 400, 'VALIDATION_ERROR');

        const before = await runningChessClock();
        const switchRes = await postCommand(before.session_id, 'switch', { expected_version: 'two' });
        expect(issuePaths(expectError(switchRes, 400, 'VALIDATION_ERROR'))).toEqual(['expected_version']);
        const adjustRes = await postCommand(before.session_id, 'adjust', {
          participant_id: 'w',
          delta_ms: 1.5,
        });
        expect(issuePaths(expectError(adjustRes, 400, 'VALIDATION_ERROR'))).toEqual(['delta_ms']);
        await expectUnchanged(before);
      });

      it('negative durations', async () => {
        const error = await expectInvalidCreate('negative', {
          sync_mode: 'per_participant',
          participants: [{ participant_id: 'w', total_time_ms: -5 }, { participant_id: 'b' }],
          total_time_ms: -1,
          increment_ms: -1,
        });
        expect(issuePaths(error).sort()).toEqual([
          'increment_ms',
          'participants.0.total_time_ms',
          'total_time_ms',
        ]);
      });

      it('durations over 30 days', async () => {
        const error = await expectInvalidCreate('long', {
          sync_mode: 'per_participant',
          participants: [{ participant_id: 'w' }],
          total_time_ms: THIRTY_DAYS_MS + 1,
        });
        expect(error.message).toMatch(/total_time_ms: must be at most 2592000000 ms \(30 days\)/);

        const before = await runningChessClock();
        const adjust = await postCommand(before.session_id, 'adjust', {
          participant_id: 'w',
          delta_ms: -(THIRTY_DAYS_MS + 1),
        });
        expect(issuePaths(expectError(adjust, 400, 'VALIDATION_ERROR'))).toEqual(['delta_ms']);
        await expectUnchanged(before);
      });

      it('an empty participant id', async () => {
        const error = await expectInvalidCreate('empty', {
          sync_mode: 'global',
          participants: [{ participant_id: 'a' }, { participant_id: '' }],
          total_time_ms: 1000,
        });
        expect(error.details).toEqual({
          issues: [{ path: 'participants.1.participant_id', message: 'must not be empty' }],
        });
      });

      it('no participants at all', async () => {
        const res = await postSession({ sync_mode: 'global', participants: [], total_time_ms: 1000 });
        expect(issuePaths(expectError(res, 400, 'VALIDATION_ERROR'))).toEqual(['participants']);
        const missing = await api().post('/v1/sessions');
        expect(issuePaths(expectError(missing, 400, 'VALIDATION_ERROR')).sort()).toEqual([
          'participants',
          'sync_mode',
        ]);
      });

      it('duplicate participant ids', async () => {
        const error = await expectInvalidCreate('dup', {
          sync_mode: 'per_participant',
          participants: [{ participant_id: 'w' }, { participant_id: 'w' }],
          total_time_ms: 1000,
        });
        expect(issuePaths(error)).toEqual(['participants.1.participant_id']);
      });

      it('an unknown sync_mode', async () => {
        const error = await expectInvalidCreate('mode', {
          sync_mode: 'sudden_death',
          participants: [{ participant_id: 'a' }],
        });
        expect(issuePaths(error)).toEqual(['sync_mode']);
        expect(error.message).toMatch(/per_participant, per_cycle, per_group, global, count_up/);
      });

      it('a session id with characters outside the allowed set', async () => {
        const res = await api().get('/v1/sessions/has%20space');
        expect(issuePaths(expectError(res, 400, 'VALIDATION_ERROR'))).toEqual(['session_id']);
        const create = await postSession({
          session_id: 'a{b}',
          sync_mode: 'global',
          participants: [{ participant_id: 'a' }],
          total_time_ms: 1,
        });
        expect(issuePaths(expectError(create, 400, 'VALIDATION_ERROR'))).toEqual(['session_id']);
      });

      it('an unknown session is 404 SESSION_NOT_FOUND for every verb', async () => {
        const missing = uniqueId('missing');
        expectError(await api().get(`/v1/sessions/${missing}`), 404, 'SESSION_NOT_FOUND');
        for (const name of ['start', 'switch', 'pause', 'resume', 'complete']) {
          expectError(await postCommand(missing, name), 404, 'SESSION_NOT_FOUND');
        }
        expectError(await postCommand(missing, 'adjust', { delta_ms: 5 }), 404, 'SESSION_NOT_FOUND');
        expectError(await api().delete(`/v1/sessions/${missing}`), 404, 'SESSION_NOT_FOUND');
        await expectNotCreated(missing);
      });

      it('an unknown route is 404 NOT_FOUND in the same shape; a method a known path does not serve, 405', async () => {
        expectError(await api().get('/v1/nothing-here'), 404, 'NOT_FOUND');
        expectError(await api().post('/v1/sessions/abc/teleport'), 404, 'NOT_FOUND');
        const put = await api().put('/v1/sessions/abc');
        expectError(put, 405, 'METHOD_NOT_ALLOWED');
        expect(put.headers.allow).toBe('GET, HEAD, DELETE');
      });

      it('switch on a paused session is 409 INVALID_STATE', async () => {
        const running = await runningChessClock();
        const paused = await command(running.session_id, 'pause');
        expectError(await postCommand(paused.session_id, 'switch'), 409, 'INVALID_STATE');
        await expectUnchanged(paused);
      });

      it('switch on a completed session is 409 INVALID_STATE', async () => {
        const running = await runningChessClock();
        const completed = await command(running.session_id, 'complete');
        expectError(await postCommand(completed.session_id, 'switch'), 409, 'INVALID_STATE');
        expectError(await postCommand(completed.session_id, 'resume'), 409, 'INVALID_STATE');
        await expectUnchanged(completed);
      });

      it('switch on an expired session is 409 INVALID_STATE: a late switch does not save the flag', async () => {
        const created = await create({
          session_id: uniqueId('late'),
          sync_mode: 'per_participant',
          participants: [{ participant_id: 'w' }, { participant_id: 'b' }],
          total_time_ms: 50,
        });
        await command(created.session_id, 'start');
        await sleep(120);
        const expired = await read(created.session_id);
        expect(expired.status).toBe('expired');
        const error = expectError(await postCommand(created.session_id, 'switch'), 409, 'INVALID_STATE');
        expect(error.details).toMatchObject({ status: 'expired' });
        await expectUnchanged(expired);
        expect(participant(await read(created.session_id), 'w').has_expired).toBe(true);
      });

      it('switch on a concurrent session is 409 INVALID_STATE; one clock paused by participant_id leaves the rest running', async () => {
        const created = await create({
          session_id: uniqueId('exam'),
          sync_mode: 'per_participant',
          concurrent: true,
          total_time_ms: 3_600_000,
          participants: [{ participant_id: 's1' }, { participant_id: 's2', total_time_ms: 4_500_000 }],
          phases: [{ name: 'warning', remaining_ms: 600_000 }],
        });
        const running = await command(created.session_id, 'start');
        const error = expectError(await postCommand(running.session_id, 'switch'), 409, 'INVALID_STATE');
        expect(error.details).toMatchObject({ concurrent: true });
        await expectUnchanged(running);
        const paused = await command(running.session_id, 'pause', { participant_id: 's1' });
        expect(paused).toMatchObject({ status: 'running', event: 'paused', concurrent: true });
        expect(
          paused.participants.map((p) => [p.participant_id, p.status, p.phase, p.next_phase_at]),
        ).toEqual([
          ['s1', 'paused', null, null],
          ['s2', 'running', null, running.start_at! + 3_900_000],
        ]);
        const again = await postCommand(running.session_id, 'pause', { participant_id: 's1' });
        expectError(again, 409, 'INVALID_STATE');
        await expectUnchanged(paused);
      });

      it('participant_id on a pause of a session that is not concurrent is 400', async () => {
        const before = await runningChessClock();
        const res = await postCommand(before.session_id, 'pause', { participant_id: 'w' });
        expect(issuePaths(expectError(res, 400, 'VALIDATION_ERROR'))).toEqual(['participant_id']);
        await expectUnchanged(before);
      });

      it('phases out of order or badly named are 400 and create nothing', async () => {
        const base = {
          sync_mode: 'global',
          participants: [{ participant_id: 'stage' }],
          total_time_ms: 300_000,
        };
        const order = await expectInvalidCreate('phases', {
          ...base,
          phases: [
            { name: 'critical', remaining_ms: 10_000 },
            { name: 'warning', remaining_ms: 60_000 },
          ],
        });
        expect(order.details).toMatchObject({ issues: [{ path: 'phases.1.remaining_ms' }] });
        const named = await expectInvalidCreate('phases', {
          ...base,
          phases: [{ name: 'Warn ing', remaining_ms: 10_000 }],
        });
        expect(named.details).toMatchObject({ issues: [{ path: 'phases.0.name' }] });
      });

      it('a cue list with time_per_cycle_ms too, more than 1,000 cues, none, an empty label or an unknown participant_id', async () => {
        const base = {
          sync_mode: 'per_cycle',
          participants: [{ participant_id: 'host' }],
        };
        const cue = { label: 'Welcome', duration_ms: 60_000 };
        const cases: Array<[Record<string, unknown>, string]> = [
          [{ cycles: [cue], time_per_cycle_ms: 60_000 }, 'cycles'],
          [{ cycles: Array.from({ length: 1001 }, () => cue) }, 'cycles'],
          [{ cycles: [] }, 'cycles'],
          [{ cycles: [{ ...cue, label: '' }] }, 'cycles.0.label'],
          [{ cycles: [{ ...cue, label: 'x'.repeat(129) }] }, 'cycles.0.label'],
          [{ cycles: [{ ...cue, duration_ms: 0 }] }, 'cycles.0.duration_ms'],
          [{ cycles: [cue, { ...cue, participant_id: 'ghost' }] }, 'cycles.1.participant_id'],
        ];
        for (const [fields, path] of cases) {
          const error = await expectInvalidCreate('cues', { ...base, ...fields });
          expect(issuePaths(error), JSON.stringify(fields).slice(0, 80)).toEqual([path]);
        }
        const global = await expectInvalidCreate('cues', {
          sync_mode: 'global',
          participants: [{ participant_id: 'host' }],
          total_time_ms: 60_000,
          cycles: [cue],
        });
        expect(issuePaths(global)).toEqual(['cycles']);
      });

      it('next_cycle_index out of range, backwards or on a session without a cue list is 400 or 409', async () => {
        const created = await create({
          session_id: uniqueId('cues'),
          sync_mode: 'per_cycle',
          participants: [{ participant_id: 'host' }],
          cycles: [
            { label: 'Welcome', duration_ms: 300_000 },
            { label: 'Talk', duration_ms: 300_000 },
            { label: 'Close', duration_ms: 300_000 },
          ],
        });
        await command(created.session_id, 'start');
        const before = await command(created.session_id, 'switch');
        const out = await postCommand(before.session_id, 'switch', { next_cycle_index: 3 });
        expect(issuePaths(expectError(out, 400, 'VALIDATION_ERROR'))).toEqual(['next_cycle_index']);
        const negative = await postCommand(before.session_id, 'switch', { next_cycle_index: -1 });
        expect(issuePaths(expectError(negative, 400, 'VALIDATION_ERROR'))).toEqual(['next_cycle_index']);
        const back = await postCommand(before.session_id, 'switch', { next_cycle_index: 0 });
        expect(expectError(back, 409, 'INVALID_STATE').details).toMatchObject({
          cycle_index: 1,
          next_cycle_index: 0,
        });
        await expectUnchanged(before);
        expect((await read(before.session_id)).cycles?.map((c) => c.actual_ms)).toEqual(
          before.cycles?.map((c) => c.actual_ms),
        );

        const chess = await runningChessClock();
        const none = await postCommand(chess.session_id, 'switch', { next_cycle_index: 1 });
        expect(issuePaths(expectError(none, 400, 'VALIDATION_ERROR'))).toEqual(['next_cycle_index']);
        await expectUnchanged(chess);
      });

      it('a next_participant_id that is not in the session is 400', async () => {
        const before = await runningChessClock();
        const res = await postCommand(before.session_id, 'switch', { next_participant_id: 'ghost' });
        expect(issuePaths(expectError(res, 400, 'VALIDATION_ERROR'))).toEqual(['next_participant_id']);
        await expectUnchanged(before);
      });

      it('adjust refuses a zero delta and naming both a participant and a group', async () => {
        const before = await runningChessClock();
        const zero = await postCommand(before.session_id, 'adjust', { participant_id: 'w', delta_ms: 0 });
        expect(issuePaths(expectError(zero, 400, 'VALIDATION_ERROR'))).toEqual(['delta_ms']);
        const both = await postCommand(before.session_id, 'adjust', {
          participant_id: 'w',
          group_id: 'g',
          delta_ms: 5,
        });
        expect(issuePaths(expectError(both, 400, 'VALIDATION_ERROR'))).toEqual(['group_id']);
        await expectUnchanged(before);
      });

      it('a stale expected_version is 409 VERSION_CONFLICT with the current version', async () => {
        const before = await runningChessClock();
        const res = await postCommand(before.session_id, 'switch', { expected_version: 1 });
        const error = expectError(res, 409, 'VERSION_CONFLICT');
        expect(error.details).toEqual({ expected_version: 1, current_version: 2 });
        for (const name of ['pause', 'complete']) {
          const other = await postCommand(before.session_id, name, { expected_version: 7 });
          expect(expectError(other, 409, 'VERSION_CONFLICT').details).toMatchObject({ current_version: 2 });
        }
        await expectUnchanged(before);
      });

      it('an oversize body is 413 PAYLOAD_TOO_LARGE', async () => {
        const sessionId = uniqueId('big');
        const huge = 'x'.repeat(SUITE_BODY_LIMIT_BYTES + 1);
        const res = await postSession({
          session_id: sessionId,
          sync_mode: 'global',
          participants: [{ participant_id: 'a' }],
          total_time_ms: 1000,
          metadata: { huge },
        });
        expectError(res, 413, 'PAYLOAD_TOO_LARGE');
        await expectNotCreated(sessionId);

        const before = await runningChessClock();
        const switchRes = await postCommand(before.session_id, 'switch', { pad: huge });
        expectError(switchRes, 413, 'PAYLOAD_TOO_LARGE');
        await expectUnchanged(before);
      });

      it('metadata larger than 4 KB is refused even under the body limit', async () => {
        const error = await expectInvalidCreate('meta', {
          sync_mode: 'global',
          participants: [{ participant_id: 'a' }],
          total_time_ms: 1000,
          metadata: { note: 'y'.repeat(5000) },
        });
        expect(issuePaths(error)).toEqual(['metadata']);
      });

      it('metadata holding a NUL character (which the audit database cannot store) is refused', async () => {
        for (const [metadata, path] of [
          [{ note: 'a\u0000b' }, 'metadata.note'],
          [{ 'k\u0000': 1 }, 'metadata'],
          [{ deep: [{ x: '\u0000' }] }, 'metadata.deep.0.x'],
        ] as const) {
          const error = await expectInvalidCreate('nul', {
            sync_mode: 'global',
            participants: [{ participant_id: 'a' }],
            total_time_ms: 1000,
            metadata,
          });
          expect(issuePaths(error)).toEqual([path]);
        }
        // A backslash followed by "u0000" is ordinary text.
        const res = await postSession({
          session_id: uniqueId('text'),
          sync_mode: 'global',
          participants: [{ participant_id: 'a' }],
          total_time_ms: 1000,
          metadata: { note: '\\u0000' },
        });
        expect(res.status).toBe(201);
      });
    });

    describe('concurrency', () => {
      it('of 50 concurrent switches with the same expected_version exactly one wins', async () => {
        const before = await runningChessClock();
        expect(before.version).toBe(2);
        const responses = await Promise.all(
          Array.from({ length: 50 }, () => postCommand(before.session_id, 'switch', { expected_version: 2 })),
        );
        const statuses = responses.map((res) => res.status);
        expect(statuses.filter((status) => status === 200)).toHaveLength(1);
        expect(statuses.filter((status) => status === 409)).toHaveLength(49);
        for (const res of responses.filter((r) => r.status === 409)) {
          const error = expectError(res, 409, 'VERSION_CONFLICT');
          expect(error.details).toEqual({ expected_version: 2, current_version: 3 });
        }
        const after = await read(before.session_id);
        expect(after.version).toBe(3);
        expect(after.active_participant_id).toBe('b');
        expect(participant(after, 'w').cycle_count).toBe(1);
      });
    });

    describe('batch create', () => {
      const postBatch = (body: object) => api().post('/v1/sessions/batch').send(body);

      /** A board of a tournament round: a 5-minute chess clock. */
      const board = (sessionId: string, extra: Record<string, unknown> = {}) => ({
        session_id: sessionId,
        sync_mode: 'per_participant',
        participants: [{ participant_id: 'w' }, { participant_id: 'b' }],
        total_time_ms: 300_000,
        ...extra,
      });

      async function expectNoneCreated(ids: readonly string[]): Promise<void> {
        for (const id of ids) await expectNotCreated(id);
      }

      it('creates every session pending, answering their states in request order', async () => {
        const ids = [uniqueId('b0'), uniqueId('b1'), uniqueId('b2')];
        const res = await postBatch({
          sessions: [board(ids[0]!), { ...board(ids[1]!), sync_mode: 'global' }, board(ids[2]!)],
        });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        expect(res.headers['cache-control']).toBe('no-store');
        const sessions = (res.body as { sessions: SessionView[] }).sessions;
        expect(sessions.map((s) => [s.session_id, s.status, s.version])).toEqual(
          ids.map((id) => [id, 'pending', 1]),
        );
        expect(sessions[1]?.sync_mode).toBe('global');
        for (const id of ids) expect((await read(id)).version).toBe(1);
      });

      it('with start_at starts 500 boards at one instant: the same start, deadline and clocks in every state', async () => {
        const serverNow = (await api().get('/v1/time')).body.server_time as number;
        const startAt = serverNow + 60_000;
        const round = uniqueId('round');
        const sessions = Array.from({ length: 500 }, (_, i) =>
          board(`${round}-${i}`, {
            metadata: { round, board: i, white: `player-${2 * i}`, black: `player-${2 * i + 1}` },
          }),
        );
        const body = { sessions, start_at: startAt };
        // Beyond the service's body limit: the batch route has its own.
        expect(Buffer.byteLength(JSON.stringify(body))).toBeGreaterThan(SUITE_BODY_LIMIT_BYTES);
        const res = await postBatch(body);
        expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(201);
        const parsed = sessionBatchResponseSchema.safeParse(res.body);
        expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
        const views = (res.body as { sessions: SessionView[] }).sessions;
        expect(views).toHaveLength(500);
        expect(new Set(views.map((v) => v.start_at))).toEqual(new Set([startAt]));
        expect(new Set(views.map((v) => v.deadline_at))).toEqual(new Set([startAt + 300_000]));
        expect(new Set(views.map((v) => `${v.status} ${v.version} ${v.event}`))).toEqual(
          new Set(['running 2 started']),
        );
        expect(views.map((v) => v.session_id)).toEqual(sessions.map((s) => s.session_id));
        // Read back at any server time, every board shows the same clocks.
        const readBack = await Promise.all([0, 1, 250, 499].map((i) => read(`${round}-${i}`)));
        for (const view of readBack) {
          expect({ start_at: view.start_at, w: remaining(view, 'w'), b: remaining(view, 'b') }).toEqual({
            start_at: startAt,
            w: 300_000 - Math.max(0, view.server_time - startAt),
            b: 300_000,
          });
        }
      });

      it('refuses the whole batch when any session is bad, naming each bad index and field', async () => {
        const ids = Array.from({ length: 5 }, (_, i) => uniqueId(`bad${i}`));
        const sessions = ids.map((id) => board(id));
        sessions[1] = board(ids[1]!, { time_per_cycle_ms: 1000 });
        sessions[3] = board(ids[3]!, { participants: [{ participant_id: 'w' }, { participant_id: 'w' }] });
        const error = expectError(await postBatch({ sessions }), 400, 'VALIDATION_ERROR');
        expect(error.details).toMatchObject({ indexes: [1, 3] });
        expect(issuePaths(error)).toEqual([
          'sessions.1.time_per_cycle_ms',
          'sessions.3.participants.1.participant_id',
        ]);
        await expectNoneCreated(ids);
        // A field out of its range is found before the rules between fields, as in a single create.
        sessions[4] = board(ids[4]!, { total_time_ms: -5 });
        const range = expectError(await postBatch({ sessions }), 400, 'VALIDATION_ERROR');
        expect(range.details).toMatchObject({ indexes: [4] });
        expect(issuePaths(range)).toEqual(['sessions.4.total_time_ms']);
        await expectNoneCreated(ids);
      });

      it('refuses ids given twice, naming the indexes, and creates nothing', async () => {
        const [a, b] = [uniqueId('dup'), uniqueId('dup')];
        const error = expectError(
          await postBatch({ sessions: [board(a), board(b), board(a)] }),
          400,
          'VALIDATION_ERROR',
        );
        expect(error.details).toMatchObject({
          indexes: [2],
          issues: [{ path: 'sessions.2.session_id', message: `duplicate id '${a}' (also at index 0)` }],
        });
        await expectNoneCreated([a, b]);
      });

      it('refuses an id already in use with 409 naming its index; nothing is created and the existing session is untouched', async () => {
        const existing = await runningChessClock();
        const [a, c] = [uniqueId('new'), uniqueId('new')];
        const error = expectError(
          await postBatch({ sessions: [board(a), board(existing.session_id), board(c)] }),
          409,
          'SESSION_EXISTS',
        );
        expect(error.details).toEqual({ indexes: [1], session_ids: [existing.session_id] });
        await expectNoneCreated([a, c]);
        await expectUnchanged(existing);
      });

      it('refuses more than 500 sessions, no sessions, a start_at in the past and unknown fields; nothing is created', async () => {
        const prefix = uniqueId('many');
        const many = Array.from({ length: 501 }, (_, i) => board(`${prefix}-${i}`));
        const tooMany = expectError(await postBatch({ sessions: many }), 400, 'VALIDATION_ERROR');
        expect(issuePaths(tooMany)).toEqual(['sessions']);
        await expectNoneCreated([`${prefix}-0`, `${prefix}-500`]);

        expect(issuePaths(expectError(await postBatch({ sessions: [] }), 400, 'VALIDATION_ERROR'))).toEqual([
          'sessions',
        ]);

        const late = uniqueId('late');
        const past = expectError(
          await postBatch({ sessions: [board(late)], start_at: Date.now() - 60_000 }),
          400,
          'VALIDATION_ERROR',
        );
        expect(issuePaths(past)).toEqual(['start_at']);
        await expectNotCreated(late);

        const odd = uniqueId('odd');
        const unknown = expectError(
          await postBatch({ sessions: [board(odd)], rounds: 3 }),
          400,
          'VALIDATION_ERROR',
        );
        expect(issuePaths(unknown)).toEqual(['rounds']);
        await expectNotCreated(odd);
      });

      it('leaves a session named batch readable and deletable at /v1/sessions/batch', async () => {
        await create(board('batch'));
        expect((await read('batch')).session_id).toBe('batch');
        const put = await api().put('/v1/sessions/batch').send({});
        expectError(put, 405, 'METHOD_NOT_ALLOWED');
        expect(put.headers.allow).toBe('POST, GET, HEAD, DELETE');
        expect((await api().delete('/v1/sessions/batch')).status).toBe(204);
        await expectNotCreated('batch');
      });

      it('answers 413 past its own body limit, which it names', async () => {
        const padding = 'x'.repeat(4000);
        const sessions = Array.from({ length: 1100 }, (_, i) => board(`pad-${i}`, { metadata: { padding } }));
        const error = expectError(await postBatch({ sessions }), 413, 'PAYLOAD_TOO_LARGE');
        expect(error.details).toEqual({ limit_bytes: BATCH_BODY_LIMIT_BYTES });
      });
    });

    describe('reset', () => {
      it('takes a running clock back to pending with its first clocks; the version goes on', async () => {
        const running = await runningChessClock();
        await sleep(20);
        await command(running.session_id, 'switch');
        const reset = await command(running.session_id, 'reset', { expected_version: 3 });
        expect(reset).toMatchObject({
          status: 'pending',
          version: 4,
          event: 'reset',
          active_participant_id: 'w',
          start_at: null,
          deadline_at: null,
        });
        for (const id of ['w', 'b']) {
          expect(participant(reset, id)).toMatchObject({
            time_remaining_ms: 300_000,
            time_used_ms: 0,
            cycle_count: 0,
          });
        }
        expect(await read(running.session_id)).toMatchObject({
          version: 4,
          status: 'pending',
          event: 'reset',
        });
        // It starts again as a new session would.
        expect(await command(running.session_id, 'start')).toMatchObject({ version: 5, status: 'running' });
      });

      it('brings back an expired session, and a pending one as a new version', async () => {
        const short = await create({
          session_id: uniqueId('short'),
          sync_mode: 'global',
          participants: [{ participant_id: 'p' }],
          total_time_ms: 1,
        });
        await command(short.session_id, 'start');
        await sleep(10);
        expect((await read(short.session_id)).status).toBe('expired');
        const back = await command(short.session_id, 'reset');
        expect(back).toMatchObject({ status: 'pending', time_remaining_ms: 1, event: 'reset' });
        const again = await command(short.session_id, 'reset');
        expect(again.version).toBe(back.version + 1);
      });

      it('refuses a stale expected_version, a bad body, an unknown or deleted session; nothing changes', async () => {
        const running = await runningChessClock();
        const stale = expectError(
          await postCommand(running.session_id, 'reset', { expected_version: 1 }),
          409,
          'VERSION_CONFLICT',
        );
        expect(stale.details).toEqual({ expected_version: 1, current_version: 2 });
        const bad = expectError(
          await postCommand(running.session_id, 'reset', { participant_id: 'w' }),
          400,
          'VALIDATION_ERROR',
        );
        expect(issuePaths(bad)).toEqual(['participant_id']);
        await expectUnchanged(running);

        expectError(await postCommand(uniqueId('nobody'), 'reset'), 404, 'SESSION_NOT_FOUND');
        expect((await api().delete(`/v1/sessions/${running.session_id}`)).status).toBe(204);
        expectError(await postCommand(running.session_id, 'reset'), 404, 'SESSION_NOT_FOUND');
        await expectNotCreated(running.session_id);
      });
    });

    describe('delete', () => {
      it('DELETE cancels and removes the session (204), after which it is not found', async () => {
        const before = await runningChessClock();
        const res = await api().delete(`/v1/sessions/${before.session_id}`).query({ expected_version: 2 });
        expect(res.status).toBe(204);
        expect(res.text).toBe('');
        await expectNotCreated(before.session_id);
      });

      it('DELETE with a stale or malformed expected_version leaves the session in place', async () => {
        const before = await runningChessClock();
        const stale = await api().delete(`/v1/sessions/${before.session_id}`).query({ expected_version: 1 });
        expect(expectError(stale, 409, 'VERSION_CONFLICT').details).toMatchObject({ current_version: 2 });
        const malformed = await api().delete(`/v1/sessions/${before.session_id}?expected_version=abc`);
        expect(issuePaths(expectError(malformed, 400, 'VALIDATION_ERROR'))).toEqual([
          'query.expected_version',
        ]);
        await expectUnchanged(before);
      });
    });

    describe('the session list', () => {
      interface ListPage {
        sessions: SessionView[];
        next_cursor: string | null;
      }

      async function listPage(query: Record<string, string | number>): Promise<ListPage> {
        const res = await api().get('/v1/sessions').query(query);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.headers['cache-control']).toBe('no-store');
        // The page the OpenAPI document describes (SessionList), every state a strict SessionView.
        const parsed = sessionListResponseSchema.safeParse(res.body);
        expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
        return res.body as ListPage;
      }

      /** Every page, following next_cursor; each but the last is `limit` long. */
      async function walk(query: Record<string, string | number>, limit: number): Promise<SessionView[]> {
        const all: SessionView[] = [];
        let cursor: string | null = null;
        do {
          const page = await listPage({ ...query, limit, ...(cursor === null ? {} : { cursor }) });
          cursor = page.next_cursor;
          if (cursor !== null) expect(page.sessions).toHaveLength(limit);
          all.push(...page.sessions);
        } while (cursor !== null);
        return all;
      }

      const idsOf = (views: SessionView[]): string[] => views.map((view) => view.session_id);

      it('pages through every session in id order, as GET shows each; status filters', async () => {
        const running = await runningChessClock();
        const pending = await create({
          session_id: uniqueId('list'),
          sync_mode: 'global',
          participants: [{ participant_id: 'host' }],
          total_time_ms: 60_000,
        });
        const deleted = await runningChessClock();
        expect((await api().delete(`/v1/sessions/${deleted.session_id}`)).status).toBe(204);

        const all = await walk({}, 7);
        const ids = idsOf(all);
        expect(ids).toEqual([...ids].sort());
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids).toContain(pending.session_id);
        expect(ids).not.toContain(deleted.session_id);
        const listed = all.find((view) => view.session_id === running.session_id);
        expect(listed).toMatchObject({
          version: running.version,
          status: 'running',
          participants: running.participants.map((p) => ({ participant_id: p.participant_id })),
        });

        const runningIds = idsOf(await walk({ status: 'running' }, 3));
        expect(runningIds).toContain(running.session_id);
        expect(runningIds).not.toContain(pending.session_id);
        // The filter is on the stored status: a session whose time ran out but whose expiry is not
        // stored yet is still listed under running (and shown expired, as GET shows it).
        const shownRunning = ids.filter(
          (id) => all.find((view) => view.session_id === id)?.status === 'running',
        );
        for (const id of shownRunning) expect(runningIds).toContain(id);
        expect(runningIds.every((id) => ids.includes(id))).toBe(true);
        const pendingIds = idsOf(await walk({ status: 'pending' }, 500));
        expect(pendingIds).toContain(pending.session_id);
        expect(pendingIds).not.toContain(running.session_id);
        expect((await listPage({ status: 'cancelled' })).sessions).toEqual([]);
      });

      it('bad status, limit or cursor, or a cursor of another filter: 400 naming the field, nothing changed', async () => {
        const before = await runningChessClock();
        await runningChessClock();
        const first = await listPage({ status: 'running', limit: 1 });
        expect(first.next_cursor).toEqual(expect.any(String));

        const refusals: [Record<string, string>, string][] = [
          [{ status: 'finished' }, 'query.status'],
          [{ limit: '0' }, 'query.limit'],
          [{ limit: '501' }, 'query.limit'],
          [{ limit: 'ten' }, 'query.limit'],
          [{ cursor: 'not a cursor' }, 'query.cursor'],
          [{ cursor: Buffer.from('running/').toString('base64url') }, 'query.cursor'],
          [{ cursor: Buffer.from('finished/x').toString('base64url') }, 'query.cursor'],
          [{ cursor: `${first.next_cursor}A` }, 'query.cursor'],
          // A cursor returned for `running`, used without a filter or with another one.
          [{ cursor: first.next_cursor! }, 'query.cursor'],
          [{ cursor: first.next_cursor!, status: 'pending' }, 'query.cursor'],
          [{ order: 'desc' }, 'query.order'],
        ];
        for (const [query, path] of refusals) {
          const error = expectError(await api().get('/v1/sessions').query(query), 400, 'VALIDATION_ERROR');
          expect(issuePaths(error), JSON.stringify(query)).toEqual([path]);
        }
        await expectUnchanged(before);
        // The cursor still works with the filter it was returned for.
        const second = await listPage({ status: 'running', limit: 1, cursor: first.next_cursor! });
        expect(second.sessions[0]!.session_id > first.sessions[0]!.session_id).toBe(true);
      });
    });

    describe('time, health, readiness and metrics', () => {
      it('GET /v1/time answers the server time', async () => {
        const before = Date.now();
        const res = await api().get('/v1/time');
        const after = Date.now();
        expect(res.status).toBe(200);
        expect(Object.keys(res.body as object)).toEqual(['server_time']);
        const serverTime = (res.body as { server_time: number }).server_time;
        expect(Number.isInteger(serverTime)).toBe(true);
        expect(serverTime).toBeGreaterThan(before - 1000);
        expect(serverTime).toBeLessThan(after + 1000);
      });

      it('GET /health is ok and GET /ready names the store that answered', async () => {
        const health = await api().get('/health');
        expect(health.status).toBe(200);
        expect(health.body).toEqual({ status: 'ok' });
        const ready = await api().get('/ready');
        expect(ready.status).toBe(200);
        expect(ready.body).toEqual({ status: 'ready', store: name });
      });

      it('GET /metrics exposes the command latency histogram and error counts in Prometheus text', async () => {
        const before = await runningChessClock();
        await command(before.session_id, 'switch');
        await postCommand(before.session_id, 'switch', { expected_version: 1 });
        const res = await api().get('/metrics');
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toMatch(/^text\/plain/);
        expect(res.text).toMatch(
          /synckairos_command_duration_seconds_bucket\{le="0\.0001",command="switch"\} \d+/,
        );
        expect(res.text).toMatch(/synckairos_command_duration_seconds_count\{command="switch"\} [1-9]\d*/);
        expect(res.text).toMatch(/synckairos_http_errors_total\{code="VERSION_CONFLICT"\} [1-9]\d*/);
        expect(res.text).toMatch(/process_cpu_user_seconds_total/);
      });
    });
  });
}
