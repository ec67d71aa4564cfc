// A JSON call to a running service that must succeed: anything but 2xx fails the test, with the body.
import type { SessionView } from '../../src/types/session.js';

export async function callJson<T = SessionView>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** The service's open WebSocket connections, from its metrics. */
export async function openWebSocketConnections(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const match = /^synckairos_websocket_connections (\d+)$/m.exec(text);
  if (!match) throw new Error('no synckairos_websocket_connections in /metrics');
  return Number(match[1]);
}
