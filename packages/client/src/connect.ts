// connect(): one session over one WebSocket, kept in sync by itself — the state, the server's
// clock, reconnection — with the session's commands on the low-latency path.
import type { ClientMessage, CommandMessage, ServerMessage } from './wire/protocol.js';
import { parseServerMessage } from './wire/protocol.js';
import type { SessionView } from './wire/session.js';
import { estimateOffset, SlewedOffset, type OffsetEstimate, type PingSample } from './clockSync.js';
import { Emitter } from './emitter.js';
import { fromErrorBody, SyncKairosApiError } from './errors.js';
import {
  elapsedMs,
  groupFace,
  groupRemainingMs,
  participantFace,
  participantRemainingMs,
  sessionRemainingMs,
  type LocalClockFace,
} from './localTime.js';
import {
  resolveWebSocket,
  SOCKET_CLOSED,
  SOCKET_OPEN,
  webSocketUrl,
  type ClientSocket,
  type SocketCloseEvent,
  type SocketMessageEvent,
  type WebSocketConstructor,
} from './socket.js';

/**
 * `disconnected` and `unauthorized` are final: close() was called, the session is gone, or the
 * token was refused and no fresh one came from the token provider.
 */
export type ConnectionStatus = 'connected' | 'reconnecting' | 'disconnected' | 'unauthorized';

/** A token, or a function giving one; a function is called on every (re)connect. */
export type TokenSource = string | (() => string | Promise<string>);

/** A local clock in epoch milliseconds. */
export interface LocalClock {
  nowMs(): number;
}

export interface ConnectOptions {
  /** The service's base URL, e.g. `https://timers.example.com` (ws/wss URLs are accepted too). */
  url: string;
  sessionId: string;
  /**
   * A JWT, sent as the `token` query parameter; or a function returning one (or a promise of
   * one), called on every (re)connect, so a token that expires is replaced by a fresh one.
   */
  token?: TokenSource;
  /**
   * The clock PING `client_time` is read from and `offsetMs` refers to; default
   * `performance.timeOrigin + performance.now()`. Tests inject a skewed one.
   */
  clock?: LocalClock;
  /** A WebSocket constructor; default the global one, or `ws` in Node. */
  WebSocket?: WebSocketConstructor;
  /** PING round trips per clock sync (default 12). */
  syncSamples?: number;
  /** Re-sync the clock this often (default 30 s). */
  resyncIntervalMs?: number;
  /** A command with no ACK or ERROR within this rejects with TIMEOUT (default 10 s). */
  commandTimeoutMs?: number;
  /** connect() rejects if the first state and sync are not in within this (default 10 s). */
  connectTimeoutMs?: number;
  /** Reconnect delays: full jitter over `baseDelayMs · 2^attempt`, at most `maxDelayMs` (250 ms, 10 s). */
  reconnect?: { baseDelayMs?: number; maxDelayMs?: number };
}

export interface ClockSyncInfo {
  /** Server time minus the local clock's time. */
  offsetMs: number;
  /** The offset is right within ± this. */
  uncertaintyMs: number;
  /** The best round trip of the sync. */
  roundTripMs: number;
}

export interface SyncKairosEvents {
  /** Every state applied (a newer version): from STATE, or from a command's ACK. */
  state: (state: SessionView) => void;
  /** A state whose event is `expired` or `participant_expired`. */
  expired: (state: SessionView) => void;
  /**
   * `disconnected` is final: close() was called (no error) or the session is gone (error).
   * `unauthorized` is final too: the token was refused (expired) and no other one came.
   */
  connection: (status: ConnectionStatus, error?: SyncKairosApiError) => void;
  /** A clock sync finished. */
  sync: (sync: ClockSyncInfo) => void;
}

export interface CommandOptions {
  /** Refused with VERSION_CONFLICT unless the session is at this version. */
  expectedVersion?: number;
}

/** concurrent sessions: pause, resume or complete one participant's (group's) clock; every clock without. */
export interface OneClockOptions extends CommandOptions {
  participantId?: string;
  groupId?: string;
}

export interface SyncKairosHandle {
  readonly sessionId: string;
  /** The last applied state. */
  readonly state: SessionView;
  /** Server time minus local clock time, from the last sync. */
  readonly offsetMs: number;
  readonly uncertaintyMs: number;
  readonly roundTripMs: number;
  readonly connectionStatus: ConnectionStatus;
  /** The server's time now, as estimated here (epoch ms, fractional); never goes back by less than 250 ms. */
  now(): number;
  /** A participant's remaining time now (or at a server time); null if unknown or unlimited. */
  remaining(participantId: string, atServerMs?: number): number | null;
  /**
   * Everything a participant's clock face shows now (or at a server time), computed locally with
   * the server's formulas: time_remaining_ms and, where its time control has them,
   * delay_remaining_ms, periods_left, period_remaining_ms, moves_left_in_period, stage_index,
   * moves_to_next_stage. Null for an unknown participant.
   */
  clockFace(participantId: string, atServerMs?: number): LocalClockFace | null;
  /** per_group: a group's remaining time. */
  groupRemaining(groupId: string, atServerMs?: number): number | null;
  /** per_group: a group's clock face, as clockFace(). */
  groupClockFace(groupId: string, atServerMs?: number): LocalClockFace | null;
  /** global: the session bank; count_up: what is left to max_time_ms. */
  sessionRemaining(atServerMs?: number): number | null;
  /** count_up: elapsed time, pauses excluded. */
  elapsed(atServerMs?: number): number | null;
  start(options?: CommandOptions & { startAt?: number }): Promise<SessionView>;
  /** The turn to the next participant in order; `nextParticipantId` (admins only) names another. */
  switch(options?: CommandOptions & { nextParticipantId?: string }): Promise<SessionView>;
  pause(options?: OneClockOptions): Promise<SessionView>;
  resume(options?: OneClockOptions): Promise<SessionView>;
  complete(options?: OneClockOptions): Promise<SessionView>;
  adjust(
    options: CommandOptions & { deltaMs: number; participantId?: string; groupId?: string },
  ): Promise<SessionView>;
  /** Re-syncs the clock now (it also does so every 30 s, after a reconnect and when a tab comes back). */
  sync(): Promise<ClockSyncInfo>;
  on<K extends keyof SyncKairosEvents>(event: K, listener: SyncKairosEvents[K]): () => void;
  /** Stops for good: closes the socket, stops reconnecting, rejects pending commands. Safe to call twice. */
  close(): Promise<void>;
}

const DEFAULT_SYNC_SAMPLES = 12;
const DEFAULT_RESYNC_INTERVAL_MS = 30_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_BASE_DELAY_MS = 250;
const DEFAULT_MAX_DELAY_MS = 10_000;
/** A PONG that has not come back within this means the connection is dead. */
const PING_TIMEOUT_MS = 5_000;
/** close() waits at most this long for the socket's close handshake. */
const CLOSE_WAIT_MS = 1_000;
const CLOSE_GOING_AWAY = 1001;

type Timer = ReturnType<typeof setTimeout>;

function defaultClock(): LocalClock {
  return { nowMs: () => performance.timeOrigin + performance.now() };
}

/** Counting between syncs is always on this clock, whatever clock was injected: it never steps. */
function monotonicMs(): number {
  return performance.now();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function unref(timer: Timer): void {
  (timer as { unref?: () => void }).unref?.();
}

function hasDocument(): boolean {
  return typeof document !== 'undefined' && typeof document.addEventListener === 'function';
}

interface PendingCommand {
  resolve: (state: SessionView) => void;
  reject: (err: SyncKairosApiError) => void;
  timer: Timer;
}

interface PendingPing {
  clientTime: number;
  resolve: (serverMs: number, receivedClockMs: number, receivedMonoMs: number) => void;
  reject: (err: SyncKairosApiError) => void;
}

/** Connects to a session; resolves once its first state and a clock sync are in. */
export async function connect(options: ConnectOptions): Promise<SyncKairosHandle> {
  const WebSocketImpl = options.WebSocket ?? (await resolveWebSocket());
  const connection = new SessionConnection(options, WebSocketImpl);
  await connection.ready;
  return connection;
}

class SessionConnection implements SyncKairosHandle {
  readonly sessionId: string;
  readonly ready: Promise<void>;
  /** The URL without the token, for messages. */
  private readonly url: string;
  private readonly baseUrl: string;
  private readonly token: TokenSource | undefined;
  /** The token the current socket was opened with. */
  private socketToken: string | undefined;
  /** The token the server refused (UNAUTHORIZED): it is never sent again. */
  private refusedToken: string | undefined;
  private refusal: SyncKairosApiError | null = null;
  private readonly clock: LocalClock;
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly syncSamples: number;
  private readonly resyncIntervalMs: number;
  private readonly commandTimeoutMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly emitter = new Emitter<SyncKairosEvents>();
  /** Server-minus-monotonic offset, slewed: what now() adds to the monotonic clock. */
  private readonly slew = new SlewedOffset();
  private lastNowMs = Number.NEGATIVE_INFINITY;
  private readonly requestIdPrefix = `sdk-${Math.random().toString(36).slice(2, 8)}-`;
  private phase: 'connecting' | 'connected' | 'reconnecting' | 'closed' = 'connecting';
  private current: SessionView | null = null;
  private estimate: OffsetEstimate | null = null;
  private socket: ClientSocket | null = null;
  /** The socket the last sync ran on; a socket is ready when it has synced and sent a state. */
  private syncedSocket: ClientSocket | null = null;
  private stateSocket: ClientSocket | null = null;
  private syncing: { socket: ClientSocket | null; promise: Promise<ClockSyncInfo> } | null = null;
  private pendingPing: PendingPing | null = null;
  private readonly pending = new Map<string, PendingCommand>();
  private requestSeq = 0;
  private attempt = 0;
  private reconnectTimer: Timer | null = null;
  private resyncTimer: Timer | null = null;
  private connectTimer: Timer | null = null;
  private closing: Promise<void> | null = null;
  private settleReady: { resolve: () => void; reject: (err: SyncKairosApiError) => void } | null = null;

  constructor(options: ConnectOptions, WebSocketImpl: WebSocketConstructor) {
    this.sessionId = options.sessionId;
    this.baseUrl = options.url;
    this.url = webSocketUrl(options.url, options.sessionId);
    this.token = options.token;
    this.clock = options.clock ?? defaultClock();
    this.WebSocketImpl = WebSocketImpl;
    this.syncSamples = Math.max(1, options.syncSamples ?? DEFAULT_SYNC_SAMPLES);
    this.resyncIntervalMs = options.resyncIntervalMs ?? DEFAULT_RESYNC_INTERVAL_MS;
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.baseDelayMs = options.reconnect?.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    this.maxDelayMs = options.reconnect?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    this.ready = new Promise((resolve, reject) => (this.settleReady = { resolve, reject }));
    this.connectTimer = setTimeout(
      () =>
        void this.shutdown(
          new SyncKairosApiError('TIMEOUT', `No state and clock sync from ${this.url} in time`),
        ),
      options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    );
    if (hasDocument()) document.addEventListener('visibilitychange', this.handleVisibility);
    void this.open();
  }

  // ---- Reading the time ----

  get state(): SessionView {
    return this.current as SessionView;
  }

  get offsetMs(): number {
    return this.estimate?.offsetMs ?? Number.NaN;
  }

  get uncertaintyMs(): number {
    return this.estimate?.uncertaintyMs ?? Number.NaN;
  }

  get roundTripMs(): number {
    return this.estimate?.roundTripMs ?? Number.NaN;
  }

  get connectionStatus(): ConnectionStatus {
    if (this.phase === 'closed') return this.refusal === null ? 'disconnected' : 'unauthorized';
    return this.phase === 'connected' ? 'connected' : 'reconnecting';
  }

  now(): number {
    const monoMs = monotonicMs();
    // The slew alone never goes back; this max absorbs float rounding (an ulp is ~0.2 µs at
    // epoch magnitude). Only a jump (a correction of 250 ms or more) resets it.
    this.lastNowMs = Math.max(this.lastNowMs, monoMs + this.slew.at(monoMs));
    return this.lastNowMs;
  }

  remaining(participantId: string, atServerMs: number = this.now()): number | null {
    return this.current === null ? null : participantRemainingMs(this.current, participantId, atServerMs);
  }

  clockFace(participantId: string, atServerMs: number = this.now()): LocalClockFace | null {
    return this.current === null ? null : participantFace(this.current, participantId, atServerMs);
  }

  groupRemaining(groupId: string, atServerMs: number = this.now()): number | null {
    return this.current === null ? null : groupRemainingMs(this.current, groupId, atServerMs);
  }

  groupClockFace(groupId: string, atServerMs: number = this.now()): LocalClockFace | null {
    return this.current === null ? null : groupFace(this.current, groupId, atServerMs);
  }

  sessionRemaining(atServerMs: number = this.now()): number | null {
    return this.current === null ? null : sessionRemainingMs(this.current, atServerMs);
  }

  elapsed(atServerMs: number = this.now()): number | null {
    return this.current === null ? null : elapsedMs(this.current, atServerMs);
  }

  on<K extends keyof SyncKairosEvents>(event: K, listener: SyncKairosEvents[K]): () => void {
    return this.emitter.on(event, listener);
  }

  // ---- Commands ----

  start(options: CommandOptions & { startAt?: number } = {}): Promise<SessionView> {
    return this.command('START', { expected_version: options.expectedVersion, start_at: options.startAt });
  }

  switch(options: CommandOptions & { nextParticipantId?: string } = {}): Promise<SessionView> {
    return this.command('SWITCH', {
      expected_version: options.expectedVersion,
      next_participant_id: options.nextParticipantId,
    });
  }

  pause(options: OneClockOptions = {}): Promise<SessionView> {
    return this.command('PAUSE', oneClockBody(options));
  }

  resume(options: OneClockOptions = {}): Promise<SessionView> {
    return this.command('RESUME', oneClockBody(options));
  }

  complete(options: OneClockOptions = {}): Promise<SessionView> {
    return this.command('COMPLETE', oneClockBody(options));
  }

  adjust(
    options: CommandOptions & { deltaMs: number; participantId?: string; groupId?: string },
  ): Promise<SessionView> {
    return this.command('ADJUST', {
      expected_version: options.expectedVersion,
      delta_ms: options.deltaMs,
      participant_id: options.participantId,
      group_id: options.groupId,
    });
  }

  private command<T extends CommandMessage['type']>(
    type: T,
    body: Omit<Extract<CommandMessage, { type: T }>, 'type' | 'request_id'>,
  ): Promise<SessionView> {
    if (this.phase === 'closed')
      return Promise.reject(new SyncKairosApiError('CLOSED', 'The handle is closed'));
    const socket = this.socket;
    // Not queued for later: a clock tap sent after a reconnect would land at the wrong time.
    if (this.phase !== 'connected' || socket === null || socket.readyState !== SOCKET_OPEN) {
      return Promise.reject(
        new SyncKairosApiError('DISCONNECTED', `${type} not sent: the connection is down, reconnecting`),
      );
    }
    const requestId = `${this.requestIdPrefix}${++this.requestSeq}`;
    return new Promise<SessionView>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new SyncKairosApiError('TIMEOUT', `${type} got no answer within ${this.commandTimeoutMs} ms`));
      }, this.commandTimeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      // JSON.stringify leaves out the undefined fields, which the server would refuse.
      const message = { ...body, type, request_id: requestId } as CommandMessage;
      socket.send(JSON.stringify(message));
    });
  }

  private settleCommand(requestId: string, outcome: SessionView | SyncKairosApiError): void {
    const command = this.pending.get(requestId);
    if (command === undefined) return;
    this.pending.delete(requestId);
    clearTimeout(command.timer);
    if (outcome instanceof SyncKairosApiError) command.reject(outcome);
    else command.resolve(outcome);
  }

  private rejectAllCommands(err: SyncKairosApiError): void {
    for (const requestId of [...this.pending.keys()]) this.settleCommand(requestId, err);
  }

  // ---- Clock sync ----

  sync(): Promise<ClockSyncInfo> {
    // One sync per socket at a time; one still winding down on a dropped socket does not count.
    if (this.syncing === null || this.syncing.socket !== this.socket) {
      const promise: Promise<ClockSyncInfo> = this.runSync().finally(() => {
        if (this.syncing?.promise === promise) this.syncing = null;
      });
      this.syncing = { socket: this.socket, promise };
    }
    return this.syncing.promise;
  }

  private async runSync(): Promise<ClockSyncInfo> {
    const socket = this.socket;
    if (socket === null || socket.readyState !== SOCKET_OPEN)
      throw new SyncKairosApiError('DISCONNECTED', 'Cannot sync the clock: the connection is down');
    const onClock: PingSample[] = [];
    const onMonotonic: PingSample[] = [];
    for (let i = 0; i < this.syncSamples; i++) {
      // Spaced a little and irregularly, so the samples meet the server's millisecond at different phases.
      if (i > 0) await sleep(1 + Math.random() * 3);
      if (socket !== this.socket)
        throw new SyncKairosApiError('DISCONNECTED', 'The connection dropped during the clock sync');
      const sample = await this.ping(socket);
      onClock.push(sample.clock);
      onMonotonic.push(sample.monotonic);
    }
    this.estimate = estimateOffset(onClock);
    if (this.slew.set(estimateOffset(onMonotonic).offsetMs, monotonicMs()) === 'jump')
      this.lastNowMs = Number.NEGATIVE_INFINITY;
    this.syncedSocket = socket;
    const info: ClockSyncInfo = {
      offsetMs: this.estimate.offsetMs,
      uncertaintyMs: this.estimate.uncertaintyMs,
      roundTripMs: this.estimate.roundTripMs,
    };
    this.emitter.emit('sync', info);
    this.checkReady(socket);
    return info;
  }

  /** One PING, timed on both the injected clock and the monotonic one. */
  private ping(socket: ClientSocket): Promise<{ clock: PingSample; monotonic: PingSample }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingPing = null;
        reject(new SyncKairosApiError('TIMEOUT', `No PONG within ${PING_TIMEOUT_MS} ms`));
      }, PING_TIMEOUT_MS);
      const sentClockMs = this.clock.nowMs();
      const sentMonoMs = monotonicMs();
      this.pendingPing = {
        clientTime: sentClockMs,
        resolve: (serverMs, receivedClockMs, receivedMonoMs) => {
          clearTimeout(timer);
          resolve({
            clock: { sentMs: sentClockMs, receivedMs: receivedClockMs, serverMs },
            monotonic: { sentMs: sentMonoMs, receivedMs: receivedMonoMs, serverMs },
          });
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      socket.send(JSON.stringify({ type: 'PING', client_time: sentClockMs } satisfies ClientMessage));
    });
  }

  /** A sync started by the SDK itself: a dead connection (no PONG) is dropped and reconnected. */
  private syncInBackground(): void {
    const socket = this.socket;
    this.sync().catch((err: unknown) => {
      if (err instanceof SyncKairosApiError && err.code === 'TIMEOUT' && socket === this.socket && socket)
        this.dropSocket(socket);
    });
  }

  // ---- Connection ----

  /** Opens a socket with a token from the source; a token the server refused is never sent again. */
  private async open(): Promise<void> {
    this.reconnectTimer = null;
    let token: string | undefined;
    try {
      token = typeof this.token === 'function' ? await this.token() : this.token;
    } catch (err) {
      void this.shutdown(new SyncKairosApiError('UNAUTHORIZED', 'The token provider failed', { cause: err }));
      return;
    }
    if (this.phase === 'closed') return;
    if (token !== undefined && token === this.refusedToken) {
      void this.shutdown(
        this.refusal ?? new SyncKairosApiError('UNAUTHORIZED', 'The token was refused and no other one came'),
      );
      return;
    }
    this.socketToken = token;
    let socket: ClientSocket;
    try {
      socket = new this.WebSocketImpl(webSocketUrl(this.baseUrl, this.sessionId, token));
    } catch (err) {
      void this.shutdown(new SyncKairosApiError('NETWORK_ERROR', `Cannot open ${this.url}`, { cause: err }));
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (socket === this.socket) this.syncInBackground();
    };
    socket.onmessage = (event: SocketMessageEvent) => this.handleMessage(socket, event);
    socket.onclose = (event: SocketCloseEvent) => this.handleClose(socket, event.code);
    // Every socket gets an error listener (`ws` throws without one); the close event follows.
    // `ws` names the HTTP status of a refused upgrade; a browser does not tell.
    socket.onerror = (event: { message?: unknown }) => {
      if (socket === this.socket && typeof event.message === 'string' && /\b401\b/.test(event.message))
        this.refuseToken(new SyncKairosApiError('UNAUTHORIZED', 'The server refused the token'));
    };
  }

  private handleMessage(socket: ClientSocket, event: SocketMessageEvent): void {
    // Read first: the PONG's arrival time is what the sync is made of.
    const receivedMonoMs = monotonicMs();
    const receivedClockMs = this.clock.nowMs();
    if (socket !== this.socket || typeof event.data !== 'string') return;
    // A frame that is not a server message is dropped: not ours to fix.
    const message: ServerMessage | null = parseServerMessage(event.data);
    if (message === null) return;
    switch (message.type) {
      case 'STATE': {
        const state = message.state;
        if (state.session_id !== this.sessionId) return;
        this.applyState(state);
        this.stateSocket = socket;
        this.checkReady(socket);
        return;
      }
      case 'PONG': {
        const ping = this.pendingPing;
        if (ping === null || message.client_time !== ping.clientTime) return;
        this.pendingPing = null;
        ping.resolve(message.server_time, receivedClockMs, receivedMonoMs);
        return;
      }
      case 'ACK': {
        const state = message.state;
        if (state?.session_id === this.sessionId) this.applyState(state);
        if (message.request_id !== null && state !== undefined) this.settleCommand(message.request_id, state);
        return;
      }
      case 'ERROR': {
        const error =
          fromErrorBody(message) ?? new SyncKairosApiError('BAD_RESPONSE', 'ERROR without an error body');
        if (message.request_id !== null) return this.settleCommand(message.request_id, error);
        // The session is gone (deleted, or lost with an embedded server): nothing to reconnect to.
        if (error.code === 'SESSION_NOT_FOUND') void this.shutdown(error);
        // The token expired and the server closes: not waiting for its close handshake, the
        // handle stops, or reconnects with a fresh token from the provider.
        if (error.code === 'UNAUTHORIZED') {
          this.refuseToken(error);
          this.dropSocket(socket);
        }
        // Other connection errors (a broken limit) come with a close, which reconnects.
        return;
      }
    }
  }

  /** The current socket's token is refused: without another from the provider, nothing reconnects. */
  private refuseToken(error: SyncKairosApiError): void {
    this.refusedToken = this.socketToken ?? '';
    this.refusal = error;
  }

  /** Versions only move forward: a STATE older than (or as old as) the applied one is dropped. */
  private applyState(state: SessionView): void {
    if (this.current !== null && state.version <= this.current.version) return;
    this.current = state;
    this.emitter.emit('state', state);
    if (state.event === 'expired' || state.event === 'participant_expired')
      this.emitter.emit('expired', state);
  }

  private checkReady(socket: ClientSocket): void {
    if (socket !== this.socket || this.syncedSocket !== socket || this.stateSocket !== socket) return;
    if (this.phase === 'connected' || this.phase === 'closed') return;
    this.phase = 'connected';
    this.attempt = 0;
    this.refusal = null;
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    if (this.resyncTimer === null) {
      this.resyncTimer = setInterval(() => {
        // A hidden tab's timers are throttled; it re-syncs when it is shown again.
        if (this.phase === 'connected' && !(hasDocument() && document.visibilityState === 'hidden'))
          this.syncInBackground();
      }, this.resyncIntervalMs);
      unref(this.resyncTimer);
    }
    this.settleReady?.resolve();
    this.settleReady = null;
    this.emitter.emit('connection', 'connected');
  }

  private handleClose(socket: ClientSocket, code: number): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.syncedSocket = null;
    this.stateSocket = null;
    socket.onopen = socket.onmessage = socket.onclose = null;
    // A token refused mid-session: what was in flight is refused for that reason.
    const lost =
      this.refusal ?? new SyncKairosApiError('DISCONNECTED', `The connection closed (code ${code})`);
    this.pendingPing?.reject(lost);
    this.pendingPing = null;
    this.rejectAllCommands(lost);
    if (this.phase === 'closed') return;
    // A refused token with no provider to ask for another: a reconnect would be refused again.
    if (this.refusal !== null && (typeof this.token !== 'function' || this.phase === 'connecting')) {
      void this.shutdown(this.refusal);
      return;
    }
    if (this.phase === 'connecting') {
      // The first connection failed: connect() rejects, the caller decides whether to retry.
      void this.shutdown(
        new SyncKairosApiError('NETWORK_ERROR', `Could not connect to ${this.url} (code ${code})`),
      );
      return;
    }
    if (this.phase === 'connected') {
      this.phase = 'reconnecting';
      this.emitter.emit('connection', 'reconnecting');
    }
    this.scheduleReconnect(code === CLOSE_GOING_AWAY);
  }

  /** Gives up on a socket at once, without waiting for a close handshake a dead peer never answers. */
  private dropSocket(socket: ClientSocket): void {
    socket.onerror = () => {};
    try {
      socket.close();
    } catch {
      // Closing a socket that is already failing.
    }
    this.handleClose(socket, 1006);
  }

  /**
   * Full jitter (a random delay up to base · 2^attempt, capped), so clients that lost the same
   * server do not all come back at once. A server going away (1001) asked us to reconnect
   * elsewhere: that is not a failure, so it does not back off.
   */
  private scheduleReconnect(goingAway: boolean): void {
    const ceilingMs = goingAway
      ? this.baseDelayMs
      : Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** this.attempt);
    if (!goingAway) this.attempt++;
    this.reconnectTimer = setTimeout(() => void this.open(), Math.random() * ceilingMs);
  }

  private readonly handleVisibility = (): void => {
    if (document.visibilityState !== 'visible') return;
    // The tab may have slept: the monotonic clock may have stopped, the socket may be dead.
    if (this.phase === 'connected') this.syncInBackground();
    else if (this.phase === 'reconnecting' && this.reconnectTimer !== null) {
      clearTimeout(this.reconnectTimer);
      void this.open();
    }
  };

  // ---- Closing ----

  close(): Promise<void> {
    return this.shutdown();
  }

  /** Stops for good; with an error when it was not asked for (the session is gone, connect failed). */
  private shutdown(error?: SyncKairosApiError): Promise<void> {
    this.closing ??= this.runShutdown(error);
    return this.closing;
  }

  private async runShutdown(error: SyncKairosApiError | undefined): Promise<void> {
    const wasUp = this.phase === 'connected' || this.phase === 'reconnecting';
    this.phase = 'closed';
    for (const timer of [this.reconnectTimer, this.connectTimer]) if (timer !== null) clearTimeout(timer);
    if (this.resyncTimer !== null) clearInterval(this.resyncTimer);
    this.reconnectTimer = this.connectTimer = this.resyncTimer = null;
    if (hasDocument()) document.removeEventListener('visibilitychange', this.handleVisibility);
    const reason = error ?? new SyncKairosApiError('CLOSED', 'The handle was closed');
    this.pendingPing?.reject(reason);
    this.pendingPing = null;
    this.rejectAllCommands(reason);
    this.settleReady?.reject(reason);
    this.settleReady = null;
    const socket = this.socket;
    this.socket = null;
    // A refused token ends the handle as `unauthorized`, even before it was ever up.
    if (error !== undefined && error === this.refusal) this.emitter.emit('connection', 'unauthorized', error);
    else if (wasUp) this.emitter.emit('connection', 'disconnected', error);
    if (socket !== null) await closeSocket(socket);
  }
}

/** Closes a socket and waits (a little) for it to be closed. */
function closeSocket(socket: ClientSocket): Promise<void> {
  if (socket.readyState === SOCKET_CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, CLOSE_WAIT_MS);
    socket.onopen = socket.onmessage = null;
    socket.onerror = () => {};
    socket.onclose = () => {
      clearTimeout(timer);
      resolve();
    };
    try {
      socket.close(1000, 'client closed');
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

/** A pause, resume or complete body: the version guard and the one clock it names, if any. */
export function oneClockBody(options: OneClockOptions): {
  expected_version: number | undefined;
  participant_id: string | undefined;
  group_id: string | undefined;
} {
  return {
    expected_version: options.expectedVersion,
    participant_id: options.participantId,
    group_id: options.groupId,
  };
}
