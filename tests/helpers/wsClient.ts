// A WebSocket test client over `ws`: it keeps every message in arrival order, so a test waits
// for the message it expects (already received or still to come) instead of sleeping.
import { randomBytes, randomUUID } from 'node:crypto';
import type http from 'node:http';
import net from 'node:net';
import WebSocket, { type ClientOptions, type RawData } from 'ws';
import type { SessionView } from '../../src/types/session.js';

/** A server message, loosely typed: tests check the fields they care about. */
export interface ServerMessage {
  type: string;
  request_id?: string | null;
  state?: SessionView;
  error?: { code: string; message: string; details?: unknown };
  client_time?: number;
  server_time?: number;
  [field: string]: unknown;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

export type MessagePredicate = (message: ServerMessage) => boolean;

/** The server answered the upgrade with an HTTP response instead of switching protocols. */
export class UpgradeRefusedError extends Error {
  readonly status: number;
  readonly body: string;

  constructor(status: number, body: string) {
    super(`WebSocket upgrade refused with HTTP ${status}: ${body}`);
    this.name = 'UpgradeRefusedError';
    this.status = status;
    this.body = body;
  }
}

interface Waiter {
  predicate: MessagePredicate;
  resolve: (message: ServerMessage) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const DEFAULT_TIMEOUT_MS = 5000;

export class TestSocket {
  readonly ws: WebSocket;
  /** Every message received, parsed, in order. */
  readonly messages: ServerMessage[] = [];
  /** Resolves when the socket has closed, however that happened. */
  readonly closed: Promise<CloseInfo>;
  /** Socket errors (a socket always has an error listener, so none is unhandled). */
  readonly errors: Error[] = [];
  private readonly consumed: boolean[] = [];
  private readonly waiters = new Set<Waiter>();
  private closeInfo: CloseInfo | null = null;

  constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code: number, reason: Buffer) => {
        this.closeInfo = { code, reason: reason.toString('utf8') };
        for (const waiter of this.waiters) {
          waiter.reject(
            new Error(
              `socket closed (${code} ${this.closeInfo.reason}) before a matching message; ${this.describe()}`,
            ),
          );
        }
        resolve(this.closeInfo);
      });
    });
    ws.on('message', this.onMessage);
    ws.on('error', (err: Error) => this.errors.push(err));
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * The first not yet consumed message matching `predicate`, received already or still to
   * come; it is consumed, so the next call finds the one after it.
   */
  next(predicate: MessagePredicate, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ServerMessage> {
    const index = this.messages.findIndex((message, i) => !this.consumed[i] && predicate(message));
    if (index >= 0) {
      this.consumed[index] = true;
      return Promise.resolve(this.messages[index] as ServerMessage);
    }
    if (this.closeInfo !== null) {
      return Promise.reject(
        new Error(
          `socket is closed (${this.closeInfo.code}) and holds no matching message; ${this.describe()}`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (message) => {
          this.settle(waiter);
          resolve(message);
        },
        reject: (err) => {
          this.settle(waiter);
          reject(err);
        },
        timer: setTimeout(
          () => waiter.reject(new Error(`no matching message within ${timeoutMs} ms; ${this.describe()}`)),
          timeoutMs,
        ),
      };
      this.waiters.add(waiter);
    });
  }

  /** The next STATE of `sessionId` matching `predicate` (any STATE of it by default). */
  nextState(
    sessionId: string,
    predicate: (state: SessionView) => boolean = () => true,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<SessionView> {
    return this.next(
      (m) => m.type === 'STATE' && m.state?.session_id === sessionId && predicate(m.state),
      timeoutMs,
    ).then((m) => m.state as SessionView);
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  sendRaw(data: string | Buffer, options: { binary?: boolean } = {}): void {
    this.ws.send(data, { binary: options.binary ?? typeof data !== 'string' });
  }

  /** Sends a message with a `request_id` (one is made up if missing) and waits for its ACK or ERROR. */
  async request(message: Record<string, unknown>, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ServerMessage> {
    const requestId = typeof message.request_id === 'string' ? message.request_id : randomUUID();
    this.send({ ...message, request_id: requestId });
    return this.next(
      (m) => (m.type === 'ACK' || m.type === 'ERROR') && m.request_id === requestId,
      timeoutMs,
    );
  }

  /** A PING answered: the server has read everything this client sent before it. */
  async ping(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ServerMessage> {
    const clientTime = Math.random();
    this.send({ type: 'PING', client_time: clientTime });
    return this.next((m) => m.type === 'PONG' && m.client_time === clientTime, timeoutMs);
  }

  /** The versions of every STATE of `sessionId` received so far, in order. */
  states(sessionId: string): number[] {
    return this.messages
      .filter((m) => m.type === 'STATE' && m.state?.session_id === sessionId)
      .map((m) => (m.state as SessionView).version);
  }

  /** Closes normally (1000) and waits for the socket to be closed. */
  close(code = 1000, reason = ''): Promise<CloseInfo> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
    else if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    return this.closed;
  }

  /** Drops the connection without a closing handshake. */
  terminate(): Promise<CloseInfo> {
    this.ws.terminate();
    return this.closed;
  }

  private readonly onMessage = (data: RawData, isBinary: boolean): void => {
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data as Buffer).toString('utf8');
    let message: ServerMessage;
    try {
      message = JSON.parse(text) as ServerMessage;
    } catch {
      message = { type: '(unparseable)', raw: text, binary: isBinary };
    }
    const index = this.messages.push(message) - 1;
    this.consumed[index] = false;
    for (const waiter of this.waiters) {
      if (waiter.predicate(message)) {
        this.consumed[index] = true;
        waiter.resolve(message);
        return;
      }
    }
  };

  private settle(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    this.waiters.delete(waiter);
  }

  private describe(): string {
    const tail = this.messages.slice(-5).map((m) => JSON.stringify(m).slice(0, 200));
    return `received ${this.messages.length} message(s), the last: ${tail.join(' | ') || '(none)'}`;
  }
}

/**
 * Connects; resolves once the socket is open. A refused upgrade rejects with an
 * UpgradeRefusedError carrying the HTTP status and body.
 */
export function openSocket(url: string, options: ClientOptions = {}): Promise<TestSocket> {
  const ws = new WebSocket(url, options);
  const socket = new TestSocket(ws);
  return new Promise((resolve, reject) => {
    const onOpen = (): void => {
      ws.off('error', onError);
      resolve(socket);
    };
    const onError = (err: Error): void => {
      ws.off('open', onOpen);
      reject(err);
    };
    ws.once('open', onOpen);
    ws.once('error', onError);
    // With this listener ws leaves the refused request to us: read the body, then abort.
    ws.once('unexpected-response', (_request: http.ClientRequest, response: http.IncomingMessage) => {
      ws.off('open', onOpen);
      ws.off('error', onError);
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        ws.terminate();
        reject(new UpgradeRefusedError(response.statusCode ?? 0, body));
      });
    });
  });
}

export interface RawUpgrade {
  /** 101 for an opened WebSocket; otherwise the refusal's status, and `body` its JSON text. */
  status: number;
  body: string;
  /** Still open after a 101 (no WebSocket client on it): destroy it to close the connection. */
  socket: net.Socket;
}

/**
 * Upgrade requests written all at once, so the server reads every one of them before any of
 * its asynchronous checks (a token) can finish. Each socket first gets a GET /health answered:
 * the server has accepted it and reads it at once. Each entry of `paths` (`/v1/ws?token=…`) is
 * one request.
 */
export async function upgradeAllAtOnce(baseUrl: string, paths: string[]): Promise<RawUpgrade[]> {
  const { hostname, port } = new URL(baseUrl);
  const sockets = await Promise.all(
    paths.map(async () => {
      const socket = await new Promise<net.Socket>((resolve, reject) => {
        const connected = net.connect(Number(port), hostname, () => resolve(connected));
        connected.once('error', reject);
      });
      const answered = readHttpResponse(socket);
      socket.write(`GET /health HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
      if ((await answered).status !== 200) throw new Error('GET /health failed');
      return socket;
    }),
  );
  const answers = sockets.map(readHttpResponse);
  sockets.forEach((socket, i) =>
    socket.write(
      `GET ${paths[i]} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ),
  );
  return (await Promise.all(answers)).map((answer, i) => ({ ...answer, socket: sockets[i] as net.Socket }));
}

/** One response: a 101's head, or a head and its Content-Length body. */
function readHttpResponse(socket: net.Socket): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const done = (answer: { status: number; body: string }): void => {
      socket.off('data', onData);
      socket.off('error', reject);
      resolve(answer);
    };
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const headEnd = received.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = received.subarray(0, headEnd).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      if (status === 101) return done({ status, body: '' });
      const length = Number(/^content-length: *(\d+)/im.exec(head)?.[1] ?? 0);
      const body = received.subarray(headEnd + 4);
      if (body.length >= length) done({ status, body: body.toString('utf8') });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}
