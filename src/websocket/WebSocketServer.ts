// /v1/ws on the HTTP server's port: accepts connections, enforces per-address limits, and
// sweeps dead connections with protocol pings.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer as WsServer, type WebSocket } from 'ws';
import type { SyncEngine } from '../engine/SyncEngine.js';
import { idSchema, parseInput } from '../schemas/requests.js';
import type { SyncKairosError } from '../types/errors.js';
import { CLOSE_GOING_AWAY, ClientConnection } from './ClientConnection.js';
import { DEFAULT_WEBSOCKET_LIMITS, type WebSocketLimits } from './limits.js';
import type { SessionFanout } from './SessionFanout.js';

export const WEBSOCKET_PATH = '/v1/ws';
/** Frames larger than this are cut by `ws` itself (close 1009); smaller oversize ones get an ERROR first. */
const HARD_MAX_PAYLOAD_BYTES = 1024 * 1024;

export interface WebSocketServerDeps {
  server: http.Server;
  engine: SyncEngine;
  fanout: SessionFanout;
  limits?: Partial<WebSocketLimits>;
  onError?: (err: unknown, context: string) => void;
  onCommand?: (command: string, durationMs: number) => void;
}

export class SyncWebSocketServer {
  private readonly wss: WsServer;
  private readonly deps: WebSocketServerDeps;
  private readonly limits: WebSocketLimits;
  private readonly connections = new Map<WebSocket, ClientConnection>();
  private readonly perAddress = new Map<string, number>();
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;

  constructor(deps: WebSocketServerDeps) {
    this.deps = deps;
    this.limits = { ...DEFAULT_WEBSOCKET_LIMITS, ...deps.limits };
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
    this.deps.server.off('upgrade', this.handleUpgrade);
    for (const ws of this.connections.keys()) ws.close(CLOSE_GOING_AWAY, 'server shutting down');
    await Promise.all([...this.connections.values()].map((c) => c.release()));
    this.connections.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private readonly handleUpgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== WEBSOCKET_PATH)
      return rejectUpgrade(socket, 404, 'NOT_FOUND', `No WebSocket endpoint at ${url.pathname}`);
    if (this.closed) return rejectUpgrade(socket, 503, 'STORE_UNAVAILABLE', 'The server is shutting down');
    const address = request.socket.remoteAddress ?? 'unknown';
    if ((this.perAddress.get(address) ?? 0) >= this.limits.maxConnectionsPerAddress) {
      return rejectUpgrade(
        socket,
        429,
        'RATE_LIMITED',
        `At most ${this.limits.maxConnectionsPerAddress} connections per client`,
      );
    }
    let sessionId: string | undefined;
    try {
      const raw = url.searchParams.get('session_id');
      sessionId = raw === null ? undefined : parseInput(idSchema, raw, ['session_id']);
    } catch (err) {
      return rejectUpgrade(socket, 400, 'VALIDATION_ERROR', (err as SyncKairosError).message);
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, address, sessionId));
  };

  private accept(ws: WebSocket, address: string, sessionId: string | undefined): void {
    const onError = this.deps.onError ?? (() => {});
    const connection = new ClientConnection(
      ws,
      {
        engine: this.deps.engine,
        fanout: this.deps.fanout,
        limits: this.limits,
        onError,
        onCommand: this.deps.onCommand,
      },
      sessionId,
    );
    this.connections.set(ws, connection);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);

    ws.on('pong', () => (connection.isAlive = true));
    ws.on('message', (data: Buffer, isBinary) => void connection.handleMessage(data, isBinary));
    // Every socket gets an error listener: a broken peer must not take the process down.
    ws.on('error', (err) => onError(err, 'websocket'));
    ws.on('close', () => {
      this.connections.delete(ws);
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
      void connection.release();
    });
    if (sessionId !== undefined) void connection.subscribe(sessionId);
  }

  private sweep(): void {
    for (const [ws, connection] of this.connections) {
      if (!connection.isAlive) {
        ws.terminate();
        continue;
      }
      connection.isAlive = false;
      ws.ping();
    }
  }
}

function rejectUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${statusText(status)}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function statusText(status: number): string {
  return (
    { 400: 'Bad Request', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' }[status] ??
    'Error'
  );
}
