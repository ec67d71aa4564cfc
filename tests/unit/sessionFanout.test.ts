import { describe, expect, it } from 'vitest';
import { RenderedView } from '../../src/engine/renderedView.js';
import { toSessionView } from '../../src/engine/view.js';
import { publishedMessage } from '../../src/state/stateCodec.js';
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

/** A fan-out over a manual bus with one recording watcher of `state`, subscribed; errors kept. */
async function watchedFanout(clock = { nowMs: () => nowMs }) {
  const { bus, completeSubscription } = manualBus();
  const errors: string[] = [];
  const fanout = new SessionFanout({
    bus,
    clock,
    readSession: async () => toSessionView(state, nowMs),
    onError: (_err, context) => void errors.push(context),
  });
  const watcher = recorder();
  const watching = fanout.watch(state.sessionId, watcher);
  completeSubscription(0);
  await watching;
  return { fanout, watcher, errors };
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
    fanout.onState(state.sessionId, publishedMessage(2, JSON.stringify({ ...state, version: 2 })));
    expect(delivered).toEqual([1, 2]);
    expect(viewsBuilt).toBe(0);
  });

  it('a published state that decodes but has no view is reported and dropped, never thrown to the bus', async () => {
    const { fanout, watcher, errors } = await watchedFanout();
    const broken = JSON.stringify({ ...state, syncMode: 'count_up', laps: 5, version: 2 });
    expect(() => fanout.onState(state.sessionId, publishedMessage(2, broken))).not.toThrow();
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
    fanout.onState(state.sessionId, publishedMessage(2, JSON.stringify({ ...state, version: 2 })));
    expect(received).toHaveLength(2);
    expect(received[0]).toBe(received[1]);
    expect(JSON.parse(received[0]!.toString('utf8'))).toMatchObject({ type: 'STATE', state: { version: 2 } });
  });
  it("sends this instance's own commit as its answer's JSON, without decoding or building it again", async () => {
    let viewsBuilt = 0;
    const { fanout, watcher } = await watchedFanout({
      nowMs: () => {
        viewsBuilt++;
        return nowMs;
      },
    });
    const committed = new RenderedView({ ...state, version: 2, lastEvent: 'switched' }, nowMs + 5);
    fanout.noteCommit(committed);
    // The store's publication carries other bytes: the frame must come from the commit, not them.
    fanout.onState(state.sessionId, publishedMessage(2, 'not even JSON'));
    expect(watcher.frames[1]).toBe(`{"type":"STATE","state":${committed.json}}`);
    expect(JSON.parse(watcher.frames[1]!)).toStrictEqual({ type: 'STATE', state: committed.view });
    expect(viewsBuilt).toBe(0);
  });

  it('decodes a publication whose version is not the own commit, and forgets commits it has passed', async () => {
    const { fanout, watcher } = await watchedFanout();
    fanout.noteCommit(new RenderedView({ ...state, version: 2 }, nowMs));
    fanout.onState(state.sessionId, publishedMessage(3, JSON.stringify({ ...state, version: 3 })));
    // Version 2 went by: a late publication of it is decoded from its own bytes.
    const late = JSON.stringify({ ...state, version: 2, lastEvent: 'paused' });
    fanout.onState(state.sessionId, publishedMessage(2, late));
    expect(watcher.frames.slice(1).map((frame) => JSON.parse(frame).state)).toMatchObject([
      { version: 3 },
      { version: 2, event: 'paused' },
    ]);
  });

  it('keeps no commit of a session nobody here watches', async () => {
    const { bus, completeSubscription } = manualBus();
    const fanout = fanoutOver(bus);
    fanout.noteCommit(new RenderedView({ ...state, version: 2 }, nowMs));
    const watcher = recorder();
    const watching = fanout.watch(state.sessionId, watcher);
    completeSubscription(0);
    await watching;
    const published = JSON.stringify({ ...state, version: 2, lastEvent: 'paused' });
    fanout.onState(state.sessionId, publishedMessage(2, published));
    expect(JSON.parse(watcher.frames[1]!).state).toMatchObject({ version: 2, event: 'paused' });
  });

  it('reports a message that is not a published state, and delivers nothing', async () => {
    const { fanout, watcher, errors } = await watchedFanout();
    fanout.onState(state.sessionId, JSON.stringify({ ...state, version: 2 }));
    expect(errors).toEqual([`undecodable state published for session ${state.sessionId}`]);
    expect(watcher.frames).toHaveLength(1);
  });
});
