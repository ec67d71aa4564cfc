// The handle's socket: opening it with a token from the token source, reconnecting with backoff
// when it drops, never sending a refused token again, and closing it. What the frames mean and
// whether a lost socket is worth another is the connection's business (connect.ts).
import { SyncKairosApiError } from './errors.js';
import { monotonicMs, type LocalClock, type Timer } from './runtime.js';
import {
  SOCKET_CLOSED,
  webSocketUrl,
  type ClientSocket,
  type SocketCloseEvent,
  type SocketMessageEvent,
  type WebSocketConstructor,
} from './socket.js';

/** A token, or a function giving one; a function is called on every (re)connect. */
export type TokenSource = string | (() => string | Promise<string>);

export interface TransportOptions {
  baseUrl: string;
  sessionId: string;
  token: TokenSource | undefined;
  WebSocketImpl: WebSocketConstructor;
  /** Read as soon as a frame arrives: a PONG's arrival time is what a clock sample is made of. */
  clock: LocalClock;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface TransportHooks {
  opened(socket: ClientSocket): void;
  message(socket: ClientSocket, data: string, receivedClockMs: number, receivedMonoMs: number): void;
  /** The current socket closed, for `reason`; the answer says whether to open another. */
  lost(socket: ClientSocket, code: number, reason: SyncKairosApiError): 'reconnect' | 'stop';
  /** No socket can be opened: the token provider failed, the token was refused, the URL is bad. */
  failed(error: SyncKairosApiError): void;
}

/** close() waits at most this long for the socket's close handshake. */
const CLOSE_WAIT_MS = 1_000;
const CLOSE_GOING_AWAY = 1001;
/** What a socket given up on without a close handshake reports. */
const CLOSE_ABNORMAL = 1006;

export class Transport {
  socket: ClientSocket | null = null;
  /** Why the server refused the last token (UNAUTHORIZED); null while tokens are accepted. */
  refusal: SyncKairosApiError | null = null;
  /** The URL without the token, for messages. */
  readonly url: string;
  /** The token the current socket was opened with. */
  private socketToken: string | undefined;
  /** The token the server refused: it is never sent again. */
  private refusedToken: string | undefined;
  private attempt = 0;
  private reconnectTimer: Timer | null = null;
  private stopped = false;

  constructor(
    private readonly options: TransportOptions,
    private readonly hooks: TransportHooks,
  ) {
    this.url = webSocketUrl(options.baseUrl, options.sessionId);
  }

  /** Whether a refused token may be followed by a fresh one. */
  get hasTokenProvider(): boolean {
    return typeof this.options.token === 'function';
  }

  /** Opens a socket with a token from the source; a token the server refused is never sent again. */
  async open(): Promise<void> {
    this.reconnectTimer = null;
    const { token: source } = this.options;
    let token: string | undefined;
    try {
      token = typeof source === 'function' ? await source() : source;
    } catch (err) {
      this.hooks.failed(new SyncKairosApiError('UNAUTHORIZED', 'The token provider failed', { cause: err }));
      return;
    }
    if (this.stopped) return;
    if (token !== undefined && token === this.refusedToken) {
      this.hooks.failed(
        this.refusal ?? new SyncKairosApiError('UNAUTHORIZED', 'The token was refused and no other one came'),
      );
      return;
    }
    this.socketToken = token;
    let socket: ClientSocket;
    try {
      socket = new this.options.WebSocketImpl(
        webSocketUrl(this.options.baseUrl, this.options.sessionId, token),
      );
    } catch (err) {
      this.hooks.failed(new SyncKairosApiError('NETWORK_ERROR', `Cannot open ${this.url}`, { cause: err }));
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (socket === this.socket) this.hooks.opened(socket);
    };
    socket.onmessage = (event: SocketMessageEvent) => {
      // Read first: the PONG's arrival time is what the sync is made of.
      const receivedMonoMs = monotonicMs();
      const receivedClockMs = this.options.clock.nowMs();
      if (socket !== this.socket || typeof event.data !== 'string') return;
      this.hooks.message(socket, event.data, receivedClockMs, receivedMonoMs);
    };
    socket.onclose = (event: SocketCloseEvent) => this.handleClose(socket, event.code);
    // Every socket gets an error listener (`ws` throws without one); the close event follows.
    // `ws` names the HTTP status of a refused upgrade; a browser does not tell.
    socket.onerror = (event: { message?: unknown }) => {
      if (socket === this.socket && typeof event.message === 'string' && /\b401\b/.test(event.message))
        this.refuseToken(new SyncKairosApiError('UNAUTHORIZED', 'The server refused the token'));
    };
  }

  /** The socket is up and in sync: backoff starts over, and earlier refusals are forgotten. */
  connected(): void {
    this.attempt = 0;
    this.refusal = null;
  }

  /** The current socket's token is refused: without another from the provider, nothing reconnects. */
  refuseToken(error: SyncKairosApiError): void {
    this.refusedToken = this.socketToken ?? '';
    this.refusal = error;
  }

  /** Gives up on a socket at once, without waiting for a close handshake a dead peer never answers. */
  drop(socket: ClientSocket): void {
    socket.onerror = () => {};
    try {
      socket.close();
    } catch {
      // Closing a socket that is already failing.
    }
    this.handleClose(socket, CLOSE_ABNORMAL);
  }

  /** Waiting to reconnect: try now instead (a tab shown again may have a network again). */
  reconnectNow(): void {
    if (this.reconnectTimer === null) return;
    clearTimeout(this.reconnectTimer);
    void this.open();
  }

  /** Stops for good and closes the socket, waiting (a little) for its close handshake. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) await closeSocket(socket);
  }

  private handleClose(socket: ClientSocket, code: number): void {
    if (socket !== this.socket) return;
    this.socket = null;
    socket.onopen = socket.onmessage = socket.onclose = null;
    // A token refused mid-session: what was in flight is refused for that reason.
    const reason =
      this.refusal ?? new SyncKairosApiError('DISCONNECTED', `The connection closed (code ${code})`);
    if (this.hooks.lost(socket, code, reason) === 'reconnect' && !this.stopped)
      this.scheduleReconnect(code === CLOSE_GOING_AWAY);
  }

  /**
   * Full jitter (a random delay up to base · 2^attempt, capped), so clients that lost the same
   * server do not all come back at once. A server going away (1001) asked us to reconnect
   * elsewhere: that is not a failure, so it does not back off.
   */
  private scheduleReconnect(goingAway: boolean): void {
    const { baseDelayMs, maxDelayMs } = this.options;
    const ceilingMs = goingAway ? baseDelayMs : Math.min(maxDelayMs, baseDelayMs * 2 ** this.attempt);
    if (!goingAway) this.attempt++;
    this.reconnectTimer = setTimeout(() => void this.open(), Math.random() * ceilingMs);
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
