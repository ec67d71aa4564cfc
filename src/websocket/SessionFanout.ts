// Who watches which session on this instance, and delivery to them. Subscribes on the bus
// when a session's first watcher arrives and unsubscribes when the last one leaves; builds
// each update's frame once, however many sockets receive it, and not at all when none does
// (the usual case for a clock's own switch: its sender has the new state in its ACK).
import { toSessionView } from '../engine/view.js';
import type { BusListener, SessionBus } from '../types/bus.js';
import type { Clock } from '../types/clock.js';
import type { SessionState, SessionView } from '../types/session.js';
import { decodeState, splitPublished } from '../state/stateCodec.js';
import type { RenderedView } from '../engine/renderedView.js';

/**
 * A `STATE` frame (UTF-8 JSON, to go out as a text frame), built on first use and then shared:
 * an update that every watcher already has is never serialized.
 */
export class StateFrame {
  private built: Buffer | null = null;

  private constructor(private readonly viewJson: () => string) {}

  /** The frame of the session as of when it is first read (server_time: when it was built). */
  static of(view: () => SessionView): StateFrame {
    return new StateFrame(() => JSON.stringify(view()));
  }

  /** The frame of a commit of this instance: the JSON its command's answer has or will have. */
  static ofCommit(rendered: RenderedView): StateFrame {
    return new StateFrame(() => rendered.json);
  }

  get bytes(): Buffer {
    this.built ??= stateFrame(this.viewJson());
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

/**
 * `{ type: 'STATE', state: <view> }` around the view's JSON, encoded once as UTF-8, so `ws` need
 * not measure and encode the text again for each socket.
 */
function stateFrame(viewJson: string): Buffer {
  return Buffer.from(`{"type":"STATE","state":${viewJson}}`, 'utf8');
}

export class SessionFanout implements BusListener {
  private readonly watchers = new Map<string, Set<Watcher>>();
  /** Bus subscriptions under way, so a second watcher waits for the first one's. */
  private readonly subscribing = new Map<string, Promise<void>>();
  /**
   * This instance's newest commit of each watched session, until the store's publication of it
   * comes back by the bus: its frame is then the command's own answer, not decoded and built again.
   */
  private readonly ownCommits = new Map<string, RenderedView>();
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
    this.ownCommits.delete(sessionId);
    await this.deps.bus.unsubscribe(sessionId);
  }

  watcherCount(sessionId: string): number {
    return this.watchers.get(sessionId)?.size ?? 0;
  }

  get sessionCount(): number {
    return this.watchers.size;
  }

  /** A command of this instance committed `rendered`; kept only while the session is watched here. */
  noteCommit(rendered: RenderedView): void {
    const { sessionId } = rendered.state;
    if (this.watchers.has(sessionId)) this.ownCommits.set(sessionId, rendered);
  }

  onState(sessionId: string, message: string): void {
    const set = this.watchers.get(sessionId);
    if (!set || set.size === 0) return;
    const published = this.published(sessionId, message);
    if (published === null) return;
    const { state, frame } = published;
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

  /** The published state and its frame: this instance's own commit, or decoded from the message. */
  private published(sessionId: string, message: string): { state: SessionState; frame: StateFrame } | null {
    const split = splitPublished(message);
    const own = this.ownCommits.get(sessionId);
    // Older commits than this publication will never be asked for.
    if (own !== undefined && split !== null && own.state.version <= split.version) {
      this.ownCommits.delete(sessionId);
      if (own.state.version === split.version) return { state: own.state, frame: StateFrame.ofCommit(own) };
    }
    let state: SessionState;
    try {
      if (split === null) throw new Error('not a published state (<version>|<stateJson>)');
      state = decodeState(split.stateJson);
    } catch (err) {
      this.deps.onError?.(err, `undecodable state published for session ${sessionId}`);
      return null;
    }
    return { state, frame: StateFrame.of(() => toSessionView(state, this.deps.clock.nowMs())) };
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
