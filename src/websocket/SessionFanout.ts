// Who watches which session on this instance, and delivery to them. Subscribes on the bus
// when a session's first watcher arrives and unsubscribes when the last one leaves; builds
// each update's frame once, however many sockets receive it.
import type { StateMessage } from '@synckairos/client/wire';
import { toSessionView } from '../engine/view.js';
import type { BusListener, SessionBus } from '../types/bus.js';
import type { Clock } from '../types/clock.js';
import type { SessionState, SessionView } from '../types/session.js';
import { decodeState } from '../state/stateCodec.js';

/** One receiver of frames; a WebSocket connection in practice. */
export interface Watcher {
  /**
   * Sends the frame (UTF-8 JSON, to go out as a text frame) unless it already has this version
   * or a newer one (`force`: equal is sent too).
   */
  deliver(sessionId: string, version: number, frame: Buffer, force?: boolean): void;
}

export interface FanoutDeps {
  bus: SessionBus;
  clock: Clock;
  /** Reads the current state of a session (for snapshots on subscribe and after a resync). */
  readSession: (sessionId: string) => Promise<SessionView>;
  onError?: (err: unknown, context: string) => void;
  /** Every state published for a watched session (the deadline scheduler learns its deadline). */
  onPublishedState?: (state: SessionState) => void;
  /** Called after each published update reached every watcher (not after resyncs), for delivery-latency metrics. */
  onDelivered?: (view: SessionView, watcherCount: number) => void;
}

/** Encoded once as UTF-8, so `ws` need not measure and encode the text again for each socket. */
export function stateFrame(view: SessionView): Buffer {
  return Buffer.from(JSON.stringify({ type: 'STATE', state: view } satisfies StateMessage), 'utf8');
}

export class SessionFanout implements BusListener {
  private readonly watchers = new Map<string, Set<Watcher>>();
  /** Bus subscriptions under way, so a second watcher waits for the first one's. */
  private readonly subscribing = new Map<string, Promise<void>>();
  private readonly deps: FanoutDeps;

  constructor(deps: FanoutDeps) {
    this.deps = deps;
    deps.bus.setListener(this);
  }

  /** Starts delivering the session's updates to `watcher`, and sends it the current state. */
  async watch(sessionId: string, watcher: Watcher): Promise<SessionView> {
    let set = this.watchers.get(sessionId);
    if (!set) {
      set = new Set();
      this.watchers.set(sessionId, set);
      const subscribed = this.deps.bus.subscribe(sessionId);
      this.subscribing.set(sessionId, subscribed);
      // A later subscription (after the last watcher left and another came) is not this one's to clear.
      const settled = () => {
        if (this.subscribing.get(sessionId) === subscribed) this.subscribing.delete(sessionId);
      };
      subscribed.then(settled, settled);
    }
    set.add(watcher);
    // Subscribed before reading, so no update can fall between the snapshot and the feed.
    await this.subscribing.get(sessionId);
    try {
      const view = await this.deps.readSession(sessionId);
      watcher.deliver(sessionId, view.version, stateFrame(view));
      return view;
    } catch (err) {
      await this.unwatch(sessionId, watcher);
      throw err;
    }
  }

  async unwatch(sessionId: string, watcher: Watcher): Promise<void> {
    const set = this.watchers.get(sessionId);
    if (!set?.delete(watcher) || set.size > 0) return;
    this.watchers.delete(sessionId);
    await this.deps.bus.unsubscribe(sessionId);
  }

  watcherCount(sessionId: string): number {
    return this.watchers.get(sessionId)?.size ?? 0;
  }

  get sessionCount(): number {
    return this.watchers.size;
  }

  onState(sessionId: string, stateJson: string): void {
    const set = this.watchers.get(sessionId);
    if (!set || set.size === 0) return;
    let state: SessionState;
    let view: SessionView;
    try {
      state = decodeState(stateJson);
      view = toSessionView(state, this.deps.clock.nowMs());
    } catch (err) {
      this.deps.onError?.(err, `undecodable state published for session ${sessionId}`);
      return;
    }
    this.broadcast(sessionId, view, set, false);
    this.deps.onPublishedState?.(state);
  }

  onResync(): void {
    for (const [sessionId, set] of this.watchers) {
      this.deps.readSession(sessionId).then(
        (view) => this.broadcast(sessionId, view, set, true),
        (err: unknown) => this.deps.onError?.(err, `resync of session ${sessionId}`),
      );
    }
  }

  private broadcast(sessionId: string, view: SessionView, set: Set<Watcher>, force: boolean): void {
    const frame = stateFrame(view);
    for (const watcher of set) watcher.deliver(sessionId, view.version, frame, force);
    // A resync re-sends a state committed long ago: no delivery to measure.
    if (!force) this.deps.onDelivered?.(view, set.size);
  }
}
