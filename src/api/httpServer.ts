// The HTTP server around the app: how long a client may take to send a request, how long an idle
// keep-alive connection is kept, and the error shape for requests that never reach Fastify.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestListener } from 'node:http';
import { SyncKairosError } from '../types/errors.js';
import { rawHttpResponse } from '../types/rawHttpResponse.js';

export interface HttpTimeouts {
  /** From a request's first byte to the end of its headers. */
  headersTimeoutMs: number;
  /** From a request's first byte to the end of its body; a WebSocket is not a request once upgraded. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
}

/** How often Node looks for requests past their timeouts (its default, 30 s, would stretch them). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

export function createHttpServer(app: RequestListener, timeouts: HttpTimeouts): http.Server {
  const server = http.createServer(
    {
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      keepAliveTimeout: timeouts.keepAliveTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    app,
  );
  server.on('clientError', answerClientError);
  return server;
}

/** Node's own answers here have no body; ours have the error shape. The connection closes. */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(rawHttpResponse(clientErrorOf(err)), () => socket.destroy());
}

function clientErrorOf(err: NodeJS.ErrnoException): SyncKairosError {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new SyncKairosError('REQUEST_TIMEOUT', 'The request did not arrive in time');
    case 'HPE_HEADER_OVERFLOW':
      return new SyncKairosError('HEADERS_TOO_LARGE', 'The request headers are too large');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new SyncKairosError('PAYLOAD_TOO_LARGE', 'The chunk extensions are too large');
    default:
      return new SyncKairosError('VALIDATION_ERROR', 'The request is not valid HTTP');
  }
}
