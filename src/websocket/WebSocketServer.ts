// /v1/ws on the HTTP server's port: accepts connections, enforces per-address limits, and
// sweeps dead connections with protocol pings.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import proxyAddr from 'proxy-addr';
import { WebSocketServer as WsServer, type WebSocket } from 'ws';
import { checkAction } from '../auth/permissions.js';
import { createTokenVerifier, tokenFrom, type Principal, type TokenVerifier } from '../auth/tokens.js';
import type { SyncEngine } from '../engine/SyncEngine.js';
import { idSchema, parseInput } from '../schemas/requests.js';
import { SyncKairosError } from '../types/errors.js';
import { rawHttpResponse } from '../types/rawHttpResponse.js';
import { CLOSE_GOING_AWAY, ClientConnection } from './ClientConnection.js';
import { DEFAULT_WEBSOCKET_LIMITS, type WebSocketLimits } from './limits.js';
import type { SessionFanout } from './SessionFanout.js';
import type { Presence } from '../services/PresenceTracker.js';

export const WEBSOCKET_PATH = '/v1/ws';
/** Frames larger than this are cut by `ws` itself (close 1009); smaller oversize ones get an ERROR first. */
const HARD_MAX_PAYLOAD_BYTES = 1024 * 1024;

export interface WebSocketServerDeps {
  server: Server;
  engine: SyncEngine;
  fanout: SessionFanout;
  /** Checks the token of each upgrade (bearer header, or `token` query parameter for browsers). */
  tokenVerifier?: TokenVerifier;
  limits?: Partial<WebSocketLimits>;
  /** Proxies in front whose X-Forwarded-For names the client (TRUST_PROXY), as for REST. */
  trustProxyHops?: number;
  onError?: (err: unknown, context: string) => void;
  onCommand?: (command: string, durationMs: number) => void;
  /** The disconnect policy's count of connections per participant. */
  presence?: Presence;
}

export class SyncWebSocketServer {
  private readonly wss: WsServer;
  private readonly deps: WebSocketServerDeps;
  private readonly limits: WebSocketLimits;
  private readonly verifier: TokenVerifier;
  private readonly connections = new Map<WebSocket, ClientConnection>();
  private readonly perAddress = new Map<string, number>();
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;

  constructor(deps: WebSocketServerDeps) {
    this.deps = deps;
    this.limits = { ...DEFAULT_WEBSOCKET_LIMITS, ...deps.limits };
    this.verifier = deps.tokenVerifier ?? createTokenVerifier({ secret: null, publicKey: null });
    // Per-message compression costs more CPU than small JSON frames save.
    this.wss = new WsServer({ noServer: true, perMessageDeflate: false, maxPayload: HARD_MAX_PAYLOAD_BYTES });
    deps.server.on('upgrade', this.handleUpgrade);
    this.heartbeat = setInterval(() => this.sweep(), this.limits.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Tells every client to reconnect elsewhere and closes; safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    // The upgrade listener stays: while the HTTP server drains, a late upgrade is told to go elsewhere.
    for (const ws of this.connections.keys()) ws.close(CLOSE_GOING_AWAY, 'server shutting down');
    await Promise.all([...this.connections.values()].map((c) => c.release()));
    this.connections.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private readonly handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== WEBSOCKET_PATH)
      return rejectUpgrade(
        socket,
        new SyncKairosError('NOT_FOUND', `No WebSocket endpoint at ${url.pathname}`),
      );
    if (this.closed) return rejectUpgrade(socket, shuttingDown());
    let sessionId: string | undefined;
    try {
      const raw = url.searchParams.get('session_id');
      sessionId = raw === null ? undefined : parseInput(idSchema, raw, ['session_id']);
    } catch (err) {
      return rejectUpgrade(socket, err as SyncKairosError);
    }
    // Behind a proxy every socket comes from the proxy: count the client it forwards for instead.
    const hops = this.deps.trustProxyHops ?? 0;
    const address =
      hops > 0 ? proxyAddr(request, (_addr, i) => i < hops) : (request.socket.remoteAddress ?? 'unknown');
    // Taken before the token check, which is asynchronous: upgrades arriving together must not
    // all pass a count that none of them has raised yet.
    const releaseSlot = this.takeSlot(address);
    if (releaseSlot === null) {
      return rejectUpgrade(
        socket,
        new SyncKairosError(
          'RATE_LIMITED',
          `At most ${this.limits.maxConnectionsPerAddress} connections per client`,
        ),
      );
    }
    const token = tokenFrom(request.headers.authorization, url.searchParams.get('token'));
    this.verifier
      .verify(token)
      .then((principal) => {
        if (this.closed) throw shuttingDown();
        if (sessionId !== undefined) checkAction(principal, 'read', sessionId);
        let accepted = false;
        this.wss.handleUpgrade(request, socket, head, (ws) => {
          accepted = true;
          this.accept(ws, releaseSlot, sessionId, principal);
        });
        // ws answers a malformed handshake, or drops a client already gone, without a connection.
        if (!accepted) releaseSlot();
      })
      .catch((err: unknown) => {
        releaseSlot();
        rejectUpgrade(
          socket,
          err instanceof SyncKairosError ? err : new SyncKairosError('INTERNAL_ERROR', 'Internal error'),
        );
      });
  };

  /** One connection slot of `address`, or null when it has none left; the release is idempotent. */
  private takeSlot(address: string): (() => void) | null {
    const taken = this.perAddress.get(address) ?? 0;
    if (taken >= this.limits.maxConnectionsPerAddress) return null;
    this.perAddress.set(address, taken + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
    };
  }

  private accept(
    ws: WebSocket,
    releaseSlot: () => void,
    sessionId: string | undefined,
    principal: Principal,
  ): void {
    const onError = this.deps.onError ?? (() => {});
    const connection = new ClientConnection(
      ws,
      {
        engine: this.deps.engine,
        principal,
        fanout: this.deps.fanout,
        limits: this.limits,
        onError,
        onCommand: this.deps.onCommand,
        presence: this.deps.presence,
      },
      sessionId,
    );
    this.connections.set(ws, connection);

    ws.on('pong', () => connection.pong());
    ws.on('message', (data: Buffer, isBinary) => void connection.handleMessage(data, isBinary));
    // Every socket gets an error listener: a broken peer must not take the process down.
    ws.on('error', (err) => onError(err, 'websocket'));
    ws.on('close', () => {
      this.connections.delete(ws);
      releaseSlot();
      void connection.release();
    });
    if (sessionId !== undefined) void connection.subscribe(sessionId);
    // A first round-trip sample, for lag compensation.
    connection.ping();
  }

  private sweep(): void {
    for (const [ws, connection] of this.connections) {
      if (!connection.isAlive) {
        ws.terminate();
        continue;
      }
      connection.isAlive = false;
      connection.ping();
    }
  }
}

function shuttingDown(): SyncKairosError {
  return new SyncKairosError('SHUTTING_DOWN', 'This instance is shutting down; connect to another');
}

function rejectUpgrade(socket: Duplex, error: SyncKairosError): void {
  socket.end(rawHttpResponse(error));
}
