// Distributed mode loses nothing the audit trail has: two instances on one Redis and one
// PostgreSQL, sessions created, started, switched and paused; once the trail has caught up,
// FLUSHALL. Every session is served again at its last version (a `restored` event), to REST
// and to a WebSocket subscribe, racing instances restore each once, commands go on at version + 1, a running clock shows what it
// would have without the flush, and a deadline nobody asks about still fires, once, at its instant.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEventView } from '../../src/audit/AuditStore.js';
import type { SessionView } from '../../src/types/session.js';
import { chessClockInput } from '../helpers/fixtures.js';
import { callJson } from '../helpers/http.js';
import { distributedServers } from '../helpers/distributedServers.js';
import { until } from '../helpers/until.js';
import { openSocket } from '../helpers/wsClient.js';
import { startHttpService, type ServiceProcess } from '../helpers/serviceProcess.js';

interface Instance {
  service: ServiceProcess;
  http: string;
}

interface EventsPage {
  events: AuditEventView[];
  next_cursor: string | null;
}

const started: Instance[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function events(instance: Instance, sessionId: string): Promise<AuditEventView[]> {
  return (await callJson<EventsPage>(instance.http, 'GET', `/v1/sessions/${sessionId}/events?limit=500`))
    .events;
}

/** The participant's remaining plus the answer's server_time: constant while its clock runs. */
function flagInstant(view: SessionView, participantId: string): number {
  const participant = view.participants.find((p) => p.participant_id === participantId);
  return (participant?.time_remaining_ms ?? Number.NaN) + view.server_time;
}

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') {
    for (const { service } of started) {
      const tail = service.logs.slice(-20).map((line) => JSON.stringify(line));
      process.stderr.write(`instance ${service.proc.pid}:\n${tail.join('\n')}\n${service.stderr()}\n`);
    }
  }
});

describe('distributed mode after Redis lost everything', () => {
  const startServers = distributedServers();

  it('FLUSHALL once the trail caught up: every session is back at its version, commands go on, a deadline fires once', async () => {
    const { redis, env } = await startServers();
    const a = await startHttpService(env);
    const b = await startHttpService(env);
    started.push(a, b);

    // Three long games in play (running, switched twice, paused), one pending, and one short
    // clock that runs out after the flush with nobody asking about it.
    const views = new Map<string, SessionView>();
    const ids = ['game-1', 'game-2', 'game-3', 'pending-1'];
    for (const id of ids)
      views.set(id, await callJson(a.http, 'POST', '/v1/sessions', chessClockInput(id, 600_000)));
    for (const id of ['game-1', 'game-2', 'game-3']) {
      await callJson(a.http, 'POST', `/v1/sessions/${id}/start`);
      await callJson(b.http, 'POST', `/v1/sessions/${id}/switch`);
      views.set(id, await callJson(a.http, 'POST', `/v1/sessions/${id}/switch`));
    }
    views.set('game-3', await callJson(b.http, 'POST', '/v1/sessions/game-3/pause'));
    await callJson(a.http, 'POST', '/v1/sessions', chessClockInput('watched', 600_000));
    const watched = await callJson(a.http, 'POST', '/v1/sessions/watched/start');
    await callJson(a.http, 'POST', '/v1/sessions', chessClockInput('short', 6_000));
    const short = await callJson(a.http, 'POST', '/v1/sessions/short/start');
    expect(short.deadline_at).not.toBeNull();

    // The trail has caught up when its last version of every session is the one served.
    const all = [...views.entries(), ['short', short] as const, ['watched', watched] as const];
    await until(
      async () => {
        for (const [id, view] of all) {
          const recorded = await events(a, id);
          if (recorded.at(-1)?.version !== view.version) return undefined;
        }
        return true;
      },
      20_000,
      'the audit trail to catch up',
    );

    const admin = new Redis(redis.url);
    await admin.flushall();
    expect(await admin.dbsize()).toBe(0);

    // A WebSocket subscribe is a first access too: the snapshot is the restored session.
    const socket = await openSocket(`${b.http.replace('http', 'ws')}/v1/ws?session_id=watched`);
    const snapshot = await socket.nextState('watched', (state) => state.version === watched.version);
    expect(snapshot).toMatchObject({ event: 'restored', status: 'running' });
    await socket.close();

    // Both instances ask for every session at once: each is restored once, at its last version.
    for (const [id, before] of views) {
      const [fromA, fromB] = await Promise.all([
        callJson(a.http, 'GET', `/v1/sessions/${id}`),
        callJson(b.http, 'GET', `/v1/sessions/${id}`),
      ]);
      for (const after of [fromA, fromB]) {
        expect(after).toMatchObject({ version: before.version, status: before.status, event: 'restored' });
      }
      // Running: the clock stood nowhere during the loss, it is where it would be now.
      if (before.status === 'running') {
        const active = before.active_participant_id!;
        expect(flagInstant(fromA, active)).toBe(flagInstant(before, active));
        expect(fromA.time_remaining_ms).toBe(before.time_remaining_ms);
      } else {
        expect(fromA.participants).toEqual(before.participants);
      }
    }

    // Commands continue from the restored version, on either instance.
    const switched = await callJson(b.http, 'POST', '/v1/sessions/game-1/switch');
    expect(switched).toMatchObject({ version: views.get('game-1')!.version + 1, event: 'switched' });
    const resumed = await callJson(a.http, 'POST', '/v1/sessions/game-3/resume');
    expect(resumed).toMatchObject({ version: views.get('game-3')!.version + 1, status: 'running' });
    const begun = await callJson(b.http, 'POST', '/v1/sessions/pending-1/start');
    expect(begun).toMatchObject({ version: 2, status: 'running' });

    // Nobody asks for 'short': the sweep over the trail restores it and its flag falls once,
    // stamped at its deadline, whichever instance applies it.
    const expired = await until(
      async () => {
        const recorded = await events(a, 'short');
        return recorded.some((e) => e.event === 'expired') ? recorded : undefined;
      },
      30_000,
      "the short clock's expiry in the trail",
    );
    await sleep(2_000);
    const final = await events(b, 'short');
    expect(final.filter((e) => e.event === 'expired')).toHaveLength(1);
    expect(final.map((e) => e.version)).toEqual([1, 2, 3]);
    expect(expired.find((e) => e.event === 'expired')?.at).toBe(short.deadline_at);
    expect(await callJson(b.http, 'GET', '/v1/sessions/short')).toMatchObject({
      status: 'expired',
      version: 3,
    });

    // A session deleted after the flush is not brought back by the trail.
    expect((await fetch(`${a.http}/v1/sessions/game-2`, { method: 'DELETE' })).status).toBe(204);
    const gone = await fetch(`${b.http}/v1/sessions/game-2`);
    expect(gone.status).toBe(404);
    admin.disconnect();
  }, 120_000);
});
