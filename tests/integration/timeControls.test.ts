// Every time control through the real service on a real Redis: create, start, moves over HTTP,
// and the flag, which the service's own deadline scheduler makes fall (no request asks for it)
// at the control's true deadline, never before. Bad time controls are refused and create nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParticipantView, SessionView } from '../../src/types/session.js';
import type { TimeControl } from '../../src/types/timeControl.js';
import { callJson } from '../helpers/http.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';
import { listeningPort, startService, stopAllServices } from '../helpers/serviceProcess.js';
import { openSocket, type TestSocket } from '../helpers/wsClient.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How late the flag may be observed: the scheduler's target is a few ms; this only bounds the wait. */
const FLAG_WAIT_MS = 5_000;

let redis: RedisServerHandle;
let base: string;
let socket: TestSocket;
let sessionSeq = 0;

beforeAll(async () => {
  redis = await startRedisServer();
  const service = startService({ PORT: '0', HOST: '127.0.0.1', REDIS_URL: redis.url, LOG_LEVEL: 'info' });
  const port = listeningPort(await service.waitForLog((line) => line.msg.startsWith('listening')));
  base = `http://127.0.0.1:${port}`;
  socket = await openSocket(`ws://127.0.0.1:${port}/v1/ws`);
});

afterAll(async () => {
  await socket?.close();
  await stopAllServices();
  await redis?.close();
});

function participant(view: SessionView, id: string): ParticipantView {
  const found = view.participants.find((p) => p.participant_id === id);
  if (!found) throw new Error(`no participant ${id}`);
  return found;
}

/**
 * Creates a two-player game, watched over the WebSocket, and starts it. White has its own
 * control, with time to spare for its moves however slow the machine; black has the session's,
 * short, so its flag falls soon after the test stops moving.
 */
async function startGame(white: TimeControl, black: TimeControl): Promise<SessionView> {
  const sessionId = `tc-${black.type}-${++sessionSeq}`;
  const created = await callJson(base, 'POST', '/v1/sessions', {
    session_id: sessionId,
    sync_mode: 'per_participant',
    participants: [{ participant_id: 'w', time_control: white }, { participant_id: 'b' }],
    time_control: black,
  });
  expect(created.time_control).toEqual(black);
  expect(participant(created, 'w').time_control).toEqual(white);
  const subscribed = await socket.request({ type: 'SUBSCRIBE', session_id: sessionId });
  expect(subscribed.type).toBe('ACK');
  return callJson(base, 'POST', `/v1/sessions/${sessionId}/start`);
}

/** The mover thinks `thinkMs`, then moves. */
async function move(view: SessionView, thinkMs: number): Promise<SessionView> {
  await sleep(thinkMs);
  return callJson(base, 'POST', `/v1/sessions/${view.session_id}/switch`);
}

/**
 * Waits, without a request, for the service to publish the flag; checks that it fell at
 * `deadlineAtMs` (the control's own deadline, worked out by the test) and was not sent before it.
 */
async function expectFlagAt(view: SessionView, deadlineAtMs: number): Promise<SessionView> {
  expect(view.deadline_at).toBe(deadlineAtMs);
  const expired = await socket.nextState(view.session_id, (s) => s.event === 'expired', FLAG_WAIT_MS);
  expect(expired.updated_at).toBe(deadlineAtMs);
  expect(expired.server_time).toBeGreaterThanOrEqual(deadlineAtMs);
  expect(expired.status).toBe('expired');
  expect(participant(expired, expired.active_participant_id ?? '')).toMatchObject({ has_expired: true });
  return expired;
}

describe('time controls on the service (Redis)', () => {
  it('fischer: the increment after each move, capped at max_ms; the flag falls when the bank is empty', async () => {
    let view = await startGame(
      { type: 'fischer', initial_ms: 5_000, increment_ms: 100, max_ms: 5_050 },
      { type: 'fischer', initial_ms: 300, increment_ms: 100 },
    );
    view = await move(view, 50);
    const w = participant(view, 'w');
    expect(w.time_remaining_ms).toBe(Math.min(5_000 - w.time_used_ms + 100, 5_050));
    await expectFlagAt(view, (view.cycle_started_at ?? 0) + 300);
  });

  it('bronstein: a move gets back what it used, up to delay_ms; the clock runs at once', async () => {
    let view = await startGame(
      { type: 'bronstein', initial_ms: 5_000, delay_ms: 20 },
      { type: 'bronstein', initial_ms: 300, delay_ms: 200 },
    );
    view = await move(view, 50);
    const w = participant(view, 'w');
    expect(w.time_remaining_ms).toBe(5_000 - w.time_used_ms + Math.min(w.time_used_ms, 20));
    expect(w.delay_remaining_ms).toBe(20);
    await expectFlagAt(view, (view.cycle_started_at ?? 0) + 300);
  });

  it('delay: the bank stands still during the delay; the flag falls at turn start + delay + bank', async () => {
    let view = await startGame(
      { type: 'delay', initial_ms: 5_000, delay_ms: 5_000 },
      { type: 'delay', initial_ms: 300, delay_ms: 200 },
    );
    view = await move(view, 50);
    expect(participant(view, 'w')).toMatchObject({ time_remaining_ms: 5_000, delay_remaining_ms: 5_000 });
    expect(participant(view, 'b')).toMatchObject({ time_remaining_ms: 300, delay_remaining_ms: 200 });
    await expectFlagAt(view, (view.cycle_started_at ?? 0) + 200 + 300);
  });

  it("stages: the next stage's time comes on the stage's last move; a stage's delay is a simple delay", async () => {
    let view = await startGame(
      {
        type: 'stages',
        stages: [
          { moves: 1, time_ms: 5_000 },
          { time_ms: 200, increment_ms: 10 },
        ],
      },
      { type: 'stages', stages: [{ time_ms: 300, delay_ms: 100 }] },
    );
    view = await move(view, 50);
    const w = participant(view, 'w');
    expect(w).toMatchObject({ stage_index: 1, moves_to_next_stage: null });
    expect(w.time_remaining_ms).toBe(5_000 - w.time_used_ms + 200);
    await expectFlagAt(view, (view.cycle_started_at ?? 0) + 100 + 300);
  });

  it('byoyomi: a move inside a period refills it; the flag falls when the last period runs out', async () => {
    let view = await startGame(
      { type: 'byoyomi', initial_ms: 100, period_ms: 2_000, periods: 2 },
      { type: 'byoyomi', initial_ms: 0, period_ms: 150, periods: 2 },
    );
    view = await move(view, 180); // main time and part of a period
    const w = participant(view, 'w');
    expect(w.time_used_ms).toBeGreaterThan(100);
    expect(w).toMatchObject({ time_remaining_ms: 0, periods_left: 2, period_remaining_ms: 2_000 });
    const expired = await expectFlagAt(view, (view.cycle_started_at ?? 0) + 2 * 150);
    expect(participant(expired, 'b')).toMatchObject({ periods_left: 0, period_remaining_ms: 0 });
  });

  it('canadian: after main time, moves_per_period moves in each period', async () => {
    let view = await startGame(
      { type: 'canadian', initial_ms: 100, period_ms: 5_000, moves_per_period: 2 },
      { type: 'canadian', initial_ms: 100, period_ms: 200, moves_per_period: 2 },
    );
    view = await move(view, 150);
    const w = participant(view, 'w');
    expect(w).toMatchObject({ time_remaining_ms: 0, moves_left_in_period: 1 });
    expect(w.period_remaining_ms).toBe(5_000 - (w.time_used_ms - 100));
    await expectFlagAt(view, (view.cycle_started_at ?? 0) + 100 + 200);
  });

  it('hourglass: what the mover spends the other gains; the sum stays constant to the flag', async () => {
    let view = await startGame(
      { type: 'hourglass', initial_ms: 5_000 },
      { type: 'hourglass', initial_ms: 200 },
    );
    view = await move(view, 80);
    const [w, b] = [participant(view, 'w'), participant(view, 'b')];
    expect((w.time_remaining_ms ?? 0) + (b.time_remaining_ms ?? 0)).toBe(5_200);
    expect(b.time_remaining_ms).toBe(200 + w.time_used_ms);
    const expired = await expectFlagAt(view, (view.cycle_started_at ?? 0) + (b.time_remaining_ms ?? 0));
    expect(participant(expired, 'w').time_remaining_ms).toBe(5_200);
  });

  it("per_group: a group's own control runs its bank", async () => {
    const sessionId = `tc-group-${++sessionSeq}`;
    await callJson(base, 'POST', '/v1/sessions', {
      session_id: sessionId,
      sync_mode: 'per_group',
      participants: [
        { participant_id: 'a1', group_id: 'A' },
        { participant_id: 'b1', group_id: 'B' },
      ],
      groups: [{ group_id: 'B', time_control: { type: 'delay', initial_ms: 200, delay_ms: 100 } }],
      time_control: { type: 'fischer', initial_ms: 5_000, increment_ms: 0 },
    });
    expect((await socket.request({ type: 'SUBSCRIBE', session_id: sessionId })).type).toBe('ACK');
    await callJson(base, 'POST', `/v1/sessions/${sessionId}/start`);
    const view = await callJson(base, 'POST', `/v1/sessions/${sessionId}/switch`);
    expect(view.groups?.[1]).toMatchObject({
      group_id: 'B',
      time_remaining_ms: 200,
      delay_remaining_ms: 100,
    });
    await expectFlagAt(view, (view.cycle_started_at ?? 0) + 100 + 200);
  });
});

describe('bad time controls are refused with 400 VALIDATION_ERROR naming the field, and create nothing', () => {
  const two = [{ participant_id: 'w' }, { participant_id: 'b' }];
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['an unknown type', { time_control: { type: 'sandglass', initial_ms: 1 } }, 'time_control.type'],
    ['a missing field', { time_control: { type: 'delay', initial_ms: 1_000 } }, 'time_control.delay_ms'],
    [
      'a negative field',
      { time_control: { type: 'fischer', initial_ms: 1_000, increment_ms: -1 } },
      'time_control.increment_ms',
    ],
    [
      'stages without a final unlimited stage',
      { time_control: { type: 'stages', stages: [{ moves: 40, time_ms: 1_000 }] } },
      'time_control.stages.0.moves',
    ],
    [
      'hourglass with more than two participants',
      {
        participants: [...two, { participant_id: 'x' }],
        time_control: { type: 'hourglass', initial_ms: 1_000 },
      },
      'participants',
    ],
    [
      'a time control on a mode without banks',
      { sync_mode: 'global', total_time_ms: 1_000, time_control: { type: 'hourglass', initial_ms: 1_000 } },
      'time_control',
    ],
    [
      'time_control beside total_time_ms',
      { total_time_ms: 1_000, time_control: { type: 'delay', initial_ms: 1_000, delay_ms: 10 } },
      'total_time_ms',
    ],
  ];

  it.each(cases)('%s', async (_name, body, path) => {
    const sessionId = `tc-bad-${++sessionSeq}`;
    const response = await fetch(`${base}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        session_id: sessionId,
        sync_mode: 'per_participant',
        participants: two,
        ...body,
      }),
    });
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as {
      error: { code: string; details: { issues: { path: string; message: string }[] } };
    };
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.details.issues.map((issue) => issue.path)).toEqual([path]);
    expect((await fetch(`${base}/v1/sessions/${sessionId}`)).status).toBe(404);
  });
});
