// One delivery attempt: a signed POST, 10 s at most, redirects not followed, at most a few KiB
// of the answer read (for the delivery log).
import type { Dispatcher, Response } from 'undici';
import { parseRetryAfterMs } from './retrySchedule.js';

export const ATTEMPT_TIMEOUT_MS = 10_000;
/** How much of a receiver's answer is read and kept in the delivery log. */
export const RESPONSE_BODY_LIMIT_BYTES = 4096;

export interface AttemptResult {
  /** delivered: a 2xx. gone: 410, the endpoint asks to be disabled. failed: anything else. */
  outcome: 'delivered' | 'gone' | 'failed';
  /** The HTTP status, or null when no answer came (refused, timed out, address forbidden). */
  statusCode: number | null;
  /** Why it failed (the start of the answer's body, or the network error); null when delivered. */
  error: string | null;
  retryAfterMs: number | null;
}

export interface AttemptRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** The production agent that connects only to checked addresses; absent: the default one. */
  dispatcher?: Dispatcher;
  timeoutMs?: number;
}

/** Reads at most `limit` bytes of the body as text, then lets go of the rest. */
async function readBodyPrefix(body: Response['body'], limit: number): Promise<string> {
  if (body === null) return '';
  const reader = body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = Buffer.from(value as Uint8Array);
      chunks.push(chunk);
      size += chunk.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

const describe = (err: unknown): string => {
  if (!(err instanceof Error)) return String(err);
  // undici reports "fetch failed" and keeps the reason (refused, forbidden address) as the cause.
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return err.name === 'TimeoutError' ? 'timed out' : `${err.message}${cause}`;
};

export async function attemptDelivery(request: AttemptRequest): Promise<AttemptResult> {
  // Loaded on the first attempt, not at startup: most instances never send a webhook.
  const { fetch } = await import('undici');
  let response;
  try {
    response = await fetch(request.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...request.headers },
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(request.timeoutMs ?? ATTEMPT_TIMEOUT_MS),
      ...(request.dispatcher === undefined ? {} : { dispatcher: request.dispatcher }),
    });
  } catch (err) {
    return { outcome: 'failed', statusCode: null, error: describe(err), retryAfterMs: null };
  }
  const text = await readBodyPrefix(response.body, RESPONSE_BODY_LIMIT_BYTES).catch(() => '');
  const statusCode = response.status;
  if (statusCode >= 200 && statusCode < 300) {
    return { outcome: 'delivered', statusCode, error: null, retryAfterMs: null };
  }
  return {
    outcome: statusCode === 410 ? 'gone' : 'failed',
    statusCode,
    error: `HTTP ${statusCode}${text === '' ? '' : `: ${text}`}`,
    retryAfterMs: parseRetryAfterMs(response.headers.get('retry-after'), Date.now()),
  };
}
