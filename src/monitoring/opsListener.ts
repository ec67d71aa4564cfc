// `/health` and `/metrics` for a process that serves no API (the webhook worker), so the platform
// can probe it and Prometheus can scrape what it counts. node:http: two fixed GET routes need none
// of the API's stack (auth, CORS, body parsing, rate limits).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SyncKairosError } from '../types/errors.js';
import type { Metrics } from './metrics.js';

export interface OpsListener {
  /** The port it listens on (the one asked for, or the one the system chose for 0). */
  readonly port: number;
  close(): Promise<void>;
}

function send(
  res: http.ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', ...headers });
  res.end(body);
}

function sendError(res: http.ServerResponse, error: SyncKairosError, headers?: Record<string, string>): void {
  send(res, error.status, 'application/json; charset=utf-8', JSON.stringify(error.toBody()), headers);
}

export async function startOpsListener(options: {
  host: string;
  port: number;
  metrics: Metrics;
}): Promise<OpsListener> {
  const { registry } = options.metrics;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/health' && path !== '/metrics') {
      sendError(res, new SyncKairosError('NOT_FOUND', `No such endpoint: ${req.method} ${path}`));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(
        res,
        new SyncKairosError('METHOD_NOT_ALLOWED', `${req.method} is not allowed here; allowed: GET, HEAD`),
        { allow: 'GET, HEAD' },
      );
      return;
    }
    if (path === '/health') {
      send(res, 200, 'application/json; charset=utf-8', JSON.stringify({ status: 'ok' }));
      return;
    }
    registry.metrics().then(
      (body) => send(res, 200, registry.contentType, body),
      (err: unknown) =>
        sendError(
          res,
          new SyncKairosError('INTERNAL_ERROR', 'The metrics could not be collected', undefined, {
            cause: err,
          }),
        ),
    );
  });
  // Scrapes are short; a connection left open must not hold the process's exit.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
