// A webhook receiver on 127.0.0.1 for tests: records every request it gets (with the status it
// answered) and answers whatever status the test sets, after a delay if the test sets one.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { RunningServer } from '../../src/index.js';

export interface ReceivedRequest {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** The status this receiver answered. */
  answered: number;
  /** Epoch ms the request was in. */
  receivedAtMs: number;
  /** Epoch ms the answer was written out; null while it waits, or when the sender hung up first. */
  answeredAtMs: number | null;
  /** The sender hung up before the answer was written (it died, or gave up). */
  cutOff: boolean;
}

export interface WebhookReceiver {
  url: string;
  readonly requests: ReceivedRequest[];
  /** What the next requests are answered (200 unless set), and extra headers (Retry-After). */
  answer(status: number, headers?: Record<string, string>): void;
  /** Answers each request this long after it is in (0 unless set): attempts stay in flight. */
  answerAfter(ms: number): void;
  /** Requests in, not yet answered. */
  inFlight(): number;
  /** The requests answered 2xx, in arrival order. */
  accepted(): ReceivedRequest[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  let status = 200;
  let extraHeaders: Record<string, string> = {};
  let delayMs = 0;
  let inFlight = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: ReceivedRequest = {
        id: String(req.headers['webhook-id']),
        timestamp: String(req.headers['webhook-timestamp']),
        signature: String(req.headers['webhook-signature']),
        body: Buffer.concat(chunks).toString('utf8'),
        answered: status,
        receivedAtMs: Date.now(),
        answeredAtMs: null,
        cutOff: false,
      };
      requests.push(request);
      const headers = { 'content-type': 'text/plain', ...extraHeaders };
      inFlight += 1;
      res.once('close', () => {
        inFlight -= 1;
        request.cutOff = !res.writableFinished;
      });
      const reply = (): void => {
        if (res.destroyed) return;
        res.writeHead(request.answered, headers);
        res.end(request.answered >= 300 ? `receiver says ${request.answered}` : 'ok', () => {
          request.answeredAtMs = Date.now();
        });
      };
      if (delayMs > 0) setTimeout(reply, delayMs);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    answer(next, headers = {}) {
      status = next;
      extraHeaders = headers;
    },
    answerAfter(ms) {
      delayMs = ms;
    },
    inFlight: () => inFlight,
    accepted: () => requests.filter((r) => r.answered >= 200 && r.answered < 300),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls until `condition` holds; fails naming `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** What the receiver accepted, each checked with the standardwebhooks package (throws if a signature is wrong). */
export function verifiedMessages(
  secret: string,
  receiver: WebhookReceiver,
): Array<{ id: string; type: string; session: string; version: number }> {
  const verifier = new Webhook(secret);
  return receiver.accepted().map((request) => {
    const body = verifier.verify(request.body, {
      'webhook-id': request.id,
      'webhook-timestamp': request.timestamp,
      'webhook-signature': request.signature,
    }) as { type: string; data: { session_id: string; version: number } };
    return { id: request.id, type: body.type, session: body.data.session_id, version: body.data.version };
  });
}

/** Waits until the service's webhook tables answer: the audit database opens in the background. */
export async function webhooksReady(server: RunningServer): Promise<RunningServer> {
  await waitUntil(
    'the webhook tables',
    () =>
      server.webhooks!.list().then(
        () => true,
        () => false,
      ),
    30_000,
  );
  return server;
}
