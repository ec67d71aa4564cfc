// Who watches which session on this instance, and delivery to them. Subscribes on the bus
// when a session's first watcher arrives and unsubscribes when the last one leaves; builds
// each update's frame once, however many sockets receive it, and not at all when none does
// (the usual case for a clock's own switch: its sender has the new state in its ACK).
import type { StateMessage } from '@synckairos/client/wire';
import { toSessionView } from '../engine/view.js';
import type { BusListener, SessionBus } from '../types/bus.js';
import type { Clock } from '../types/clock.js';
import type { SessionState, SessionView } from '../types/session.js';
import { decodeState } from '../state/stateCodec.js';

/**
 * A `STATE` frame (UTF-8 JSON, to go out as a text frame), built on first use and then shared:
 * an update that every watcher already has is never serialized.
 */
export class StateFrame {
  private built: Buffer | null = null;

  private constructor(private readonly view: () => SessionView) {}

  /** The frame of the session as of when it is first read (server_time: when it was built). */
  static of(view: () => SessionView): StateFrame {
    return new StateFrame(view);
  }

  get bytes(): Buffer {
    this.built ??= stateFrame(this.view());
    return this.built;
  }
}

/** One receiver of frames; a WebSocket connection in practice. */
export interface Watcher {
  /**
   * Sends the frame unless it already has this version or a newer one (`force`: equal is sent
   * too); reads `frame.bytes` only to send them.
   */
  deliver(sessionId: string, version: number, frame: StateFrame, force?: boolean): void;
}

export interface FanoutDeps {
  bus: SessionBus;
  clock: Clock;
  /** Reads the current state of a session (for snapshots on subscribe and after a resync). */
  readSession: (sessionId: string) => Promise<SessionView>;
  onError?: (err: unknown, context: string) => void;
  /** Every state published for a watched session (the deadline scheduler learns its deadline). */
  onPublishedState?: (state: SessionState) => void;
  /**
   * Called after each published update was handed to every watcher (not after resyncs), for
   * delivery-latency metrics; whether any of them sent it or already had it.
   */
  onDelivered?: (state: SessionState, watcherCount: number) => void;
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
      watcher.deliver(
        sessionId,
        view.version,
        StateFrame.of(() => view),
      );
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
    try {
      state = decodeState(stateJson);
    } catch (err) {
      this.deps.onError?.(err, `undecodable state published for session ${sessionId}`);
      return;
    }
    const frame = StateFrame.of(() => toSessionView(state, this.deps.clock.nowMs()));
    try {
      for (const watcher of set) watcher.deliver(sessionId, state.version, frame);
    } catch (err) {
      // The view is built here, on first delivery: a state that decodes but has no view is dropped.
      this.deps.onError?.(err, `undeliverable state published for session ${sessionId}`);
      return;
    }
    this.deps.onDelivered?.(state, set.size);
    this.deps.onPublishedState?.(state);
  }

  onResync(): void {
    for (const [sessionId, set] of this.watchers) {
      // A resync re-sends a state committed long ago: no delivery to measure.
      this.deps.readSession(sessionId).then(
        (view) => {
          const frame = StateFrame.of(() => view);
          for (const watcher of set) watcher.deliver(sessionId, view.version, frame, true);
        },
        (err: unknown) => this.deps.onError?.(err, `resync of session ${sessionId}`),
      );
    }
  }
}
