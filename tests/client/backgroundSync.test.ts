// The SDK's background clock sampling and its think time, against a scripted socket: PINGs go on
// after connect() for the window asked, no faster than asked, and stop on close; switch()
// reports a think time only for a turn it saw begin.
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type SyncKairosHandle } from '@synckairos/client';
import { ScriptedSocket, scriptedState } from '../helpers/scriptedSocket.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let handle: SyncKairosHandle | null = null;

afterEach(async () => {
  await handle?.close();
  handle = null;
  ScriptedSocket.opened = [];
  ScriptedSocket.version = 1;
});

function pings(socket: ScriptedSocket): number {
  return socket.sent.filter((m) => m.type === 'PING').length;
}

describe('background clock sampling', () => {
  it('keeps sampling after the connect burst for the window, then stops', async () => {
    handle = await connect({
      url: 'http://scripted.test',
      sessionId: 's',
      WebSocket: ScriptedSocket,
      syncSamples: 3,
      backgroundSyncMs: 300,
      backgroundSyncIntervalMs: 20,
    });
    const socket = ScriptedSocket.opened[0]!;
    const syncs: number[] = [];
    handle.on('sync', (sync) => syncs.push(sync.uncertaintyMs));
    await sleep(450);
    const afterWindow = pings(socket);
    // More than the burst: the background went on; no more than its rate allows (one per 10 ms
    // at the fastest draw of a 20 ms mean, over the 300 ms window, and the burst).
    expect(afterWindow).toBeGreaterThan(3);
    expect(afterWindow).toBeLessThanOrEqual(3 + 300 / 10 + 1);
    await sleep(200);
    expect(pings(socket)).toBe(afterWindow);
    // At most one announcement per sample.
    expect(syncs.length).toBeLessThanOrEqual(afterWindow);
  });

  it('stops sampling when the handle is closed', async () => {
    handle = await connect({
      url: 'http://scripted.test',
      sessionId: 's',
      WebSocket: ScriptedSocket,
      syncSamples: 3,
      backgroundSyncMs: 10_000,
      backgroundSyncIntervalMs: 20,
    });
    const socket = ScriptedSocket.opened[0]!;
    await sleep(100);
    await handle.close();
    const atClose = pings(socket);
    await sleep(200);
    expect(pings(socket)).toBe(atClose);
  });
});

describe('think time on switch()', () => {
  it('is left out for a turn already running at connect, and sent for one seen to begin', async () => {
    handle = await connect({
      url: 'http://scripted.test',
      sessionId: 's',
      WebSocket: ScriptedSocket,
      syncSamples: 1,
      backgroundSyncMs: 0,
    });
    const socket = ScriptedSocket.opened[0]!;
    // The first state is the middle of a turn: how long it has been thought about is not known here.
    void handle.switch().catch(() => {});
    const first = socket.sent.filter((m) => m.type === 'SWITCH').at(-1)!;
    expect(first).not.toHaveProperty('think_ms');

    const began = { ...scriptedState(2), active_participant_id: 'b', cycle_started_at: Date.now() + 1 };
    // The state is applied as it is delivered: its receipt falls between these two readings.
    const beforeDelivery = performance.now();
    socket.deliver({ type: 'STATE', state: began });
    const afterDelivery = performance.now();
    await sleep(120);
    // A timer may fire a fraction of a ms before its time by performance.now(): bound by readings.
    const beforeSwitch = performance.now();
    void handle.switch().catch(() => {});
    const afterSwitch = performance.now();
    const second = socket.sent.filter((m) => m.type === 'SWITCH').at(-1)!;
    expect(Number.isInteger(second.think_ms)).toBe(true);
    expect(second.think_ms).toBeGreaterThanOrEqual(Math.floor(beforeSwitch - afterDelivery));
    expect(second.think_ms).toBeLessThanOrEqual(Math.ceil(afterSwitch - beforeDelivery));
    expect(second.think_ms).toBeGreaterThanOrEqual(110);

    // A paused session has no turn running: nothing to report.
    socket.deliver({ type: 'STATE', state: { ...began, version: 3, status: 'paused' } });
    void handle.switch().catch(() => {});
    expect(socket.sent.filter((m) => m.type === 'SWITCH').at(-1)).not.toHaveProperty('think_ms');
  });
});
