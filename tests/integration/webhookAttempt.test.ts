// One delivery attempt against a local HTTP server: what each kind of answer (or none) comes to.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptDelivery, RESPONSE_BODY_LIMIT_BYTES } from '../../src/webhooks/attempt.js';

let server: http.Server;
let base: string;
const hits: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    req.resume();
    req.on('end', () => {
      if (req.url === '/ok') res.writeHead(204).end();
      else if (req.url === '/ok-with-body') res.writeHead(200).end('x'.repeat(200_000));
      else if (req.url === '/redirect') res.writeHead(302, { location: '/ok' }).end();
      else if (req.url === '/busy') res.writeHead(503, { 'retry-after': '7' }).end('later');
      else if (req.url === '/big-error') res.writeHead(500).end('e'.repeat(RESPONSE_BODY_LIMIT_BYTES * 3));
      else if (req.url === '/gone') res.writeHead(410).end();
      // '/silent' never answers.
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const attempt = (path: string, timeoutMs?: number) =>
  attemptDelivery({
    url: `${base}${path}`,
    headers: { 'webhook-id': 'msg_1' },
    body: '{"type":"session.expired"}',
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });

describe('attemptDelivery', () => {
  it('a 2xx is delivered, whatever the size of its body', async () => {
    expect(await attempt('/ok')).toEqual({
      outcome: 'delivered',
      statusCode: 204,
      error: null,
      retryAfterMs: null,
    });
    expect(await attempt('/ok-with-body')).toMatchObject({ outcome: 'delivered', statusCode: 200 });
  });

  it('does not follow a redirect: a 3xx is a failed attempt', async () => {
    hits.length = 0;
    expect(await attempt('/redirect')).toMatchObject({
      outcome: 'failed',
      statusCode: 302,
      error: 'HTTP 302',
    });
    expect(hits).toEqual(['/redirect']);
  });

  it("reads Retry-After, and keeps only the start of a failed answer's body", async () => {
    expect(await attempt('/busy')).toEqual({
      outcome: 'failed',
      statusCode: 503,
      error: 'HTTP 503: later',
      retryAfterMs: 7_000,
    });
    const big = await attempt('/big-error');
    expect(big.error).toBe(`HTTP 500: ${'e'.repeat(RESPONSE_BODY_LIMIT_BYTES)}`);
  });

  it('410 asks for the endpoint to be disabled', async () => {
    expect(await attempt('/gone')).toMatchObject({ outcome: 'gone', statusCode: 410 });
  });

  it('an answer that does not come within the timeout, or a refused connection, fails with no status', async () => {
    expect(await attempt('/silent', 200)).toEqual({
      outcome: 'failed',
      statusCode: null,
      error: 'timed out',
      retryAfterMs: null,
    });
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await attemptDelivery({ url: `http://127.0.0.1:${port}/`, headers: {}, body: '{}' });
    expect(refused).toMatchObject({ outcome: 'failed', statusCode: null });
    expect(refused.error).toMatch(/ECONNREFUSED/);
  });
});
