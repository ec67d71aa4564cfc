// The client SDK against the real service, started in this process: embedded mode, and
// distributed mode on a private redis-server for the restart test.
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  createClient,
  SyncKairosApiError,
  type ConnectOptions,
  type SessionView,
  type SyncKairosClient,
  type SyncKairosHandle,
} from '@synckairos/client';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { performanceEpochMs, trueOffsetOfPerformanceClockMs } from '../helpers/performanceClock.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';
import { testDataDir } from '../helpers/testDataDir.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function start(env: Record<string, string> = {}): Promise<RunningServer> {
  return startServer(
    loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', DATA_DIR: testDataDir(), ...env }),
  );
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

async function webSocketConnections(server: RunningServer): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Number(/^synckairos_websocket_connections (\d+)/m.exec(text)?.[1] ?? Number.NaN);
}

let sessionSeq = 0;
async function chessClock(api: SyncKairosClient, totalTimeMs = 300_000): Promise<string> {
  const id = `sdk-${process.pid}-${++sessionSeq}`;
  await api.createSession({
    session_id: id,
    sync_mode: 'per_participant',
    participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
    total_time_ms: totalTimeMs,
  });
  return id;
}

describe('client SDK on an embedded server', () => {
  let server: RunningServer;
  let api: SyncKairosClient;
  const handles: SyncKairosHandle[] = [];

  async function open(sessionId: string, options: Partial<ConnectOptions> = {}): Promise<SyncKairosHandle> {
    const handle = await connect({ url: server.url, sessionId, ...options });
    handles.push(handle);
    return handle;
  }

  beforeAll(async () => {
    server = await start();
    api = createClient({ url: server.url });
  });

  afterEach(async () => {
    await Promise.all(handles.splice(0).map((h) => h.close()));
  });

  afterAll(async () => {
    await server?.close();
  });

  it('connect resolves with the first state and a clock sync', async () => {
    const id = await chessClock(api);
    const handle = await open(id);
    expect(handle.state).toMatchObject({ session_id: id, status: 'pending', version: 1 });
    expect(handle.connectionStatus).toBe('connected');
    expect(Number.isFinite(handle.offsetMs)).toBe(true);
    expect(handle.roundTripMs).toBeGreaterThan(0);
    expect(handle.uncertaintyMs).toBeGreaterThanOrEqual(0);
  });

  it('remaining() of the running participant runs down and matches a fresh REST read', async () => {
    const id = await chessClock(api);
    const handle = await open(id);
    const started = await handle.start();
    expect(started.status).toBe('running');
    expect(handle.state.version).toBe(started.version);

    const firstAtMs = handle.now();
    const first = handle.remaining('white', firstAtMs) as number;
    await sleep(100);
    const secondAtMs = handle.now();
    const second = handle.remaining('white', secondAtMs) as number;
    expect(secondAtMs - firstAtMs).toBeGreaterThanOrEqual(99);
    expect(first - second).toBeCloseTo(secondAtMs - firstAtMs, 6);
    expect(handle.remaining('black')).toBe(300_000);

    const beforeMs = handle.now();
    const fresh = await api.getSession(id);
    const afterMs = handle.now();
    const restRemaining = fresh.participants.find((p) => p.participant_id === 'white')!.time_remaining_ms!;
    // The server read its clock while the request was out, by our estimate of its clock too…
    expect(fresh.server_time).toBeGreaterThanOrEqual(Math.floor(beforeMs) - 2);
    expect(fresh.server_time).toBeLessThanOrEqual(afterMs + 2);
    // …and the local formula gives the server's answer at the server's moment.
    expect(handle.remaining('white', fresh.server_time)).toBe(restRemaining);
    expect(
      Math.abs(handle.remaining('white', (beforeMs + afterMs) / 2)! - restRemaining),
    ).toBeLessThanOrEqual(Math.max(10, afterMs - beforeMs));
  });

  it('estimates a client clock 5 s ahead within 2 ms of the truth', async ({ annotate }) => {
    const id = await chessClock(api);
    const skewMs = 5_000;
    const handle = await open(id, { clock: { nowMs: () => performanceEpochMs() + skewMs } });
    const truthMs = trueOffsetOfPerformanceClockMs() - skewMs;
    const errorMs = handle.offsetMs - truthMs;
    await annotate(
      `offset error ${errorMs.toFixed(3)} ms (uncertainty ±${handle.uncertaintyMs.toFixed(3)} ms, ` +
        `best round trip ${handle.roundTripMs.toFixed(3)} ms)`,
    );
    expect(Math.abs(errorMs)).toBeLessThanOrEqual(2);
    // The uncertainty it reports is a true bound (give or take the truth's own few µs).
    expect(Math.abs(errorMs)).toBeLessThanOrEqual(handle.uncertaintyMs + 0.05);
    // now() counts on the monotonic clock with the same offset: it reads the server's clock.
    const performanceToServerMs = trueOffsetOfPerformanceClockMs();
    expect(Math.abs(handle.now() - (performanceEpochMs() + performanceToServerMs))).toBeLessThanOrEqual(2);
  });

  it('runs a cue list: createSession with cycles, switch with nextCycleIndex over REST and the socket', async () => {
    const id = `sdk-cues-${process.pid}-${++sessionSeq}`;
    const created = await api.createSession({
      session_id: id,
      sync_mode: 'per_cycle',
      participants: [{ participant_id: 'host' }],
      cycles: ['Welcome', 'Talk', 'Panel', 'Close'].map((label) => ({ label, duration_ms: 60_000 })),
    });
    expect(created).toMatchObject({ cycle_index: 0, over_under_ms: 0 });
    await api.start(id);
    const talk = await api.switch(id, { nextCycleIndex: 1 });
    expect(talk.cycle_index).toBe(1);
    const handle = await open(id);
    const close = await handle.switch({ nextCycleIndex: 3 });
    expect(close).toMatchObject({ cycle_index: 3 });
    expect(close.cycles?.map((cue) => cue.actual_ms === null)).toEqual([false, false, true, true]);
  });

  it('switch, pause and resume resolve with the new state; a refused command rejects and changes nothing', async () => {
    const id = await chessClock(api);
    const handle = await open(id);
    const seen: number[] = [];
    handle.on('state', (state) => seen.push(state.version));
    await handle.start();

    const switched = await handle.switch({ expectedVersion: 2 });
    expect(switched).toMatchObject({ version: 3, event: 'switched', active_participant_id: 'black' });
    const paused = await handle.pause();
    expect(paused).toMatchObject({ version: 4, status: 'paused' });
    // The same version may arrive first as a STATE (a later snapshot of it): either is applied, once.
    expect(handle.state).toMatchObject({ version: 4, status: 'paused' });
    const stateBefore = handle.state;

    const refused = await handle.switch().catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(SyncKairosApiError);
    expect(refused).toMatchObject({ code: 'INVALID_STATE', status: 409 });
    expect(handle.state).toBe(stateBefore);

    const conflict = await handle.resume({ expectedVersion: 2 }).catch((err: unknown) => err);
    expect(conflict).toMatchObject({ code: 'VERSION_CONFLICT', details: { current_version: 4 } });

    const resumed = await handle.resume();
    expect(resumed).toMatchObject({ version: 5, status: 'running', active_participant_id: 'black' });
    expect(seen).toEqual([2, 3, 4, 5]);
  });

  it('reset over the socket and over REST resolves with the session pending again, its clocks full', async () => {
    const id = await chessClock(api, 60_000);
    const handle = await open(id);
    await handle.start();
    await handle.switch();
    const reset = await handle.reset({ expectedVersion: 3 });
    expect(reset).toMatchObject({
      version: 4,
      status: 'pending',
      event: 'reset',
      active_participant_id: 'white',
    });
    expect(handle.remaining('black')).toBe(60_000);
    expect(await api.reset(id, { expectedVersion: 4 })).toMatchObject({ version: 5, event: 'reset' });
  });

  it("emits 'expired' when the running clock runs out", async () => {
    const id = await chessClock(api, 200);
    const handle = await open(id);
    const expired = new Promise<SessionView>((resolve) => handle.on('expired', resolve));
    await handle.start();
    const state = await expired;
    expect(state).toMatchObject({ status: 'expired', event: 'expired' });
    expect(handle.state).toBe(state);
    expect(handle.remaining('white')).toBe(0);
  });

  it("phase() names the server's phase at the crossing, before its phase_changed STATE arrives", async () => {
    const id = `sdk-${process.pid}-${++sessionSeq}`;
    await api.createSession({
      session_id: id,
      sync_mode: 'global',
      participants: [{ participant_id: 'stage' }],
      total_time_ms: 400,
      on_expire: 'overtime',
      phases: [{ name: 'wrap-up', remaining_ms: 200 }],
    });
    const handle = await open(id);
    const changed = new Promise<SessionView>((resolve) =>
      handle.on('state', (state) => state.event === 'phase_changed' && resolve(state)),
    );
    const overtime = new Promise<SessionView>((resolve) =>
      handle.on('state', (state) => state.event === 'overtime' && resolve(state)),
    );
    const started = await handle.start();
    const startAt = started.start_at!;
    expect(handle.sessionPhase(startAt + 199)).toBeNull();
    expect(handle.sessionPhase(startAt + 200)).toBe('wrap-up');
    expect(handle.sessionPhase(startAt + 400)).toBe('overtime');
    // global: the participant's clock is the session's.
    expect(handle.phase('stage', startAt + 200)).toBe('wrap-up');
    expect((await changed).phase).toBe(handle.sessionPhase((await changed).server_time));
    expect((await overtime).phase).toBe('overtime');
    expect(handle.sessionPhase()).toBe('overtime');
  });

  it('now() never goes back across re-syncs, even when the device clock steps', async () => {
    const id = await chessClock(api);
    const skew = { ms: 5_000 };
    const handle = await open(id, { clock: { nowMs: () => performanceEpochMs() + skew.ms } });
    const offsetBeforeMs = handle.offsetMs;

    let samples = 0;
    let wentBack = 0;
    let stop = false;
    const sampler = (async () => {
      let previousMs = handle.now();
      while (!stop) {
        for (let i = 0; i < 500; i++) {
          const nowMs = handle.now();
          if (nowMs < previousMs) wentBack++;
          previousMs = nowMs;
          samples++;
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();

    await sleep(30);
    skew.ms = 5_000 - 150; // steps back
    await handle.sync();
    expect(Math.abs(handle.offsetMs - offsetBeforeMs - 150)).toBeLessThanOrEqual(2);
    await sleep(30);
    skew.ms = 5_000 + 400; // steps forward
    await handle.sync();
    await handle.sync();
    await sleep(30);
    stop = true;
    await sampler;

    expect(samples).toBeGreaterThan(1_000);
    expect(wentBack).toBe(0);
    expect(Math.abs(handle.offsetMs - offsetBeforeMs + 400)).toBeLessThanOrEqual(2);
    // The device clock's steps showed in offsetMs only; now() stayed on the server's time.
    const performanceToServerMs = trueOffsetOfPerformanceClockMs();
    expect(Math.abs(handle.now() - (performanceEpochMs() + performanceToServerMs))).toBeLessThanOrEqual(2);
  });

  it('the REST helper creates a batch at one start instant and lists sessions a page at a time', async () => {
    const prefix = `round-${process.pid}-${++sessionSeq}`;
    const startAt = (await api.getServerTime()) + 60_000;
    const boards = ['a', 'b', 'c'].map((board) => ({
      session_id: `${prefix}-${board}`,
      sync_mode: 'per_participant' as const,
      participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
      total_time_ms: 300_000,
    }));
    const created = await api.createSessions(boards, { startAt });
    expect(created.map((s) => [s.session_id, s.start_at])).toEqual(
      boards.map((b) => [b.session_id, startAt]),
    );

    const listed: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.listSessions({ status: 'running', limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.sessions.length).toBeLessThanOrEqual(2);
      listed.push(...page.sessions.map((s) => s.session_id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    expect(listed.filter((id) => id.startsWith(prefix))).toEqual(boards.map((b) => b.session_id));
    expect(listed).toEqual([...listed].sort());
  });

  it('the REST helper throws the error shape as SyncKairosApiError', async () => {
    const missing = await api.getSession('no-such-session').catch((err: unknown) => err);
    expect(missing).toBeInstanceOf(SyncKairosApiError);
    expect(missing).toMatchObject({
      status: 404,
      code: 'SESSION_NOT_FOUND',
      details: { session_id: 'no-such-session' },
    });
    const invalid = await api
      .createSession({ sync_mode: 'per_participant', participants: [] })
      .catch((err: unknown) => err);
    expect(invalid).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
    // The embedded server's clock is this machine's: its time falls within the call, give or take
    // the two processes' millisecond rounding.
    const sentAtMs = Date.now();
    const serverTimeMs = await api.getServerTime();
    const answeredAtMs = Date.now();
    expect(serverTimeMs).toBeGreaterThanOrEqual(sentAtMs - 2);
    expect(serverTimeMs).toBeLessThanOrEqual(answeredAtMs + 2);
  });

  it('connect rejects for a session that does not exist', async () => {
    const err = await connect({ url: server.url, sessionId: 'nope' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SESSION_NOT_FOUND' });
  });
});

describe('client SDK on a distributed server: restarts and closing', () => {
  let redis: RedisServerHandle;
  const servers: RunningServer[] = [];
  const handles: SyncKairosHandle[] = [];

  async function startDistributed(port = 0): Promise<RunningServer> {
    const server = await start({ PORT: String(port), REDIS_URL: redis.url });
    servers.push(server);
    return server;
  }

  beforeAll(async () => {
    redis = await startRedisServer();
  });

  afterAll(async () => {
    await Promise.all(handles.map((h) => h.close()));
    for (const server of servers) await server.close();
    await redis?.close();
  });

  it('reconnects after a restart, catches up with what changed meanwhile, and versions only go forward', async () => {
    const first = await startDistributed();
    const other = await startDistributed();
    const api = createClient({ url: first.url });
    const id = await chessClock(api);
    await api.start(id);

    const handle = await connect({ url: first.url, sessionId: id });
    handles.push(handle);
    const versions: number[] = [];
    const connection: string[] = [];
    handle.on('state', (state) => versions.push(state.version));
    handle.on('connection', (status) => connection.push(status));
    const syncs: number[] = [];
    handle.on('sync', (sync) => syncs.push(sync.offsetMs));

    await first.close();
    await waitFor(() => connection.includes('reconnecting'));
    // While it is away, another instance takes a move.
    const moved = await createClient({ url: other.url }).switch(id);
    expect(moved.version).toBe(3);

    const restarted = await startDistributed(first.port);
    await waitFor(() => connection.includes('connected'), 15_000);
    expect(connection).toEqual(['reconnecting', 'connected']);
    expect(handle.state).toMatchObject({ version: 3, active_participant_id: 'black' });
    expect(syncs.length).toBeGreaterThanOrEqual(1);

    // Commands work on the new connection, and its fan-out reaches us.
    await handle.switch();
    await createClient({ url: restarted.url }).pause(id);
    await waitFor(() => handle.state.version === 5);
    expect(versions).toEqual([3, 4, 5]);
    for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThan(versions[i - 1]!);
  });

  it('a command while the connection is down rejects at once instead of waiting', async () => {
    const server = await startDistributed();
    const api = createClient({ url: server.url });
    const id = await chessClock(api);
    const handle = await connect({ url: server.url, sessionId: id, reconnect: { baseDelayMs: 5_000 } });
    handles.push(handle);
    const reconnecting = new Promise((resolve) => handle.on('connection', resolve));
    await server.close();
    await reconnecting;
    await expect(handle.start()).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });

  it('close() closes the socket, and stops reconnecting even while away', async () => {
    const server = await startDistributed();
    const api = createClient({ url: server.url });
    const id = await chessClock(api);
    const handle = await connect({ url: server.url, sessionId: id });
    expect(await webSocketConnections(server)).toBe(1);
    const events: string[] = [];
    handle.on('connection', (status) => events.push(status));
    await Promise.all([handle.close(), handle.close()]);
    await handle.close();
    await waitFor(async () => (await webSocketConnections(server)) === 0);
    expect(events).toEqual(['disconnected']);
    expect(handle.connectionStatus).toBe('disconnected');
    await expect(handle.switch()).rejects.toMatchObject({ code: 'CLOSED' });

    const away = await connect({ url: server.url, sessionId: id });
    const reconnecting = new Promise((resolve) => away.on('connection', resolve));
    await server.close();
    await reconnecting;
    await away.close();
    // Whatever listens on the port now sees nobody come back, over several backoff rounds.
    let attempts = 0;
    const listener = net.createServer((socket) => {
      attempts++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(server.port, '127.0.0.1', resolve));
    try {
      await sleep(1_500);
      expect(attempts).toBe(0);
      expect(away.connectionStatus).toBe('disconnected');
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
  });
});
