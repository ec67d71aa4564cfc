// Lag compensation on the real service: players connect through a TCP proxy that delays every
// chunk each way, the server measures their round trip with protocol pings, and their moves
// are charged less than the time the server saw pass, by at most the quota. The view and the
// audit record carry the lag fields; a REST switch is charged in full. The SDK's switch() reports
// its think time, which the server uses to tell transit from thinking.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect, type SyncKairosHandle, type WebSocketConstructor } from '@synckairos/client';
import type { ParticipantView, SessionView } from '../../src/types/session.js';
import { startDelayProxy, type DelayProxy } from '../helpers/delayProxy.js';
import { callJson } from '../helpers/http.js';
import { listeningPort, startService, stopAllServices } from '../helpers/serviceProcess.js';
import { openSocket, type TestSocket } from '../helpers/wsClient.js';

const ONE_WAY_DELAY_MS = 50;
/** Each way, for a round trip longer than a short game's whole quota. */
const SLOW_ONE_WAY_DELAY_MS = 400;

let http: string;
const proxies: DelayProxy[] = [];
const sockets: TestSocket[] = [];
const handles: SyncKairosHandle[] = [];

beforeAll(async () => {
  const service = startService({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', RATE_LIMIT_MAX: '0' });
  const port = listeningPort(await service.waitForLog((line) => line.msg.startsWith('listening')));
  http = `http://127.0.0.1:${port}`;
  proxies.push(
    await startDelayProxy(port, ONE_WAY_DELAY_MS),
    await startDelayProxy(port, SLOW_ONE_WAY_DELAY_MS),
  );
}, 30_000);

afterAll(async () => {
  await Promise.all(handles.map((h) => h.close()));
  await Promise.all(sockets.map((s) => s.close()));
  await Promise.all(proxies.map((p) => p.close()));
  await stopAllServices();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A player's socket through `proxy`, once the server has had the pong of its first ping. */
async function playerSocket(proxy: DelayProxy, sessionId: string): Promise<TestSocket> {
  const socket = await openSocket(`ws://127.0.0.1:${proxy.port}/v1/ws?session_id=${sessionId}`);
  sockets.push(socket);
  // The server pings on accept and the client pongs at once: a PING answered after that means
  // the pong reached the server first (one TCP stream, order kept).
  await socket.ping(15_000);
  return socket;
}

async function createGame(sessionId: string, totalTimeMs: number): Promise<void> {
  await callJson(http, 'POST', '/v1/sessions', {
    session_id: sessionId,
    sync_mode: 'per_participant',
    participants: [{ participant_id: 'w' }, { participant_id: 'b' }],
    total_time_ms: totalTimeMs,
    lag_compensation: true,
  });
}

async function wsSwitch(socket: TestSocket, extra: Record<string, unknown> = {}): Promise<SessionView> {
  // A loaded machine may be slow to answer; the charge is read from the answer, not timed.
  const reply = await socket.request({ type: 'SWITCH', ...extra }, 15_000);
  expect(reply.type, JSON.stringify(reply)).toBe('ACK');
  return reply.state as SessionView;
}

function participant(view: SessionView, id: string): ParticipantView {
  const found = view.participants.find((p) => p.participant_id === id);
  if (!found) throw new Error(`no participant ${id}`);
  return found;
}

/** The time the server saw the turn that `after` ended take: from its start to the move. */
function elapsedSeenMs(before: SessionView, after: SessionView): number {
  return (after.cycle_started_at ?? 0) - (before.cycle_started_at ?? 0);
}

describe('lag compensation through a delaying proxy', () => {
  it('charges the mover less than the elapsed time, by its measured round trip, and records it', async () => {
    const sessionId = 'lag-game';
    await createGame(sessionId, 300_000);
    const white = await playerSocket(proxies[0]!, sessionId);
    const black = await playerSocket(proxies[0]!, sessionId);

    const started = await callJson(http, 'POST', `/v1/sessions/${sessionId}/start`);
    const initialQuotaMs = participant(started, 'w').lag_quota_ms ?? 0;
    expect(initialQuotaMs).toBe(3_000);
    await sleep(300);
    const afterWhite = await wsSwitch(white);
    const w = participant(afterWhite, 'w');
    const elapsedMs = elapsedSeenMs(started, afterWhite);
    // The proxy adds 50 ms each way: the measured round trip is at least 100 ms.
    expect(w.lag_ms).toBeGreaterThanOrEqual(2 * ONE_WAY_DELAY_MS);
    expect(w.lag_comp_ms).toBe(Math.min(w.lag_ms ?? 0, initialQuotaMs));
    expect(w.time_used_ms).toBe(elapsedMs - (w.lag_comp_ms ?? 0));
    expect(w.time_used_ms).toBeLessThan(elapsedMs);
    expect(w.time_remaining_ms).toBe(300_000 - (w.time_used_ms ?? 0));
    expect(w.lag_quota_ms).toBe(initialQuotaMs + 1_000 - (w.lag_comp_ms ?? 0));

    // Black claims it thought 0 ms: the rest of the elapsed time is not all taken as transit.
    await sleep(2_000);
    const afterBlack = await wsSwitch(black, { think_ms: 0 });
    const b = participant(afterBlack, 'b');
    expect(b.lag_ms).toBeGreaterThanOrEqual(2 * ONE_WAY_DELAY_MS);
    expect(b.lag_ms).toBeLessThan(elapsedSeenMs(afterWhite, afterBlack));

    // Over REST: charged in full.
    await sleep(100);
    const afterRest = await callJson(http, 'POST', `/v1/sessions/${sessionId}/switch`);
    const wAgain = participant(afterRest, 'w');
    expect(wAgain).toMatchObject({ lag_ms: 0, lag_comp_ms: 0 });
    expect((wAgain.time_used_ms ?? 0) - (w.time_used_ms ?? 0)).toBe(elapsedSeenMs(afterBlack, afterRest));

    // The audit record of the move carries what the view showed.
    const switched = await auditedState(sessionId, afterWhite.version);
    expect(participant(switched, 'w')).toMatchObject({
      lag_ms: w.lag_ms,
      lag_comp_ms: w.lag_comp_ms,
      lag_quota_ms: w.lag_quota_ms,
    });
  }, 30_000);

  it('never compensates more than the quota', async () => {
    const sessionId = 'lag-short-game';
    // A 10 s game: a gain of 190 ms (10 s × 2/5 + 15 centiseconds) and a quota of 570 ms.
    await createGame(sessionId, 10_000);
    const white = await playerSocket(proxies[1]!, sessionId);
    const started = await callJson(http, 'POST', `/v1/sessions/${sessionId}/start`);
    expect(participant(started, 'w').lag_quota_ms).toBe(570);
    await sleep(700);
    const moved = await wsSwitch(white);
    const w = participant(moved, 'w');
    expect(w.lag_ms).toBeGreaterThanOrEqual(2 * SLOW_ONE_WAY_DELAY_MS);
    expect(w.lag_comp_ms).toBe(570);
    expect(w.time_used_ms).toBe(elapsedSeenMs(started, moved) - 570);
    expect(w.lag_quota_ms).toBe(190);
  }, 30_000);
});

/** `ws`, writing down every message the SDK sends. */
function recordingWebSocket(sent: Record<string, unknown>[]): WebSocketConstructor {
  class RecordingSocket extends WebSocket {
    override send(data: string): void {
      sent.push(JSON.parse(data) as Record<string, unknown>);
      super.send(data);
    }
  }
  return RecordingSocket as unknown as WebSocketConstructor;
}

describe('lag compensation through the SDK', () => {
  it("switch() sends the mover's think time and the server charges the rest of the turn as transit", async () => {
    const sessionId = 'lag-sdk-game';
    await createGame(sessionId, 300_000);
    const sent: Record<string, unknown>[] = [];
    const handle = await connect({
      url: `http://127.0.0.1:${proxies[0]!.port}`,
      sessionId,
      WebSocket: recordingWebSocket(sent),
      backgroundSyncMs: 0,
    });
    handles.push(handle);
    const turnBegan = new Promise<void>((resolve) =>
      handle.on('state', (state) => state.status === 'running' && resolve()),
    );
    const started = await callJson<SessionView>(http, 'POST', `/v1/sessions/${sessionId}/start`);
    await turnBegan;
    await sleep(300);
    const moved = await handle.switch();

    const thinkMs = sent.find((m) => m.type === 'SWITCH')?.think_ms;
    // From receiving the STATE that began the turn to the switch() call, on this side.
    expect(thinkMs).toBeGreaterThanOrEqual(300);
    const elapsedMs = elapsedSeenMs(started, moved);
    expect(thinkMs).toBeLessThan(elapsedMs);
    // The server took the rest of the turn as transit (the STATE's way out and the SWITCH's way
    // in: about one round trip through the proxy), not its own round-trip measure; unless that
    // rest is beyond the round trip it measured plus 20 ms (a machine busy enough to add that
    // much on its own), when the cap is what it charges.
    const w = participant(moved, 'w');
    const restMs = elapsedMs - (thinkMs as number);
    if (w.lag_ms !== restMs) {
      expect(w.lag_ms).toBeLessThan(restMs);
      expect(w.lag_ms).toBeGreaterThanOrEqual(2 * ONE_WAY_DELAY_MS + 20);
    }
    expect(w.lag_ms).toBeGreaterThanOrEqual(2 * ONE_WAY_DELAY_MS);
    expect(w.lag_comp_ms).toBe(w.lag_ms);
    expect(w.time_used_ms).toBe(elapsedMs - (w.lag_comp_ms ?? 0));
  }, 30_000);
});

/** The state the audit trail recorded for `version`, once it is written. */
async function auditedState(sessionId: string, version: number): Promise<SessionView> {
  for (let attempt = 0; attempt < 100; attempt++) {
    // 404 until the session's first record is written (the schema is migrated in the background).
    const response = await fetch(`${http}/v1/sessions/${sessionId}/events`);
    if (response.status !== 404 && !response.ok) throw new Error(`/events: ${response.status}`);
    const { events } =
      response.status === 404
        ? { events: [] }
        : ((await response.json()) as { events: { version: number; state: SessionView }[] });
    const found = events.find((e) => e.version === version);
    if (found) return found.state;
    await sleep(100);
  }
  throw new Error(`version ${version} of ${sessionId} never reached the audit trail`);
}
