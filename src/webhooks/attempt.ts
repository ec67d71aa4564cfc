// One delivery attempt: a signed POST, 10 s at most, redirects not followed, at most a few KiB
// of the answer read (for the delivery log).
import type * as Undici from 'undici';
import type { Dispatcher } from 'undici';
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
async function readBodyPrefix(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).byteLength;
      if (size >= limit) break;
    }
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

const describe = (err: unknown): string => {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return err.name === 'TimeoutError' ? 'timed out' : `${err.message}${cause}`;
};

// Loaded on the first attempt, not at startup: most instances never send a webhook. Kept, because
// each import() of it, even of a module already loaded, costs a trip through the module loader.
let undici: Promise<typeof Undici> | null = null;

/**
 * undici's `request`, not `fetch`: the same connection pool without the WHATWG Request and
 * Response objects, which cost more than the rest of an attempt. It never follows a redirect.
 */
export async function attemptDelivery(request: AttemptRequest): Promise<AttemptResult> {
  undici ??= import('undici');
  const client = await undici;
  let response;
  try {
    response = await client.request(request.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...request.headers },
      body: request.body,
      signal: AbortSignal.timeout(request.timeoutMs ?? ATTEMPT_TIMEOUT_MS),
      ...(request.dispatcher === undefined ? {} : { dispatcher: request.dispatcher }),
    });
  } catch (err) {
    return { outcome: 'failed', statusCode: null, error: describe(err), retryAfterMs: null };
  }
  const { statusCode } = response;
  if (statusCode >= 200 && statusCode < 300) {
    // The answer's body is not wanted: read and dropped (up to undici's limit), so the
    // connection goes back to the pool.
    await response.body.dump().catch(() => {});
    return { outcome: 'delivered', statusCode, error: null, retryAfterMs: null };
  }
  const text = await readBodyPrefix(response.body, RESPONSE_BODY_LIMIT_BYTES).catch(() => '');
  const retryAfter = response.headers['retry-after'];
  return {
    outcome: statusCode === 410 ? 'gone' : 'failed',
    statusCode,
    error: `HTTP ${statusCode}${text === '' ? '' : `: ${text}`}`,
    retryAfterMs: parseRetryAfterMs(
      Array.isArray(retryAfter) ? (retryAfter[0] ?? null) : (retryAfter ?? null),
      Date.now(),
    ),
  };
}
