// connect(): one session over one WebSocket, kept in sync by itself — the state, the server's
// clock, reconnection — with the session's commands on the low-latency path.
import type { CommandMessage, ServerMessage } from './wire/protocol.js';
import { parseServerMessage } from './wire/protocol.js';
import type { SessionView } from './wire/session.js';
import { PendingCommands, type CommandBody } from './commands.js';
import { Emitter } from './emitter.js';
import { fromErrorBody, SyncKairosApiError } from './errors.js';
import {
  elapsedMs,
  groupFace,
  groupRemainingMs,
  participantFace,
  participantRemainingMs,
  phaseAt,
  sessionRemainingMs,
  type LocalClockFace,
} from './localTime.js';
import { defaultClock, hasDocument, monotonicMs, type LocalClock, type Timer } from './runtime.js';
import { ServerClock, type ClockSyncInfo } from './serverClock.js';
import { SessionState } from './sessionState.js';
import { resolveWebSocket, SOCKET_OPEN, type ClientSocket, type WebSocketConstructor } from './socket.js';
import { Transport, type TokenSource } from './transport.js';

export type { ClockSyncInfo } from './serverClock.js';
export type { LocalClock } from './runtime.js';
export type { TokenSource } from './transport.js';

/**
 * `disconnected` and `unauthorized` are final: close() was called, the session is gone, or the
 * token was refused and no fresh one came from the token provider.
 */
export type ConnectionStatus = 'connected' | 'reconnecting' | 'disconnected' | 'unauthorized';

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
  /** PING round trips per clock sync burst: at connect, on sync(), every resyncIntervalMs (default 12). */
  syncSamples?: number;
  /** Re-sync the clock this often (default 30 s). */
  resyncIntervalMs?: number;
  /**
   * From each (re)connect on, PINGs also go out in the background for this long (default 10 s;
   * 0 turns them off): the estimate rests on the samples with the lowest round trips, so it
   * tightens as they come in, and each gain is announced by `sync`.
   */
  backgroundSyncMs?: number;
  /** The mean interval of those background PINGs (default 66 ms: 15 a second, at most 8 in flight). */
  backgroundSyncIntervalMs?: number;
  /** A command with no ACK or ERROR within this rejects with TIMEOUT (default 10 s). */
  commandTimeoutMs?: number;
  /** connect() rejects if the first state and sync are not in within this (default 10 s). */
  connectTimeoutMs?: number;
  /** Reconnect delays: full jitter over `baseDelayMs · 2^attempt`, at most `maxDelayMs` (250 ms, 10 s). */
  reconnect?: { baseDelayMs?: number; maxDelayMs?: number };
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
  /**
   * A new clock estimate is in effect: a sync burst finished (at connect, on sync(), every 30 s),
   * or a background sample in the first seconds after a (re)connect moved it by 0.01 ms or more.
   */
  sync: (sync: ClockSyncInfo) => void;
}

export interface CommandOptions {
  /** Refused with VERSION_CONFLICT unless the session is at this version. */
  expectedVersion?: number;
}

/** Admins only: who takes the turn; in a per_cycle cue list, which later cue runs next. */
export interface SwitchOptions {
  nextParticipantId?: string;
  nextCycleIndex?: number;
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
  /** Server time minus local clock time, the latest estimate (it tightens for ~10 s after a connect). */
  readonly offsetMs: number;
  /** The true offset is within ± this of offsetMs (half the best round trip, or less). */
  readonly uncertaintyMs: number;
  /** The best round trip of the samples the estimate rests on. */
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
  /**
   * A participant's phase now (or at a server time; per_group: its group's clock): the last of
   * the session's `phases` its remaining time has crossed, `overtime` below zero, or null.
   * Computed locally from the server's thresholds, so it changes at the crossing on every screen
   * at once, before the `phase_changed` STATE arrives.
   */
  phase(participantId: string, atServerMs?: number): string | null;
  /** per_group: a group's phase, as phase(). */
  groupPhase(groupId: string, atServerMs?: number): string | null;
  /** global: the session bank's phase, as phase(). */
  sessionPhase(atServerMs?: number): string | null;
  start(options?: CommandOptions & { startAt?: number }): Promise<SessionView>;
  /**
   * The turn to the next participant in order; `nextParticipantId` (admins only) names another;
   * in a cue list, the next cue, or (admins only) the later one `nextCycleIndex` names. Sends the mover's think time (`think_ms`: from this handle receiving the state that began the
   * turn to this call), which a session with lag compensation uses to tell transit from thinking.
   */
  switch(options?: CommandOptions & SwitchOptions): Promise<SessionView>;
  pause(options?: OneClockOptions): Promise<SessionView>;
  resume(options?: OneClockOptions): Promise<SessionView>;
  complete(options?: OneClockOptions): Promise<SessionView>;
  adjust(
    options: CommandOptions & { deltaMs: number; participantId?: string; groupId?: string },
  ): Promise<SessionView>;
  /** Admins only: back to pending with the clocks the session was created with. */
  reset(options?: CommandOptions): Promise<SessionView>;
  /** Re-syncs the clock now (it also does so every 30 s, after a reconnect and when a tab comes back). */
  sync(): Promise<ClockSyncInfo>;
  on<K extends keyof SyncKairosEvents>(event: K, listener: SyncKairosEvents[K]): () => void;
  /** Stops for good: closes the socket, stops reconnecting, rejects pending commands. Safe to call twice. */
  close(): Promise<void>;
}

const DEFAULT_SYNC_SAMPLES = 12;
const DEFAULT_RESYNC_INTERVAL_MS = 30_000;
const DEFAULT_BACKGROUND_SYNC_MS = 10_000;
const DEFAULT_BACKGROUND_SYNC_INTERVAL_MS = 66;
const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_BASE_DELAY_MS = 250;
const DEFAULT_MAX_DELAY_MS = 10_000;

/** Connects to a session; resolves once its first state and a clock sync are in. */
export async function connect(options: ConnectOptions): Promise<SyncKairosHandle> {
  const WebSocketImpl = options.WebSocket ?? (await resolveWebSocket());
  const connection = new SessionConnection(options, WebSocketImpl);
  await connection.ready;
  return connection;
}

/**
 * The handle: ties the socket (transport.ts), the server's clock (serverClock.ts), the commands
 * in flight (commands.ts) and the state (sessionState.ts) together, and says when it is up.
 */
class SessionConnection implements SyncKairosHandle {
  readonly sessionId: string;
  readonly ready: Promise<void>;
  private readonly emitter = new Emitter<SyncKairosEvents>();
  private readonly transport: Transport;
  private readonly clock: ServerClock;
  private readonly commands: PendingCommands;
  private readonly session: SessionState;
  private lifecycle: 'connecting' | 'connected' | 'reconnecting' | 'closed' = 'connecting';
  /** The socket the last STATE came on; a socket is ready when it has synced and sent a state. */
  private stateSocket: ClientSocket | null = null;
  private connectTimer: Timer | null = null;
  private closing: Promise<void> | null = null;
  private settleReady: { resolve: () => void; reject: (err: SyncKairosApiError) => void } | null = null;

  constructor(options: ConnectOptions, WebSocketImpl: WebSocketConstructor) {
    this.sessionId = options.sessionId;
    const localClock = options.clock ?? defaultClock();
    this.commands = new PendingCommands(options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
    this.session = new SessionState((state) => {
      this.emitter.emit('state', state);
      if (state.event === 'expired' || state.event === 'participant_expired')
        this.emitter.emit('expired', state);
    });
    this.clock = new ServerClock(
      {
        clock: localClock,
        syncSamples: Math.max(1, options.syncSamples ?? DEFAULT_SYNC_SAMPLES),
        resyncIntervalMs: options.resyncIntervalMs ?? DEFAULT_RESYNC_INTERVAL_MS,
        refineWindowMs: options.backgroundSyncMs ?? DEFAULT_BACKGROUND_SYNC_MS,
        refineIntervalMs: Math.max(
          10,
          options.backgroundSyncIntervalMs ?? DEFAULT_BACKGROUND_SYNC_INTERVAL_MS,
        ),
      },
      {
        onSync: (info, socket) => {
          this.emitter.emit('sync', info);
          this.checkReady(socket);
        },
        onDeadSocket: (socket) => this.transport.drop(socket),
        // A hidden tab's timers are throttled; it re-syncs when it is shown again.
        mayResync: () =>
          this.lifecycle === 'connected' && !(hasDocument() && document.visibilityState === 'hidden'),
      },
    );
    this.transport = new Transport(
      {
        baseUrl: options.url,
        sessionId: options.sessionId,
        token: options.token,
        WebSocketImpl,
        clock: localClock,
        baseDelayMs: options.reconnect?.baseDelayMs ?? DEFAULT_BASE_DELAY_MS,
        maxDelayMs: options.reconnect?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
      },
      {
        opened: (socket) => this.clock.attach(socket),
        message: (socket, data, receivedClockMs, receivedMonoMs) =>
          this.handleMessage(socket, data, receivedClockMs, receivedMonoMs),
        lost: (socket, code, reason) => this.handleLost(socket, code, reason),
        failed: (error) => void this.shutdown(error),
      },
    );
    this.ready = new Promise((resolve, reject) => (this.settleReady = { resolve, reject }));
    this.connectTimer = setTimeout(
      () =>
        void this.shutdown(
          new SyncKairosApiError('TIMEOUT', `No state and clock sync from ${this.transport.url} in time`),
        ),
      options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    );
    if (hasDocument()) document.addEventListener('visibilitychange', this.handleVisibility);
    void this.transport.open();
  }

  // ---- Reading the time ----

  get state(): SessionView {
    return this.session.current as SessionView;
  }

  get offsetMs(): number {
    return this.clock.offsetMs;
  }

  get uncertaintyMs(): number {
    return this.clock.uncertaintyMs;
  }

  get roundTripMs(): number {
    return this.clock.roundTripMs;
  }

  get connectionStatus(): ConnectionStatus {
    if (this.lifecycle === 'closed') return this.transport.refusal === null ? 'disconnected' : 'unauthorized';
    return this.lifecycle === 'connected' ? 'connected' : 'reconnecting';
  }

  now(): number {
    return this.clock.now();
  }

  remaining(participantId: string, atServerMs: number = this.now()): number | null {
    const state = this.session.current;
    return state === null ? null : participantRemainingMs(state, participantId, atServerMs);
  }

  clockFace(participantId: string, atServerMs: number = this.now()): LocalClockFace | null {
    const state = this.session.current;
    return state === null ? null : participantFace(state, participantId, atServerMs);
  }

  groupRemaining(groupId: string, atServerMs: number = this.now()): number | null {
    const state = this.session.current;
    return state === null ? null : groupRemainingMs(state, groupId, atServerMs);
  }

  groupClockFace(groupId: string, atServerMs: number = this.now()): LocalClockFace | null {
    const state = this.session.current;
    return state === null ? null : groupFace(state, groupId, atServerMs);
  }

  sessionRemaining(atServerMs: number = this.now()): number | null {
    const state = this.session.current;
    return state === null ? null : sessionRemainingMs(state, atServerMs);
  }

  elapsed(atServerMs: number = this.now()): number | null {
    const state = this.session.current;
    return state === null ? null : elapsedMs(state, atServerMs);
  }

  phase(participantId: string, atServerMs: number = this.now()): string | null {
    const state = this.session.current;
    return state === null ? null : phaseAt(state, participantRemainingMs(state, participantId, atServerMs));
  }

  groupPhase(groupId: string, atServerMs: number = this.now()): string | null {
    const state = this.session.current;
    return state === null ? null : phaseAt(state, groupRemainingMs(state, groupId, atServerMs));
  }

  sessionPhase(atServerMs: number = this.now()): string | null {
    const state = this.session.current;
    return state === null ? null : phaseAt(state, sessionRemainingMs(state, atServerMs));
  }

  on<K extends keyof SyncKairosEvents>(event: K, listener: SyncKairosEvents[K]): () => void {
    return this.emitter.on(event, listener);
  }

  sync(): Promise<ClockSyncInfo> {
    return this.clock.sync();
  }

  // ---- Commands ----

  start(options: CommandOptions & { startAt?: number } = {}): Promise<SessionView> {
    return this.command('START', { expected_version: options.expectedVersion, start_at: options.startAt });
  }

  switch(options: CommandOptions & SwitchOptions = {}): Promise<SessionView> {
    return this.command('SWITCH', {
      expected_version: options.expectedVersion,
      next_participant_id: options.nextParticipantId,
      next_cycle_index: options.nextCycleIndex,
      think_ms: this.session.thinkMs(monotonicMs()),
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

  reset(options: CommandOptions = {}): Promise<SessionView> {
    return this.command('RESET', { expected_version: options.expectedVersion });
  }

  private command<T extends CommandMessage['type']>(type: T, body: CommandBody<T>): Promise<SessionView> {
    if (this.lifecycle === 'closed')
      return Promise.reject(new SyncKairosApiError('CLOSED', 'The handle is closed'));
    const socket = this.transport.socket;
    // Not queued for later: a clock tap sent after a reconnect would land at the wrong time.
    if (this.lifecycle !== 'connected' || socket === null || socket.readyState !== SOCKET_OPEN) {
      return Promise.reject(
        new SyncKairosApiError('DISCONNECTED', `${type} not sent: the connection is down, reconnecting`),
      );
    }
    return this.commands.send(type, body, (text) => socket.send(text));
  }

  // ---- Frames ----

  private handleMessage(
    socket: ClientSocket,
    data: string,
    receivedClockMs: number,
    receivedMonoMs: number,
  ): void {
    // A frame that is not a server message is dropped: not ours to fix.
    const message: ServerMessage | null = parseServerMessage(data);
    if (message === null) return;
    switch (message.type) {
      case 'STATE': {
        const state = message.state;
        if (state.session_id !== this.sessionId) return;
        this.session.apply(state, receivedMonoMs);
        this.stateSocket = socket;
        this.checkReady(socket);
        return;
      }
      case 'PONG':
        this.clock.pong(socket, message, receivedClockMs, receivedMonoMs);
        return;
      case 'ACK': {
        const state = message.state;
        if (state?.session_id === this.sessionId) this.session.apply(state, receivedMonoMs);
        if (message.request_id !== null && state !== undefined)
          this.commands.settle(message.request_id, state);
        return;
      }
      case 'ERROR': {
        const error =
          fromErrorBody(message) ?? new SyncKairosApiError('BAD_RESPONSE', 'ERROR without an error body');
        if (message.request_id !== null) return this.commands.settle(message.request_id, error);
        // The session is gone (deleted, or lost with an embedded server): nothing to reconnect to.
        if (error.code === 'SESSION_NOT_FOUND') void this.shutdown(error);
        // The token expired and the server closes: not waiting for its close handshake, the
        // handle stops, or reconnects with a fresh token from the provider.
        if (error.code === 'UNAUTHORIZED') {
          this.transport.refuseToken(error);
          this.transport.drop(socket);
        }
        // Other connection errors (a broken limit) come with a close, which reconnects.
        return;
      }
    }
  }

  // ---- Up, down, closed ----

  private checkReady(socket: ClientSocket): void {
    if (socket !== this.transport.socket || this.clock.syncedSocket !== socket || this.stateSocket !== socket)
      return;
    if (this.lifecycle === 'connected' || this.lifecycle === 'closed') return;
    this.lifecycle = 'connected';
    this.transport.connected();
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.clock.startResyncing();
    this.settleReady?.resolve();
    this.settleReady = null;
    this.emitter.emit('connection', 'connected');
  }

  /** The socket closed: what was in flight fails; whether to reconnect depends on why and when. */
  private handleLost(socket: ClientSocket, code: number, reason: SyncKairosApiError): 'reconnect' | 'stop' {
    this.stateSocket = null;
    this.clock.detach(socket, reason);
    this.commands.rejectAll(reason);
    if (this.lifecycle === 'closed') return 'stop';
    const refusal = this.transport.refusal;
    // A refused token with no provider to ask for another: a reconnect would be refused again.
    if (refusal !== null && (!this.transport.hasTokenProvider || this.lifecycle === 'connecting')) {
      void this.shutdown(refusal);
      return 'stop';
    }
    if (this.lifecycle === 'connecting') {
      // The first connection failed: connect() rejects, the caller decides whether to retry.
      void this.shutdown(
        new SyncKairosApiError('NETWORK_ERROR', `Could not connect to ${this.transport.url} (code ${code})`),
      );
      return 'stop';
    }
    if (this.lifecycle === 'connected') {
      this.lifecycle = 'reconnecting';
      this.emitter.emit('connection', 'reconnecting');
    }
    return 'reconnect';
  }

  private readonly handleVisibility = (): void => {
    if (document.visibilityState !== 'visible') return;
    // The tab may have slept: the monotonic clock may have stopped, the socket may be dead.
    if (this.lifecycle === 'connected') this.clock.syncInBackground();
    else if (this.lifecycle === 'reconnecting') this.transport.reconnectNow();
  };

  close(): Promise<void> {
    return this.shutdown();
  }

  /** Stops for good; with an error when it was not asked for (the session is gone, connect failed). */
  private shutdown(error?: SyncKairosApiError): Promise<void> {
    this.closing ??= this.runShutdown(error);
    return this.closing;
  }

  private async runShutdown(error: SyncKairosApiError | undefined): Promise<void> {
    const wasUp = this.lifecycle === 'connected' || this.lifecycle === 'reconnecting';
    this.lifecycle = 'closed';
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    if (hasDocument()) document.removeEventListener('visibilitychange', this.handleVisibility);
    const reason = error ?? new SyncKairosApiError('CLOSED', 'The handle was closed');
    this.clock.stop(reason);
    this.commands.rejectAll(reason);
    this.settleReady?.reject(reason);
    this.settleReady = null;
    const closed = this.transport.close();
    // A refused token ends the handle as `unauthorized`, even before it was ever up.
    if (error !== undefined && error === this.transport.refusal)
      this.emitter.emit('connection', 'unauthorized', error);
    else if (wasUp) this.emitter.emit('connection', 'disconnected', error);
    await closed;
  }
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
