import { describe, expect, it } from 'vitest';
import { toSessionView } from '../../src/engine/view.js';
import type { BusListener, SessionBus } from '../../src/types/bus.js';
import { SessionFanout, type Watcher } from '../../src/websocket/SessionFanout.js';
import { sessionStateFixture } from '../helpers/fixtures.js';

/** A bus whose subscriptions complete when the test says so. */
function manualBus() {
  const pending: Array<() => void> = [];
  const bus: SessionBus = {
    setListener: (_listener: BusListener) => undefined,
    subscribe: () => new Promise<void>((resolve) => pending.push(resolve)),
    unsubscribe: async () => undefined,
    close: async () => undefined,
  };
  return { bus, completeSubscription: (index: number) => pending[index]!() };
}

function recorder(): Watcher & { frames: string[] } {
  const frames: string[] = [];
  return { frames, deliver: (_id, _version, frame) => void frames.push(frame.bytes.toString('utf8')) };
}

const state = sessionStateFixture();
const nowMs = state.createdAtMs;

function fanoutOver(bus: SessionBus): SessionFanout {
  return new SessionFanout({
    bus,
    clock: { nowMs: () => nowMs },
    readSession: async () => toSessionView(state, nowMs),
  });
}

describe('session fan-out', () => {
  it("a watcher waits for the session's current subscription, not an earlier one that settled late", async () => {
    const { bus, completeSubscription } = manualBus();
    const fanout = fanoutOver(bus);
    const first = recorder();
    const firstWatch = fanout.watch(state.sessionId, first);
    await fanout.unwatch(state.sessionId, first);
    // The last watcher left while subscribing; the next one starts a second subscription.
    const second = recorder();
    const secondWatch = fanout.watch(state.sessionId, second);
    completeSubscription(0);
    await firstWatch;
    const third = recorder();
    const thirdWatch = fanout.watch(state.sessionId, third);
    await new Promise((resolve) => setImmediate(resolve));
    expect(third.frames).toEqual([]);
    completeSubscription(1);
    await Promise.all([secondWatch, thirdWatch]);
    expect(JSON.parse(third.frames[0]!)).toMatchObject({ type: 'STATE', state: { version: 1 } });
  });

  it('builds no frame for an update that every watcher already has', async () => {
    const { bus, completeSubscription } = manualBus();
    let viewsBuilt = 0;
    const fanout = new SessionFanout({
      bus,
      clock: {
        nowMs: () => {
          viewsBuilt++;
          return nowMs;
        },
      },
      readSession: async () => toSessionView(state, nowMs),
    });
    // As a connection whose own command's ACK carried version 2: it takes the frame but never reads it.
    const delivered: number[] = [];
    const watcher: Watcher = { deliver: (_id, version) => void delivered.push(version) };
    const watching = fanout.watch(state.sessionId, watcher);
    completeSubscription(0);
    await watching;
    fanout.onState(state.sessionId, JSON.stringify({ ...state, version: 2 }));
    expect(delivered).toEqual([1, 2]);
    expect(viewsBuilt).toBe(0);
  });

  it('a published state that decodes but has no view is reported and dropped, never thrown to the bus', async () => {
    const { bus, completeSubscription } = manualBus();
    const errors: string[] = [];
    const fanout = new SessionFanout({
      bus,
      clock: { nowMs: () => nowMs },
      readSession: async () => toSessionView(state, nowMs),
      onError: (_err, context) => void errors.push(context),
    });
    const watcher = recorder();
    const watching = fanout.watch(state.sessionId, watcher);
    completeSubscription(0);
    await watching;
    const broken = JSON.stringify({ ...state, syncMode: 'count_up', laps: 5, version: 2 });
    expect(() => fanout.onState(state.sessionId, broken)).not.toThrow();
    expect(errors).toEqual([`undeliverable state published for session ${state.sessionId}`]);
    expect(watcher.frames).toHaveLength(1);
  });

  it('sends one encoded frame to every watcher', async () => {
    const { bus, completeSubscription } = manualBus();
    const fanout = fanoutOver(bus);
    const received: Buffer[] = [];
    const watcher: Watcher = { deliver: (_id, _version, frame) => void received.push(frame.bytes) };
    const watching = [fanout.watch(state.sessionId, watcher), fanout.watch(state.sessionId, { ...watcher })];
    completeSubscription(0);
    await Promise.all(watching);
    received.length = 0;
    fanout.onState(state.sessionId, JSON.stringify({ ...state, version: 2 }));
    expect(received).toHaveLength(2);
    expect(received[0]).toBe(received[1]);
    expect(JSON.parse(received[0]!.toString('utf8'))).toMatchObject({ type: 'STATE', state: { version: 2 } });
  });
});
