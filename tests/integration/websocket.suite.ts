// The WebSocket transport, end to end: the whole service started in-process (startServer) over
// whichever store the setup chooses, clients over real sockets, changes made over REST and
// WebSocket. Tests wait for the messages they expect; timeouts are only generous bounds.
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClientOptions } from 'ws';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { createLogger } from '../../src/monitoring/logger.js';
import type { ParticipantView, SessionView } from '../../src/types/session.js';
import { openWebSocketConnections } from '../helpers/http.js';
import { testDataDir } from '../helpers/testDataDir.js';
import { openSocket, UpgradeRefusedError, type TestSocket } from '../helpers/wsClient.js';

export interface WebSocketSuiteSetup {
  /** Added to the environment of every server the suite starts: REDIS_URL, or nothing (embedded). */
  env: Record<string, string>;
  cleanup: () => Promise<void>;
}

/**
 * The shared servers' heartbeat is long enough that a client on a loaded machine (client and
 * server share this event loop) always answers in time; the heartbeat test uses a short one.
 */
const SHARED_HEARTBEAT_INTERVAL_MS = 2000;
const SHORT_HEARTBEAT_INTERVAL_MS = 200;

const BASE_ENV = {
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'silent',
  NODE_ENV: 'test',
  WS_HEARTBEAT_INTERVAL_MS: String(SHARED_HEARTBEAT_INTERVAL_MS),
} as const;

/** Small message and rate limits, for the hostile-input tests that break them. */
const TIGHT_LIMITS = { WS_MAX_MESSAGE_BYTES: '256', WS_MESSAGES_PER_SECOND: '5', WS_BURST_MESSAGES: '10' };
/**
 * No heartbeat to speak of (a paused client must be dropped for its unread data alone), three
 * connections per address, and bodies large enough to create a 1000-participant session.
 */
const QUIET_LIMITS = {
  WS_HEARTBEAT_INTERVAL_MS: '600000',
  WS_MAX_CONNECTIONS_PER_ADDRESS: '3',
  BODY_LIMIT_BYTES: String(1024 * 1024),
};

/** Embedded mode opens its audit database at startup, which a loaded machine makes slow. */
const SERVER_START_TIMEOUT_MS = 120_000;

/** Starts these servers together; if one fails, closes the others. */
async function startAll(envs: Record<string, string>[]): Promise<TestServer[]> {
  const results = await Promise.allSettled(envs.map((env) => startTestServer(env)));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(results.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
    throw failed.reason;
  }
  return results.map((r) => (r as PromiseFulfilledResult<TestServer>).value);
}

/** One client's burst of commands runs one at a time; on a loaded machine that takes a while. */
const BURST_TIMEOUT_MS = 30_000;

const silentLogger = createLogger({ logLevel: 'silent', nodeEnv: 'test' });

export interface TestServer {
  /** http://127.0.0.1:<port> */
  http: string;
  /** ws://127.0.0.1:<port>/v1/ws */
  ws: string;
  close(): Promise<void>;
}

/** The whole service in this process, on a free port, with a data directory of its own. */
export async function startTestServer(env: Record<string, string>): Promise<TestServer> {
  // Embedded mode keeps its audit trail under DATA_DIR; two servers must never share one.
  const dataDir = testDataDir();
  let running: RunningServer;
  try {
    running = await startServer(loadConfig({ ...BASE_ENV, DATA_DIR: dataDir, ...env }), {
      logger: silentLogger,
    });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    http: running.url,
    ws: `${running.url.replace(/^http/, 'ws')}/v1/ws`,
    close: async () => {
      await running.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function watchUrl(server: TestServer, sessionId: string): string {
  return `${server.ws}?session_id=${encodeURIComponent(sessionId)}`;
}

export function uniqueId(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

export async function rest(
  server: TestServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server.http}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
}

/** A REST call that must succeed; returns the state it answered. */
export async function restOk(
  server: TestServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<SessionView> {
  const res = await rest(server, method, path, body);
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
  return res.body as SessionView;
}

/** A pending chess clock (version 1): 5 minutes each, `w` moves first. */
export function createChessClock(
  server: TestServer,
  participants: string[] = ['w', 'b'],
  extra: Record<string, unknown> = {},
): Promise<SessionView> {
  return restOk(server, 'POST', '/v1/sessions', {
    session_id: uniqueId('ws'),
    sync_mode: 'per_participant',
    participants: participants.map((participant_id) => ({ participant_id })),
    total_time_ms: 300_000,
    ...extra,
  });
}

/** A running chess clock (version 2, `w` to move). */
export async function createRunningClock(server: TestServer, participants?: string[]): Promise<SessionView> {
  const created = await createChessClock(server, participants);
  return restOk(server, 'POST', `/v1/sessions/${created.session_id}/start`);
}

function participant(view: SessionView, id: string): ParticipantView {
  const found = view.participants.find((p) => p.participant_id === id);
  if (!found) throw new Error(`no participant '${id}' in ${JSON.stringify(view)}`);
  return found;
}

async function serverTime(server: TestServer): Promise<number> {
  const res = await rest(server, 'GET', '/v1/time');
  return (res.body as { server_time: number }).server_time;
}

/** Times differ between two sessions driven a few ms apart; whether a time is set does not. */
function withoutTimes(view: SessionView): unknown {
  const timeKeys = new Set([
    'server_time',
    'created_at',
    'updated_at',
    'cycle_started_at',
    'deadline_at',
    'start_at',
    'time_remaining_ms',
    'time_used_ms',
  ]);
  return JSON.parse(JSON.stringify(view), (key, value: unknown) => {
    if (key === 'session_id') return undefined;
    return timeKeys.has(key) && typeof value === 'number' ? '(a time)' : value;
  }) as unknown;
}

/** `promise`, or a failure naming what did not happen within `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

/** Each STATE is newer than every version sent before it (STATE or ACK); an ACK never goes back. */
function expectNeverBackwards(socket: TestSocket, sessionId: string): void {
  let newest = 0;
  for (const message of socket.messages) {
    if (message.state?.session_id !== sessionId) continue;
    const { version } = message.state;
    if (message.type === 'STATE') expect(version, `STATE ${version} after ${newest}`).toBeGreaterThan(newest);
    else expect(version, `${message.type} ${version} after ${newest}`).toBeGreaterThanOrEqual(newest);
    newest = Math.max(newest, version);
  }
}

/** The server's open WebSocket connections, from its metrics. */
function openConnections(server: TestServer): Promise<number> {
  return openWebSocketConnections(server.http);
}

function isStrictlyIncreasing(values: number[]): boolean {
  return values.every((value, i) => i === 0 || value > (values[i - 1] as number));
}

export function websocketSuite(name: string, setup: () => Promise<WebSocketSuiteSetup>): void {
  describe(`WebSocket transport (${name})`, () => {
    let env: Record<string, string>;
    let cleanup: () => Promise<void>;
    let server: TestServer;
    /** The servers with special settings, each shared by the tests that need it. */
    let tight: TestServer;
    let quiet: TestServer;
    let shortHeartbeat: TestServer;
    const sockets: TestSocket[] = [];

    // Starting servers is setup, not behaviour: it gets a bound of its own, not a test's.
    beforeAll(async () => {
      ({ env, cleanup } = await setup());
      const started = await startAll([
        env,
        { ...env, ...TIGHT_LIMITS },
        { ...env, ...QUIET_LIMITS },
        { ...env, WS_HEARTBEAT_INTERVAL_MS: String(SHORT_HEARTBEAT_INTERVAL_MS) },
      ]);
      [server, tight, quiet, shortHeartbeat] = started as [TestServer, TestServer, TestServer, TestServer];
    }, SERVER_START_TIMEOUT_MS);

    afterEach(async () => {
      await Promise.all(sockets.splice(0).map((socket) => socket.terminate()));
    });

    afterAll(async () => {
      await Promise.all([server, tight, quiet, shortHeartbeat].map((started) => started?.close()));
      await cleanup?.();
    });

    /** Opens a client that is closed after the test. */
    async function connect(url: string, options?: ClientOptions): Promise<TestSocket> {
      const socket = await openSocket(url, options);
      sockets.push(socket);
      return socket;
    }

    /** Opens a client on the session's URL and waits for its snapshot. */
    async function watch(sessionId: string, on: TestServer = server): Promise<TestSocket> {
      const socket = await connect(watchUrl(on, sessionId));
      await socket.nextState(sessionId);
      return socket;
    }

    /** Waits until the server has seen the earlier tests' clients go. */
    async function noConnectionsLeft(target: TestServer): Promise<void> {
      const deadline = Date.now() + 5000;
      while ((await openConnections(target)) > 0) {
        if (Date.now() > deadline) throw new Error('connections of earlier tests are still open');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    /** Expects the upgrade to be refused with this status and error code. */
    async function expectRefused(url: string, status: number, code: string): Promise<void> {
      const err = await openSocket(url).then(
        (socket) => {
          sockets.push(socket);
          throw new Error(`the upgrade to ${url} was accepted`);
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UpgradeRefusedError);
      const refused = err as UpgradeRefusedError;
      expect(refused.status).toBe(status);
      const body = JSON.parse(refused.body) as { error: { code: string; message: string } };
      expect(body.error.code).toBe(code);
      expect(body.error.message.length).toBeGreaterThan(0);
    }

    describe('subscriptions', () => {
      it('a session_id in the URL is answered with its snapshot: version 1, event created, as REST shows it', async () => {
        const created = await createChessClock(server);
        const socket = await connect(watchUrl(server, created.session_id));
        const first = await socket.next(() => true);
        expect(first.type).toBe('STATE');
        const state = first.state as SessionView;
        expect(state).toMatchObject({
          session_id: created.session_id,
          version: 1,
          event: 'created',
          status: 'pending',
        });
        const read = await restOk(server, 'GET', `/v1/sessions/${created.session_id}`);
        expect({ ...state, server_time: 0 }).toEqual({ ...read, server_time: 0 });
      });

      it('SUBSCRIBE to a second session sends its snapshot, then an ACK with the request_id', async () => {
        const first = await createChessClock(server);
        const second = await createRunningClock(server);
        const socket = await watch(first.session_id);
        socket.send({ type: 'SUBSCRIBE', session_id: second.session_id, request_id: 'sub-1' });
        const ack = await socket.next((m) => m.type === 'ACK' && m.request_id === 'sub-1');
        const snapshot = await socket.nextState(second.session_id);
        expect(snapshot).toMatchObject({ version: 2, event: 'started', status: 'running' });
        expect(socket.messages.indexOf(ack)).toBeGreaterThan(
          socket.messages.findIndex((m) => m.state?.session_id === second.session_id),
        );
      });

      it('a connection without a session in the URL receives nothing until it subscribes', async () => {
        const created = await createChessClock(server);
        const socket = await connect(server.ws);
        await restOk(server, 'POST', `/v1/sessions/${created.session_id}/start`);
        await socket.ping();
        expect(socket.messages.filter((m) => m.type === 'STATE')).toEqual([]);
        socket.send({ type: 'SUBSCRIBE', session_id: created.session_id });
        expect(await socket.nextState(created.session_id)).toMatchObject({ version: 2, event: 'started' });
      });

      it('after UNSUBSCRIBE a session’s changes stop arriving while another watched session’s still do', async () => {
        const left = await createChessClock(server);
        const kept = await createChessClock(server);
        const socket = await watch(left.session_id);
        socket.send({ type: 'SUBSCRIBE', session_id: kept.session_id });
        await socket.nextState(kept.session_id);

        const reply = await socket.request({ type: 'UNSUBSCRIBE', session_id: left.session_id });
        expect(reply.type).toBe('ACK');
        // Both are published in this order, so once `kept`'s change is here `left`'s would be too.
        await restOk(server, 'POST', `/v1/sessions/${left.session_id}/start`);
        await restOk(server, 'POST', `/v1/sessions/${kept.session_id}/start`);
        await socket.nextState(kept.session_id, (s) => s.version === 2);
        await socket.ping();
        expect(socket.states(left.session_id)).toEqual([1]);
        expect(socket.states(kept.session_id)).toEqual([1, 2]);
      });
    });

    describe('changes reach every watcher', () => {
      it('a change made over REST reaches every watching client as STATE with its event', async () => {
        const created = await createChessClock(server);
        const clients = await Promise.all([1, 2, 3].map(() => watch(created.session_id)));
        const steps: [string, string][] = [
          ['start', 'started'],
          ['switch', 'switched'],
          ['pause', 'paused'],
          ['resume', 'resumed'],
        ];
        for (const [command, event] of steps) {
          const after = await restOk(server, 'POST', `/v1/sessions/${created.session_id}/${command}`);
          expect(after.event).toBe(event);
          for (const client of clients) {
            const state = await client.nextState(created.session_id, (s) => s.version === after.version);
            expect(state.event).toBe(event);
            expect(state.status).toBe(after.status);
            expect(state.active_participant_id).toBe(after.active_participant_id);
          }
        }
        for (const client of clients) expect(client.states(created.session_id)).toEqual([1, 2, 3, 4, 5]);
      });

      it('a SWITCH over WebSocket is ACKed with its request_id and the new state, and other clients get the STATE', async () => {
        const running = await createRunningClock(server);
        const player = await watch(running.session_id);
        const others = await Promise.all([1, 2].map(() => watch(running.session_id)));

        const ack = await player.request({ type: 'SWITCH', request_id: 'move-1' });
        expect(ack.type).toBe('ACK');
        expect(ack.request_id).toBe('move-1');
        expect(ack.state).toMatchObject({
          session_id: running.session_id,
          version: 3,
          event: 'switched',
          active_participant_id: 'b',
        });
        for (const other of others) {
          const state = await other.nextState(running.session_id, (s) => s.version === 3);
          expect(state).toMatchObject({ event: 'switched', active_participant_id: 'b' });
        }
        const read = await restOk(server, 'GET', `/v1/sessions/${running.session_id}`);
        expect(read.version).toBe(3);
        expect(read.active_participant_id).toBe('b');
      });

      it('the sender of a SWITCH gets its ACK and no STATE of that version again; other watchers get the STATE', async () => {
        const running = await createRunningClock(server);
        const player = await watch(running.session_id);
        const other = await watch(running.session_id);
        const acked: number[] = [];
        for (let move = 0; move < 10; move++) {
          const ack = await player.request({ type: 'SWITCH' });
          expect(ack.type).toBe('ACK');
          acked.push((ack.state as SessionView).version);
        }
        // Fan-out reaches both clients in one pass: once the other has the last version, so has
        // the player, and its PONG comes after anything sent to it before.
        await other.nextState(running.session_id, (s) => s.version === acked.at(-1));
        await player.ping();
        expect(other.states(running.session_id)).toEqual([running.version, ...acked]);
        expect(player.states(running.session_id)).toEqual([running.version]);
      });

      it('a deadline reached by the scheduler reaches watchers as STATE expired', async () => {
        const created = await createChessClock(server, ['w', 'b'], { total_time_ms: 150 });
        const socket = await watch(created.session_id);
        await restOk(server, 'POST', `/v1/sessions/${created.session_id}/start`);
        const expired = await socket.nextState(created.session_id, (s) => s.status === 'expired');
        expect(expired.event).toBe('expired');
        expect(participant(expired, 'w')).toMatchObject({ has_expired: true, time_remaining_ms: 0 });
        expect(socket.states(created.session_id)).toEqual([1, 2, 3]);
      });

      it('the DELETE of a session reaches watchers as a STATE with status cancelled', async () => {
        const running = await createRunningClock(server);
        const watchers = await Promise.all([1, 2].map(() => watch(running.session_id)));
        const res = await rest(server, 'DELETE', `/v1/sessions/${running.session_id}`);
        expect(res.status).toBe(204);
        for (const watcher of watchers) {
          const last = await watcher.nextState(running.session_id, (s) => s.version === 3);
          expect(last).toMatchObject({ status: 'cancelled', event: 'cancelled' });
          expect(watcher.isOpen).toBe(true);
        }
        expect((await rest(server, 'GET', `/v1/sessions/${running.session_id}`)).status).toBe(404);
      });

      it('PING is answered with PONG echoing client_time and a server_time between two REST /v1/time readings', async () => {
        const socket = await connect(server.ws);
        const before = await serverTime(server);
        socket.send({ type: 'PING', client_time: 48211.5 });
        const pong = await socket.next((m) => m.type === 'PONG');
        const after = await serverTime(server);
        expect(pong.client_time).toBe(48211.5);
        expect(typeof pong.server_time).toBe('number');
        expect(pong.server_time).toBeGreaterThanOrEqual(before);
        expect(pong.server_time).toBeLessThanOrEqual(after);
      });
    });

    describe('commands over WebSocket', () => {
      it('START, SWITCH to a named participant, PAUSE, ADJUST, RESUME, COMPLETE and RESET do what REST does', async () => {
        const players = ['w', 'b', 'c'];
        const viaRest = await createChessClock(server, players);
        const viaWs = await createChessClock(server, players);
        const socket = await watch(viaWs.session_id);
        const restPath = (command: string) => `/v1/sessions/${viaRest.session_id}/${command}`;

        const steps: { body: Record<string, unknown>; event: string }[] = [
          { body: { type: 'START' }, event: 'started' },
          { body: { type: 'SWITCH', next_participant_id: 'c' }, event: 'switched' },
          { body: { type: 'PAUSE' }, event: 'paused' },
          { body: { type: 'ADJUST', participant_id: 'b', delta_ms: 5000 }, event: 'adjusted' },
          { body: { type: 'RESUME' }, event: 'resumed' },
          { body: { type: 'COMPLETE' }, event: 'completed' },
          { body: { type: 'RESET' }, event: 'reset' },
        ];
        for (const [i, { body, event }] of steps.entries()) {
          const { type, ...fields } = body;
          const fromRest = await restOk(server, 'POST', restPath(String(type).toLowerCase()), fields);
          const before = await restOk(server, 'GET', `/v1/sessions/${viaWs.session_id}`);
          const ack = await socket.request({ ...body, request_id: `step-${i}` });
          expect(ack.type, JSON.stringify(ack)).toBe('ACK');
          const fromWs = ack.state as SessionView;
          expect(fromWs.event).toBe(event);
          expect(fromWs.version).toBe(before.version + 1);
          expect(withoutTimes(fromWs)).toEqual(withoutTimes(fromRest));
          expect(await restOk(server, 'GET', `/v1/sessions/${viaWs.session_id}`)).toMatchObject({
            version: fromWs.version,
            status: fromWs.status,
            event,
          });
          if (type === 'ADJUST') {
            // Paused, so no clock runs: the adjustment is exact.
            expect(participant(fromWs, 'b').time_remaining_ms).toBe(
              (participant(before, 'b').time_remaining_ms as number) + 5000,
            );
          }
        }
        const final = await restOk(server, 'GET', `/v1/sessions/${viaWs.session_id}`);
        // Completed at version 7, then reset: pending again with the first clocks.
        expect(final).toMatchObject({ status: 'pending', version: 8, active_participant_id: 'w' });
        for (const id of players) {
          expect(participant(final, id)).toMatchObject({ cycle_count: 0, time_used_ms: 0 });
        }
      });

      it('a RESET over WebSocket reaches the other watchers as STATE reset', async () => {
        const running = await createRunningClock(server);
        const arbiter = await watch(running.session_id);
        const other = await watch(running.session_id);
        const ack = await arbiter.request({ type: 'RESET', request_id: 'again', expected_version: 2 });
        expect(ack).toMatchObject({ type: 'ACK', request_id: 'again' });
        expect(ack.state).toMatchObject({ version: 3, status: 'pending', event: 'reset' });
        const state = await other.nextState(running.session_id, (s) => s.version === 3);
        expect(state).toMatchObject({ status: 'pending', event: 'reset', start_at: null });
      });

      it('commands sent back to back on one connection are applied in the order sent', async () => {
        for (let round = 0; round < 5; round++) {
          const created = await createChessClock(server);
          const socket = await watch(created.session_id);
          const replies = Promise.all([
            socket.request({ type: 'START', request_id: 'a' }),
            socket.request({ type: 'SWITCH', request_id: 'b' }),
            socket.request({ type: 'PAUSE', request_id: 'c' }),
            socket.request({ type: 'RESUME', request_id: 'd' }),
          ]);
          const [start, switched, paused, resumed] = await replies;
          expect([start, switched, paused, resumed].map((r) => r?.error?.code ?? r?.state?.event)).toEqual([
            'started',
            'switched',
            'paused',
            'resumed',
          ]);
          expect([start, switched, paused, resumed].map((r) => r?.state?.version)).toEqual([2, 3, 4, 5]);
        }
      });

      it('a command names its session by session_id, or goes to the only one the connection watches', async () => {
        const first = await createChessClock(server);
        const second = await createChessClock(server);
        const socket = await connect(server.ws);

        const none = await socket.request({ type: 'START' });
        expect(none.error?.code).toBe('VALIDATION_ERROR');

        socket.send({ type: 'SUBSCRIBE', session_id: first.session_id });
        await socket.nextState(first.session_id);
        const implicit = await socket.request({ type: 'START' });
        expect(implicit.state).toMatchObject({ session_id: first.session_id, event: 'started' });

        const named = await socket.request({ type: 'START', session_id: second.session_id });
        expect(named.state).toMatchObject({ session_id: second.session_id, event: 'started' });
        expect((await restOk(server, 'GET', `/v1/sessions/${second.session_id}`)).version).toBe(2);
      });
    });

    describe('refused commands: an ERROR with the request_id, the connection stays, nothing changes', () => {
      it('invalid fields are VALIDATION_ERROR naming the field', async () => {
        const running = await createRunningClock(server);
        const socket = await watch(running.session_id);
        const cases: [Record<string, unknown>, string][] = [
          [{ type: 'ADJUST', participant_id: 'w', delta_ms: 'lots' }, 'delta_ms'],
          [{ type: 'ADJUST', participant_id: 'w', delta_ms: 0 }, 'delta_ms'],
          [{ type: 'SWITCH', next_participant_id: 'ghost' }, 'next_participant_id'],
          [{ type: 'SWITCH', expected_version: -3 }, 'expected_version'],
          [{ type: 'PAUSE', session_id: 'has space' }, 'session_id'],
        ];
        for (const [i, [body, field]] of cases.entries()) {
          const reply = await socket.request({ ...body, request_id: `bad-${i}` });
          expect(reply, JSON.stringify(reply)).toMatchObject({
            type: 'ERROR',
            request_id: `bad-${i}`,
            error: { code: 'VALIDATION_ERROR' },
          });
          const issues = (reply.error?.details as { issues: { path: string }[] }).issues;
          expect(issues.map((issue) => issue.path)).toContain(field);
        }
        await socket.ping();
        expect(socket.isOpen).toBe(true);
        expect((await restOk(server, 'GET', `/v1/sessions/${running.session_id}`)).version).toBe(2);
        expect(socket.states(running.session_id)).toEqual([2]);
        // Still usable for real commands.
        expect((await socket.request({ type: 'SWITCH' })).state?.version).toBe(3);
      });

      it('a SWITCH on a paused session is INVALID_STATE', async () => {
        const running = await createRunningClock(server);
        const paused = await restOk(server, 'POST', `/v1/sessions/${running.session_id}/pause`);
        const socket = await watch(running.session_id);
        const reply = await socket.request({ type: 'SWITCH', request_id: 'on-paused' });
        expect(reply).toMatchObject({
          type: 'ERROR',
          request_id: 'on-paused',
          error: { code: 'INVALID_STATE' },
        });
        await socket.ping();
        expect(await restOk(server, 'GET', `/v1/sessions/${running.session_id}`)).toMatchObject({
          version: paused.version,
          status: 'paused',
          active_participant_id: 'w',
        });
      });

      it('a stale expected_version is VERSION_CONFLICT with the current version', async () => {
        const running = await createRunningClock(server);
        const socket = await watch(running.session_id);
        const reply = await socket.request({ type: 'SWITCH', expected_version: 1, request_id: 'stale' });
        expect(reply).toMatchObject({
          type: 'ERROR',
          request_id: 'stale',
          error: { code: 'VERSION_CONFLICT', details: { expected_version: 1, current_version: 2 } },
        });
        expect((await socket.request({ type: 'SWITCH', expected_version: 2 })).state?.version).toBe(3);
        expect((await restOk(server, 'GET', `/v1/sessions/${running.session_id}`)).version).toBe(3);
      });

      it('SUBSCRIBE to an unknown session is SESSION_NOT_FOUND and the connection stays usable', async () => {
        const socket = await connect(server.ws);
        const missing = uniqueId('missing');
        const reply = await socket.request({ type: 'SUBSCRIBE', session_id: missing, request_id: 'sub-x' });
        expect(reply).toMatchObject({
          type: 'ERROR',
          request_id: 'sub-x',
          error: { code: 'SESSION_NOT_FOUND' },
        });
        const pong = await socket.ping();
        expect(pong.type).toBe('PONG');

        // Subscribing to it once it exists works on the same connection.
        const created = await restOk(server, 'POST', '/v1/sessions', {
          session_id: missing,
          sync_mode: 'per_participant',
          participants: [{ participant_id: 'w' }],
          total_time_ms: 1000,
        });
        socket.send({ type: 'SUBSCRIBE', session_id: created.session_id });
        expect((await socket.nextState(missing)).version).toBe(1);
      });

      it('an unknown session in the URL is an ERROR SESSION_NOT_FOUND, and the connection stays usable', async () => {
        const socket = await connect(watchUrl(server, uniqueId('missing')));
        const error = await socket.next((m) => m.type === 'ERROR');
        expect(error).toMatchObject({ request_id: null, error: { code: 'SESSION_NOT_FOUND' } });
        await socket.ping();
        expect(socket.isOpen).toBe(true);
      });
    });

    describe('hostile input closes only the offending connection, after an ERROR saying why', () => {
      const cases: {
        what: string;
        /** On the server with TIGHT_LIMITS. */
        onTightServer?: boolean;
        misbehave: (socket: TestSocket) => void;
        code: string;
        closeCode: number;
      }[] = [
        {
          what: 'a text frame that is not JSON',
          misbehave: (s) => s.sendRaw('{"type": "PING", oops'),
          code: 'VALIDATION_ERROR',
          closeCode: 1008,
        },
        {
          what: 'a binary frame, even of valid JSON',
          misbehave: (s) => s.sendRaw(Buffer.from('{"type":"PING","client_time":1}'), { binary: true }),
          code: 'VALIDATION_ERROR',
          closeCode: 1008,
        },
        {
          what: 'JSON null',
          misbehave: (s) => s.sendRaw('null'),
          code: 'VALIDATION_ERROR',
          closeCode: 1008,
        },
        {
          what: 'an unknown message type',
          misbehave: (s) => s.send({ type: 'SELF_DESTRUCT', request_id: 'x' }),
          code: 'VALIDATION_ERROR',
          closeCode: 1008,
        },
        {
          what: 'an unknown type of long non-ASCII text (echoed in the close reason)',
          misbehave: (s) => s.send({ type: 'é'.repeat(200) }),
          code: 'VALIDATION_ERROR',
          closeCode: 1008,
        },
        {
          what: 'a message over WS_MAX_MESSAGE_BYTES',
          onTightServer: true,
          misbehave: (s) => s.send({ type: 'PING', client_time: 1, pad: 'x'.repeat(300) }),
          code: 'PAYLOAD_TOO_LARGE',
          closeCode: 1009,
        },
        {
          what: 'a flood over the message rate',
          onTightServer: true,
          misbehave: (s) => {
            for (let i = 0; i < 50; i++) s.send({ type: 'PING', client_time: i });
          },
          code: 'RATE_LIMITED',
          closeCode: 1008,
        },
      ];

      for (const { what, onTightServer, misbehave, code, closeCode } of cases) {
        it(`${what}: ERROR ${code}, then close ${closeCode}; another client on the session keeps receiving`, async () => {
          const target = onTightServer ? tight : server;
          const running = await createRunningClock(target);
          const bystander = await watch(running.session_id, target);
          const offender = await watch(running.session_id, target);

          misbehave(offender);
          const error = await offender.next((m) => m.type === 'ERROR');
          expect(error).toMatchObject({ request_id: null, error: { code } });
          expect(error.error?.message.length).toBeGreaterThan(0);
          const closed = await within(offender.closed, 5000, 'the close of the offending connection');
          expect(closed.code).toBe(closeCode);
          expect(Buffer.byteLength(closed.reason)).toBeGreaterThan(0);
          // The ERROR is the last thing the offender was sent.
          expect(offender.messages.at(-1)).toBe(error);
          expect(offender.messages.filter((m) => m.type === 'ERROR')).toHaveLength(1);

          const switched = await restOk(target, 'POST', `/v1/sessions/${running.session_id}/switch`);
          const seen = await bystander.nextState(running.session_id, (s) => s.version === switched.version);
          expect(seen.event).toBe('switched');
          expect(bystander.isOpen).toBe(true);
          await bystander.ping();
          // And the server still takes new clients.
          await watch(running.session_id, target);
        });
      }
      it('commands queued behind a message that closes the connection are not applied', async () => {
        const running = await createRunningClock(tight);
        const offender = await watch(running.session_id, tight);
        // One write: the commands queue up behind each other, then the oversize message closes.
        for (let i = 0; i < 8; i++) offender.send({ type: 'SWITCH', request_id: `s${i}` });
        offender.send({ type: 'PING', client_time: 1, pad: 'x'.repeat(300) });
        await within(offender.closed, 5000, 'the close of the offending connection');
        const acked = offender.messages.filter((m) => m.type === 'ACK').length;
        const after = await restOk(tight, 'GET', `/v1/sessions/${running.session_id}`);
        // Every change the session took was answered: nothing ran for a client that could not hear.
        expect(after.version).toBe(running.version + acked);
      });
    });

    describe('dead and slow connections', () => {
      it('a client that stops answering protocol pings is terminated within a few heartbeats; a live one stays', async () => {
        const target = shortHeartbeat;
        const running = await createRunningClock(target);
        const live = await watch(running.session_id, target);
        const silent = await connect(watchUrl(target, running.session_id), { autoPong: false });

        const closed = await within(
          silent.closed,
          25 * SHORT_HEARTBEAT_INTERVAL_MS,
          'the termination of the silent client',
        );
        // Terminated, not closed politely: no close frame, so the client reports 1006.
        expect(closed.code).toBe(1006);
        await new Promise((resolve) => setTimeout(resolve, 3 * SHORT_HEARTBEAT_INTERVAL_MS));
        expect(live.isOpen).toBe(true);
        await live.ping();
        const switched = await restOk(target, 'POST', `/v1/sessions/${running.session_id}/switch`);
        await live.nextState(running.session_id, (s) => s.version === switched.version);
      }, 10_000);

      it('a client that leaves over 1 MiB unread is dropped, not buffered without end; others are unaffected', async () => {
        // No heartbeat to speak of, so only the unread data can drop the paused client.
        const target = quiet;
        await noConnectionsLeft(target);
        // 1000 long participant ids: each STATE is about 250 KB.
        const ids = Array.from(
          { length: 1000 },
          (_, i) => `p${String(i).padStart(4, '0')}-${'x'.repeat(110)}`,
        );
        const created = await createChessClock(target, ids);
        const reader = await watch(created.session_id, target);
        const slow = await watch(created.session_id, target);
        slow.ws.pause();

        // Changes until the server drops the paused client (it cannot see that until it reads):
        // the kernel buffers take a few MB first, then over 1 MiB waits in the server.
        let last = created;
        const maxChanges = 100;
        while ((await openConnections(target)) > 1) {
          if (last.version > maxChanges) throw new Error(`still connected after ${maxChanges} changes`);
          last = await restOk(target, 'POST', `/v1/sessions/${created.session_id}/adjust`, {
            participant_id: ids[0],
            delta_ms: 1000,
          });
        }

        slow.ws.resume();
        const closed = await within(slow.closed, 10_000, 'the close seen by the slow client');
        expect(closed.code).toBe(1006);
        const received = slow.states(created.session_id);
        expect(received.at(-1)).toBeLessThan(last.version);
        expect(isStrictlyIncreasing(received)).toBe(true);

        // The reader read everything, and keeps receiving.
        last = await restOk(target, 'POST', `/v1/sessions/${created.session_id}/adjust`, {
          participant_id: ids[0],
          delta_ms: 1000,
        });
        await reader.nextState(created.session_id, (s) => s.version === last.version);
        expect(reader.states(created.session_id)).toEqual(
          Array.from({ length: last.version }, (_, i) => i + 1),
        );
      }, 40_000);
    });

    describe('connection limits', () => {
      it('connections over WS_MAX_CONNECTIONS_PER_ADDRESS are refused with 429; the others stay open', async () => {
        const target = quiet;
        await noConnectionsLeft(target);
        const open = [await connect(target.ws), await connect(target.ws), await connect(target.ws)];
        await expectRefused(target.ws, 429, 'RATE_LIMITED');
        await expectRefused(target.ws, 429, 'RATE_LIMITED');
        for (const socket of open) await socket.ping();

        // A closed connection frees its slot (the server learns of the close just after the client).
        await open[0]?.close();
        let replacement: TestSocket | null = null;
        for (let attempt = 0; replacement === null && attempt < 50; attempt++) {
          replacement = await connect(target.ws).catch((err: unknown) => {
            if (!(err instanceof UpgradeRefusedError) || err.status !== 429) throw err;
            return new Promise<null>((resolve) => setTimeout(() => resolve(null), 20));
          });
        }
        expect(replacement).not.toBeNull();
        await replacement?.ping();
        await expectRefused(target.ws, 429, 'RATE_LIMITED');
      });

      it('of connections opened all at once, exactly WS_MAX_CONNECTIONS_PER_ADDRESS are accepted', async () => {
        const target = quiet;
        await noConnectionsLeft(target);
        const results = await Promise.allSettled(Array.from({ length: 8 }, () => connect(target.ws)));
        const accepted = results.filter((r) => r.status === 'fulfilled');
        const refused = results.filter((r) => r.status === 'rejected');
        expect(accepted).toHaveLength(3);
        for (const r of refused) {
          expect(r.reason).toBeInstanceOf(UpgradeRefusedError);
          expect((r.reason as UpgradeRefusedError).status).toBe(429);
        }
      });
      it('behind a trusted proxy (TRUST_PROXY) the cap counts each forwarded client, not the proxy', async () => {
        const proxied = await startTestServer({ ...env, ...QUIET_LIMITS, TRUST_PROXY: '1' });
        try {
          const from = (client: string): ClientOptions => ({ headers: { 'x-forwarded-for': client } });
          for (let i = 0; i < 3; i++) await connect(proxied.ws, from('203.0.113.7'));
          const refused = await openSocket(proxied.ws, from('203.0.113.7')).then(
            (socket) => {
              sockets.push(socket);
              return null;
            },
            (err: unknown) => err,
          );
          expect(refused).toBeInstanceOf(UpgradeRefusedError);
          expect((refused as UpgradeRefusedError).status).toBe(429);
          // Another client behind the same proxy (the same socket address) still gets in.
          await (await connect(proxied.ws, from('203.0.113.8'))).ping();
        } finally {
          await Promise.all(sockets.splice(0).map((socket) => socket.terminate()));
          await proxied.close();
        }
      });
    });

    describe('ordering', () => {
      it(
        'versions never go backwards: 100 SWITCHes from one client reach two watchers strictly increasing',
        async () => {
          const running = await createRunningClock(server);
          const watchers = await Promise.all([1, 2].map(() => watch(running.session_id)));
          const player = await watch(running.session_id);

          const replies = await Promise.all(
            Array.from({ length: 100 }, (_, i) =>
              player.request({ type: 'SWITCH', request_id: `m${i}` }, BURST_TIMEOUT_MS),
            ),
          );
          const acked = replies.map((reply) => {
            expect(reply.type, JSON.stringify(reply)).toBe('ACK');
            return (reply.state as SessionView).version;
          });
          expect([...acked].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 3));

          const finalVersion = running.version + 100;
          for (const watcher of watchers) {
            await watcher.nextState(running.session_id, (s) => s.version === finalVersion, BURST_TIMEOUT_MS);
            const versions = watcher.states(running.session_id);
            expect(isStrictlyIncreasing(versions), versions.join(',')).toBe(true);
            expect(versions.at(-1)).toBe(finalVersion);
          }
          // The player learns its own versions from the ACKs: a STATE is always newer than all it
          // was sent before (a version it was ACKed is not sent again), and nothing goes back.
          expectNeverBackwards(player, running.session_id);
          expect(player.messages.at(-1)?.state?.version).toBe(finalVersion);
          expect((await restOk(server, 'GET', `/v1/sessions/${running.session_id}`)).version).toBe(
            finalVersion,
          );
        },
        2 * BURST_TIMEOUT_MS,
      );

      it(
        'clients that subscribe while changes are being applied get a snapshot and then only newer versions',
        async () => {
          const running = await createRunningClock(server);
          const player = await watch(running.session_id);
          const switches = Array.from({ length: 60 }, (_, i) =>
            player.request({ type: 'SWITCH', request_id: `m${i}` }, BURST_TIMEOUT_MS),
          );
          // Joiners arrive while the switches run, half by URL and half by SUBSCRIBE.
          const joiners: TestSocket[] = [];
          for (let i = 0; i < 10; i++) {
            const byUrl = i % 2 === 0;
            const joiner = await connect(byUrl ? watchUrl(server, running.session_id) : server.ws);
            if (!byUrl) joiner.send({ type: 'SUBSCRIBE', session_id: running.session_id });
            joiners.push(joiner);
          }
          const replies = await Promise.all(switches);
          expect(replies.every((reply) => reply.type === 'ACK')).toBe(true);
          const finalVersion = running.version + 60;
          for (const joiner of joiners) {
            await joiner.nextState(running.session_id, (s) => s.version === finalVersion, BURST_TIMEOUT_MS);
            const versions = joiner.states(running.session_id);
            expect(isStrictlyIncreasing(versions), versions.join(',')).toBe(true);
          }
          expectNeverBackwards(player, running.session_id);
        },
        2 * BURST_TIMEOUT_MS,
      );
    });

    describe('refused upgrades', () => {
      it('an upgrade on an unknown path is refused with 404', async () => {
        await expectRefused(server.ws.replace('/v1/ws', '/v1/nope'), 404, 'NOT_FOUND');
      });

      it('a malformed session_id in the URL is refused with 400', async () => {
        await expectRefused(`${server.ws}?session_id=has%20space`, 400, 'VALIDATION_ERROR');
        await expectRefused(`${server.ws}?session_id=`, 400, 'VALIDATION_ERROR');
        await expectRefused(`${server.ws}?session_id=${'a'.repeat(129)}`, 400, 'VALIDATION_ERROR');
      });
    });

    describe('shutdown', () => {
      let target: TestServer;

      beforeAll(async () => {
        target = await startTestServer(env);
      }, SERVER_START_TIMEOUT_MS);

      afterAll(() => target?.close());

      it('a server close() closes every client with 1001', async () => {
        const running = await createRunningClock(target);
        const watching = await watch(running.session_id, target);
        const idle = await connect(target.ws);
        await target.close();
        expect((await within(watching.closed, 5000, 'the close of the watching client')).code).toBe(1001);
        expect((await within(idle.closed, 5000, 'the close of the idle client')).code).toBe(1001);
        await expect(openSocket(target.ws)).rejects.toThrow();
      });
    });
  });
}
