// One client's socket: dispatches its messages (PING, SUBSCRIBE, UNSUBSCRIBE at once, commands
// in order) over SyncEngine, and receives the fan-out for the sessions it watches. What a frame
// must pass first is inbound.ts's; what is sent of the fan-out, subscriptions.ts's; when the
// token runs out, tokenExpiry.ts's. Breaking a limit or the protocol closes this connection alone.
import type { WebSocket } from 'ws';
import { checkAction, commandGuard } from '../auth/permissions.js';
import { TOKEN_EXPIRED, unauthorized, type Principal } from '../auth/tokens.js';
import type { SyncEngine } from '../engine/SyncEngine.js';
import { COMMAND_BODY_SCHEMAS, toSessionCommand } from '../schemas/commands.js';
import { parseInput } from '../schemas/requests.js';
import { SyncKairosError, type ErrorCode } from '../types/errors.js';
import type { RenderedView } from '../engine/renderedView.js';
import type { Presence } from '../services/PresenceTracker.js';
import type { SessionView } from '../types/session.js';
import { CLOSE_POLICY, readInbound } from './inbound.js';
import { clientMessageSchemas, type ClientMessage, type ClientMessageType } from './protocol.js';
import { TokenBucket, type WebSocketLimits } from './limits.js';
import { RoundTripEstimate } from './roundTrip.js';
import type { SessionFanout, StateFrame, Watcher } from './SessionFanout.js';
import { Subscriptions } from './subscriptions.js';
import { TokenExpiry } from './tokenExpiry.js';

export { CLOSE_POLICY, CLOSE_TOO_BIG } from './inbound.js';
/** Close code (RFC 6455): the server is going away. */
export const CLOSE_GOING_AWAY = 1001;

/** Every frame is JSON text, including the fan-out's frames that arrive already encoded. */
const TEXT_FRAME = { binary: false } as const;

export interface ConnectionDeps {
  engine: SyncEngine;
  /** Who opened this connection (from its token; an admin when auth is off). */
  principal: Principal;
  fanout: SessionFanout;
  limits: WebSocketLimits;
  onError: (err: unknown, context: string) => void;
  onCommand?: (command: string, durationMs: number) => void;
  /** The disconnect policy's count of this instance's connections per participant. */
  presence?: Presence;
}

export class ClientConnection implements Watcher {
  isAlive = true;
  private readonly ws: WebSocket;
  private readonly deps: ConnectionDeps;
  private readonly bucket: TokenBucket;
  private readonly subscriptions = new Subscriptions();
  private closed = false;
  /** The tail of this client's command queue: its commands run one at a time, in the order sent. */
  private pending: Promise<void> = Promise.resolve();
  /** The session named in the URL: commands without a session_id go to it. */
  private readonly urlSessionId: string | undefined;
  /** Ends the connection at its token's exp. */
  private readonly expiry: TokenExpiry;
  /** This connection's round trip, from protocol pings: what lag compensation credits its moves. */
  private readonly roundTrip = new RoundTripEstimate();
  /** Watched sessions with on_disconnect where this connection counts as its participant present. */
  private readonly presentIn = new Set<string>();

  constructor(ws: WebSocket, deps: ConnectionDeps, urlSessionId?: string) {
    this.ws = ws;
    this.deps = deps;
    this.urlSessionId = urlSessionId;
    this.bucket = new TokenBucket(deps.limits.messagesPerSecond, deps.limits.burstMessages);
    this.expiry = new TokenExpiry(deps.principal.expiresAtMs, () =>
      this.fail('UNAUTHORIZED', TOKEN_EXPIRED, CLOSE_POLICY),
    );
  }

  /** Sends a protocol ping (the heartbeat, a round-trip sample); one at a time, so each pong pairs with its ping. */
  ping(): void {
    if (this.closed || this.roundTrip.awaitingPong || this.ws.readyState !== this.ws.OPEN) return;
    this.roundTrip.pingSent(performance.now());
    this.ws.ping();
  }

  pong(): void {
    this.isAlive = true;
    this.roundTrip.pongReceived(performance.now());
  }

  get subscriptionCount(): number {
    return this.subscriptions.size;
  }

  deliver(sessionId: string, version: number, frame: StateFrame, force = false): void {
    const toSend = this.subscriptions.offer(sessionId, version, frame, force);
    if (toSend !== null) this.send(toSend.bytes);
  }

  async subscribe(sessionId: string, requestId?: string): Promise<void> {
    if (this.subscriptions.has(sessionId)) {
      if (requestId !== undefined) this.send(JSON.stringify({ type: 'ACK', request_id: requestId }));
      return;
    }
    if (this.subscriptions.size >= this.deps.limits.maxSubscriptionsPerConnection) {
      this.sendError(
        new SyncKairosError(
          'VALIDATION_ERROR',
          `At most ${this.deps.limits.maxSubscriptionsPerConnection} sessions per connection`,
        ),
        requestId,
      );
      return;
    }
    this.subscriptions.add(sessionId);
    try {
      checkAction(this.deps.principal, 'read', sessionId);
      const view = await this.deps.fanout.watch(sessionId, this);
      this.countPresence(sessionId, view);
      if (requestId !== undefined) this.send(JSON.stringify({ type: 'ACK', request_id: requestId }));
    } catch (err) {
      this.subscriptions.delete(sessionId);
      this.sendError(err, requestId);
    }
  }

  async handleMessage(data: Buffer, isBinary: boolean): Promise<void> {
    // Closing (a limit broken, the socket gone): what still arrives is not taken.
    if (this.closed) return;
    const inbound = readInbound(data, isBinary, this.bucket, this.deps.limits);
    if (!inbound.ok) return this.fail(inbound.code, inbound.message, inbound.closeCode);
    const { type, message } = inbound;
    // PING, SUBSCRIBE and UNSUBSCRIBE change no session and go at once: a PONG held behind a
    // command would skew the client's clock estimate, and a reconnecting client's subscriptions
    // should not wait on one another.
    if (!Object.hasOwn(COMMAND_BODY_SCHEMAS, type)) return this.handle(type, message);
    // Commands in order: a SWITCH sent after a START must not read the state from before it.
    this.pending = this.pending.then(() => this.handle(type, message));
    return this.pending;
  }

  /** Validates and runs one message; never rejects. */
  private async handle(type: ClientMessageType, message: unknown): Promise<void> {
    // A command queued before the connection closed would change a session for a client
    // that can no longer hear the answer.
    if (this.closed) return;
    try {
      // Checked as the message runs: it may come in (or wait in the queue) past exp, before the timer fires.
      if (this.expiry.expired) throw unauthorized(TOKEN_EXPIRED);
      await this.dispatch(parseInput(clientMessageSchemas[type], message) as ClientMessage);
    } catch (err) {
      this.sendError(err, requestIdOf(message));
    }
  }

  /**
   * A participant's own connection to a session with a disconnect policy counts it present
   * (participant tokens name their session and participant); nobody else's does.
   */
  private countPresence(sessionId: string, view: SessionView): void {
    const { presence, principal } = this.deps;
    if (presence === undefined || principal.role !== 'participant' || principal.sessionId !== sessionId)
      return;
    if (view.on_disconnect === undefined || this.closed) return;
    if (this.presentIn.has(sessionId)) return;
    if (!view.participants.some((p) => p.participant_id === principal.subject)) return;
    this.presentIn.add(sessionId);
    presence.connected(sessionId, principal.subject, view.on_disconnect.grace_ms);
  }

  private uncountPresence(sessionId: string): void {
    if (!this.presentIn.delete(sessionId)) return;
    this.deps.presence?.disconnected(sessionId, this.deps.principal.subject);
  }

  /** Stops receiving updates; called when the socket closes. */
  async release(): Promise<void> {
    this.closed = true;
    this.expiry.stop();
    for (const sessionId of [...this.presentIn]) this.uncountPresence(sessionId);
    const sessions = this.subscriptions.clear();
    await Promise.all(sessions.map((id) => this.deps.fanout.unwatch(id, this)));
  }

  private async dispatch(message: ClientMessage): Promise<void> {
    switch (message.type) {
      case 'PING':
        this.send(
          JSON.stringify({
            type: 'PONG',
            client_time: message.client_time,
            server_time: this.deps.engine.serverNowMs(),
          }),
        );
        return;
      case 'SUBSCRIBE':
        return this.subscribe(message.session_id, message.request_id);
      case 'UNSUBSCRIBE':
        this.subscriptions.delete(message.session_id);
        this.uncountPresence(message.session_id);
        await this.deps.fanout.unwatch(message.session_id, this);
        if (message.request_id !== undefined)
          this.send(JSON.stringify({ type: 'ACK', request_id: message.request_id }));
        return;
      default:
        return this.runCommand(message);
    }
  }

  private async runCommand(message: Exclude<ClientMessage, { type: 'PING' | 'SUBSCRIBE' | 'UNSUBSCRIBE' }>) {
    const sessionId = message.session_id ?? this.defaultSessionId();
    const { command, expectedVersion } = toSessionCommand(message.type, message);
    // The move's transit as this server measured it; a session without lag compensation ignores it.
    if (command.type === 'switch' && message.type === 'SWITCH') {
      command.transit = { roundTripMs: this.roundTrip.roundTripMs, thinkMs: message.think_ms };
    }
    const { principal } = this.deps;
    checkAction(principal, command.type, sessionId);
    const guard = commandGuard(principal, command);
    const startedAtMs = performance.now();
    const holds = this.subscriptions.has(sessionId);
    if (holds) this.subscriptions.hold(sessionId);
    let rendered: RenderedView;
    try {
      ({ rendered } = await this.deps.engine.executeDetailed(sessionId, command, {
        expectedVersion,
        actor: principal.subject,
        guard,
      }));
    } catch (err) {
      if (holds) this.releaseHeld(sessionId, true);
      throw err;
    } finally {
      // Refused commands too, as over REST: the histogram is the engine's time per command.
      this.deps.onCommand?.(command.type, performance.now() - startedAtMs);
    }
    // The ACK carries the new state, so the same version arriving by fan-out is not sent again.
    this.subscriptions.acked(sessionId, rendered.state.version);
    this.send(ackFrame(message.request_id ?? null, rendered));
    if (holds) this.releaseHeld(sessionId, false);
    // A fresh sample for this client's next move.
    if (rendered.view.lag_compensation) this.ping();
  }

  /**
   * Sends what fan-out held during this client's command, if it is newer than what the client
   * has; after an ACK, its state counts as had (`force` only applies when no ACK went out).
   */
  private releaseHeld(sessionId: string, force: boolean): void {
    const held = this.subscriptions.release(sessionId, force);
    if (held !== null) this.deliver(sessionId, held.version, held.frame, held.force);
  }

  private defaultSessionId(): string {
    if (this.urlSessionId !== undefined) return this.urlSessionId;
    const only = this.subscriptions.only();
    if (only !== undefined) return only;
    throw new SyncKairosError(
      'VALIDATION_ERROR',
      'session_id is required when the URL names no session and the connection watches none or several',
      { issues: [{ path: 'session_id', message: 'is required' }] },
    );
  }

  private send(frame: string | Buffer): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.deps.limits.maxBufferedBytes) {
      // A slow consumer: drop it rather than buffer without end; it reconnects and resyncs.
      this.closed = true;
      this.ws.terminate();
      return;
    }
    this.ws.send(frame, TEXT_FRAME);
  }

  private sendError(err: unknown, requestId: string | undefined): void {
    const error =
      err instanceof SyncKairosError ? err : new SyncKairosError('INTERNAL_ERROR', 'Internal error');
    if (!(err instanceof SyncKairosError)) this.deps.onError(err, 'websocket message');
    this.send(JSON.stringify({ type: 'ERROR', request_id: requestId ?? null, ...error.toBody() }));
  }

  /** A protocol or limit violation: say why, then close this connection alone. */
  private fail(code: ErrorCode, message: string, closeCode: number): void {
    if (this.closed) return;
    this.send(JSON.stringify({ type: 'ERROR', request_id: null, error: { code, message } }));
    this.closed = true;
    this.ws.close(closeCode, closeReason(message));
  }
}

/** RFC 6455 allows 123 bytes of reason, and `ws.close` throws beyond; messages may echo client text. */
/** `{ type: 'ACK', request_id, state }` around the commit's JSON, which REST and STATE frames share. */
export function ackFrame(requestId: string | null, rendered: RenderedView): string {
  return `{"type":"ACK","request_id":${JSON.stringify(requestId)},"state":${rendered.json}}`;
}

const MAX_CLOSE_REASON_BYTES = 123;

function closeReason(message: string): string {
  let reason = message.slice(0, MAX_CLOSE_REASON_BYTES);
  while (Buffer.byteLength(reason, 'utf8') > MAX_CLOSE_REASON_BYTES) reason = reason.slice(0, -1);
  return reason;
}

function requestIdOf(message: unknown): string | undefined {
  const requestId = (message as { request_id?: unknown }).request_id;
  return typeof requestId === 'string' ? requestId.slice(0, 128) : undefined;
}
