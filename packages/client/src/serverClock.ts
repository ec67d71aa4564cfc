// The server's clock as one handle sees it: PINGs on the current socket, a burst at connect, a
// few per second in the background for the first seconds (the estimate tightens as samples
// with lower round trips come in), a burst every 30 s after that; and now(), which never goes
// back. The estimate itself is clockSync.ts's, pure.
import type { ClientMessage, PongMessage } from './wire/protocol.js';
import { ClockFilter, SlewedOffset, type OffsetEstimate } from './clockSync.js';
import { SyncKairosApiError } from './errors.js';
import { monotonicMs, sleep, unref, type LocalClock, type Timer } from './runtime.js';
import { SOCKET_OPEN, type ClientSocket } from './socket.js';

export interface ClockSyncInfo {
  /** Server time minus the local clock's time. */
  offsetMs: number;
  /** The offset is right within ± this. */
  uncertaintyMs: number;
  /** The best round trip of the samples the estimate rests on. */
  roundTripMs: number;
}

export interface ServerClockOptions {
  /** The clock PING `client_time` is read from and `offsetMs` refers to. */
  clock: LocalClock;
  /** PING round trips per burst (at connect, on sync(), every resyncIntervalMs). */
  syncSamples: number;
  resyncIntervalMs: number;
  /** From a socket's opening, background PINGs go on for this long (alongside its first burst)… */
  refineWindowMs: number;
  /** …one every this many ms on average. */
  refineIntervalMs: number;
}

export interface ServerClockHooks {
  /** A new estimate is in effect on `socket`: after a burst, or when background samples moved it. */
  onSync(info: ClockSyncInfo, socket: ClientSocket): void;
  /** A PING of the SDK's own got no PONG: the socket is dead. */
  onDeadSocket(socket: ClientSocket): void;
  /** Whether the periodic re-sync should run now (connected, page shown). */
  mayResync(): boolean;
}

/** A PONG that has not come back within this means the connection is dead. */
const PING_TIMEOUT_MS = 5_000;
/** Background PINGs in flight at most: a slow path gets fewer samples, never a queue of them. */
const MAX_PINGS_IN_FLIGHT = 8;
/** A background sample that moves the estimate less than this is not announced (`sync` stays rare). */
const PUBLISH_STEP_MS = 0.01;

interface PendingPing {
  sentClockMs: number;
  sentMonoMs: number;
  resolve: () => void;
  reject: (err: SyncKairosApiError) => void;
  timer: Timer;
}

export class ServerClock {
  /** The socket the first burst has finished on: with a state, it makes the handle ready. */
  syncedSocket: ClientSocket | null = null;
  private socket: ClientSocket | null = null;
  private openedAtMonoMs = 0;
  /** Samples on the injected clock (for offsetMs) and on the monotonic one (for now()). */
  private readonly onClock = new ClockFilter();
  private readonly onMonotonic = new ClockFilter();
  private published: OffsetEstimate | null = null;
  /** Server-minus-monotonic offset, slewed: what now() adds to the monotonic clock. */
  private readonly slew = new SlewedOffset();
  private lastNowMs = Number.NEGATIVE_INFINITY;
  /** In flight, by the `client_time` they were sent with. */
  private readonly pings = new Map<number, PendingPing>();
  private burst: { socket: ClientSocket; promise: Promise<ClockSyncInfo> } | null = null;
  private refineTimer: Timer | null = null;
  private resyncTimer: Timer | null = null;

  constructor(
    private readonly options: ServerClockOptions,
    private readonly hooks: ServerClockHooks,
  ) {}

  get offsetMs(): number {
    return this.published?.offsetMs ?? Number.NaN;
  }

  get uncertaintyMs(): number {
    return this.published?.uncertaintyMs ?? Number.NaN;
  }

  get roundTripMs(): number {
    return this.published?.roundTripMs ?? Number.NaN;
  }

  /** The server's time now (epoch ms, fractional); never goes back by less than a jump (250 ms). */
  now(): number {
    const monoMs = monotonicMs();
    // The slew alone never goes back; this max absorbs float rounding (an ulp is ~0.2 µs at
    // epoch magnitude). Only a jump (a correction of 250 ms or more) resets it.
    this.lastNowMs = Math.max(this.lastNowMs, monoMs + this.slew.at(monoMs));
    return this.lastNowMs;
  }

  /** A socket opened: its samples start afresh (it may reach another server), with a burst. */
  attach(socket: ClientSocket): void {
    this.socket = socket;
    this.openedAtMonoMs = monotonicMs();
    this.onClock.clear();
    this.onMonotonic.clear();
    this.syncInBackground();
    this.scheduleRefine(socket);
  }

  /** The socket is gone: its PINGs fail with `reason`, its background sampling stops. */
  detach(socket: ClientSocket, reason: SyncKairosApiError): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.syncedSocket = null;
    this.stopRefining();
    for (const ping of this.pings.values()) {
      clearTimeout(ping.timer);
      ping.reject(reason);
    }
    this.pings.clear();
  }

  /** For good: no more PINGs of any kind. */
  stop(reason: SyncKairosApiError): void {
    if (this.socket !== null) this.detach(this.socket, reason);
    if (this.resyncTimer !== null) clearInterval(this.resyncTimer);
    this.resyncTimer = null;
  }

  /** Re-syncs every resyncIntervalMs from now on (once the handle is first up). */
  startResyncing(): void {
    if (this.resyncTimer !== null) return;
    this.resyncTimer = setInterval(() => {
      if (this.hooks.mayResync()) this.syncInBackground();
    }, this.options.resyncIntervalMs);
    unref(this.resyncTimer);
  }

  /** A burst of PINGs now; one per socket at a time. */
  sync(): Promise<ClockSyncInfo> {
    const socket = this.socket;
    if (socket === null || socket.readyState !== SOCKET_OPEN)
      return Promise.reject(
        new SyncKairosApiError('DISCONNECTED', 'Cannot sync the clock: the connection is down'),
      );
    if (this.burst === null || this.burst.socket !== socket) {
      const promise: Promise<ClockSyncInfo> = this.runBurst(socket).finally(() => {
        if (this.burst?.promise === promise) this.burst = null;
      });
      this.burst = { socket, promise };
    }
    return this.burst.promise;
  }

  /** A sync started by the SDK itself: a dead connection (no PONG) is dropped and reconnected. */
  syncInBackground(): void {
    this.sync().catch((err: unknown) => this.backgroundFailed(err));
  }

  /** A PONG on the current socket, with the times it arrived at (read before anything else). */
  pong(socket: ClientSocket, message: PongMessage, receivedClockMs: number, receivedMonoMs: number): void {
    if (socket !== this.socket) return;
    const ping = this.pings.get(message.client_time);
    if (ping === undefined) return;
    this.pings.delete(message.client_time);
    clearTimeout(ping.timer);
    this.onClock.add({
      sentMs: ping.sentClockMs,
      receivedMs: receivedClockMs,
      serverMs: message.server_time,
    });
    this.onMonotonic.add({
      sentMs: ping.sentMonoMs,
      receivedMs: receivedMonoMs,
      serverMs: message.server_time,
    });
    ping.resolve();
  }

  private async runBurst(socket: ClientSocket): Promise<ClockSyncInfo> {
    for (let i = 0; i < this.options.syncSamples; i++) {
      // Spaced a little and irregularly, so the samples meet the server's millisecond at different phases.
      if (i > 0) await sleep(1 + Math.random() * 3);
      if (socket !== this.socket)
        throw new SyncKairosApiError('DISCONNECTED', 'The connection dropped during the clock sync');
      await this.ping(socket);
    }
    return this.publish(socket, true) as ClockSyncInfo;
  }

  /** Sends one PING; resolves once its PONG is a sample. */
  private ping(socket: ClientSocket): Promise<void> {
    return new Promise((resolve, reject) => {
      const sentMonoMs = monotonicMs();
      const sentClockMs = this.options.clock.nowMs();
      // client_time only pairs the PONG with its PING: an injected whole-ms clock may repeat.
      let key = sentClockMs;
      while (this.pings.has(key)) key += 0.001;
      const timer = setTimeout(() => {
        this.pings.delete(key);
        reject(new SyncKairosApiError('TIMEOUT', `No PONG within ${PING_TIMEOUT_MS} ms`));
      }, PING_TIMEOUT_MS);
      this.pings.set(key, { sentClockMs, sentMonoMs, resolve, reject, timer });
      socket.send(JSON.stringify({ type: 'PING', client_time: key } satisfies ClientMessage));
    });
  }

  /**
   * Background sampling for the socket's first refineWindowMs: PINGs at irregular intervals
   * (so they do not keep meeting the same jitter or the same phase of the server's millisecond),
   * at most MAX_PINGS_IN_FLIGHT at once, each sample announced if it moved the estimate.
   */
  private scheduleRefine(socket: ClientSocket): void {
    this.stopRefining();
    const untilMonoMs = this.openedAtMonoMs + this.options.refineWindowMs;
    const tick = (): void => {
      this.refineTimer = null;
      if (socket !== this.socket || monotonicMs() >= untilMonoMs) return;
      if (this.pings.size < MAX_PINGS_IN_FLIGHT) {
        this.ping(socket).then(
          () => this.publish(socket, false),
          (err: unknown) => this.backgroundFailed(err),
        );
      }
      this.refineTimer = setTimeout(tick, this.options.refineIntervalMs * (0.5 + Math.random()));
      unref(this.refineTimer);
    };
    tick();
  }

  private stopRefining(): void {
    if (this.refineTimer !== null) clearTimeout(this.refineTimer);
    this.refineTimer = null;
  }

  /** Puts the filters' estimate in effect; a background one only if it moved. */
  private publish(socket: ClientSocket, force: boolean): ClockSyncInfo | null {
    const estimate = this.onClock.estimate();
    const onMonotonic = this.onMonotonic.estimate();
    if (estimate === null || onMonotonic === null || socket !== this.socket) return null;
    // Background samples only refine a socket whose first burst is done.
    if (!force && this.syncedSocket !== socket) return null;
    const previous = this.published;
    if (
      !force &&
      previous !== null &&
      Math.abs(estimate.offsetMs - previous.offsetMs) < PUBLISH_STEP_MS &&
      Math.abs(estimate.uncertaintyMs - previous.uncertaintyMs) < PUBLISH_STEP_MS
    )
      return null;
    this.published = estimate;
    if (this.slew.set(onMonotonic.offsetMs, monotonicMs()) === 'jump')
      this.lastNowMs = Number.NEGATIVE_INFINITY;
    this.syncedSocket = socket;
    const info: ClockSyncInfo = {
      offsetMs: estimate.offsetMs,
      uncertaintyMs: estimate.uncertaintyMs,
      roundTripMs: estimate.roundTripMs,
    };
    this.hooks.onSync(info, socket);
    return info;
  }

  private backgroundFailed(err: unknown): void {
    const socket = this.socket;
    if (err instanceof SyncKairosApiError && err.code === 'TIMEOUT' && socket !== null)
      this.hooks.onDeadSocket(socket);
  }
}
