// An error as a whole HTTP/1.1 response, for a socket that has no framework response: a refused
// WebSocket upgrade, a request the HTTP parser gave up on. Server side only (node:http).
import { STATUS_CODES } from 'node:http';
import type { SyncKairosError } from './errors.js';

/** The response closes the connection: what else the client sent is not read. */
export function rawHttpResponse(error: SyncKairosError): string {
  const body = JSON.stringify(error.toBody());
  return [
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}
