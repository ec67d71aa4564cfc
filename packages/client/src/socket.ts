// The WebSocket the SDK talks through: the browser's, or `ws` in Node, behind the few members
// both have in common.

/** What the SDK uses of a WebSocket; the browser's and `ws`'s both fit. */
export interface ClientSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  // `never` parameters: any socket's own event types fit, and the SDK reads the events through
  // the narrow shapes below.
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}

export interface SocketMessageEvent {
  data: unknown;
}

export interface SocketCloseEvent {
  code: number;
  reason: string;
}

export type WebSocketConstructor = new (url: string) => ClientSocket;

/** readyState of an open socket (the same constant in browsers and `ws`). */
export const SOCKET_OPEN = 1;
export const SOCKET_CLOSED = 3;

/** The service's base URL (http, https, ws or wss, maybe behind a path prefix) → its WebSocket URL. */
export function webSocketUrl(baseUrl: string, sessionId: string, token?: string): string {
  const url = new URL(baseUrl);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new TypeError(`url must be http(s) or ws(s), not ${url.protocol}`);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/ws`;
  url.search = '';
  url.hash = '';
  url.searchParams.set('session_id', sessionId);
  if (token !== undefined) url.searchParams.set('token', token);
  return url.toString();
}

/**
 * The global WebSocket when there is one (browsers, Node 22+), else `ws`. The specifier is a
 * variable so that bundlers leave `ws` out of a browser bundle instead of trying to pack it.
 */
export async function resolveWebSocket(): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global !== undefined) return global;
  const wsModule = 'ws';
  try {
    const imported = (await import(/* @vite-ignore */ wsModule)) as {
      default?: WebSocketConstructor;
      WebSocket?: WebSocketConstructor;
    };
    const constructor = imported.WebSocket ?? imported.default;
    if (constructor !== undefined) return constructor;
  } catch {
    // Reported below with what to do about it.
  }
  throw new Error('No WebSocket available: install the `ws` package or pass the `WebSocket` option');
}
