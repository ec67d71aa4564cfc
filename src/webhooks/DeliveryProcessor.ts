// What happens to a message when its queue hands it over: checks (already delivered? endpoint
// gone or disabled? an earlier message of the session still on its way?), one signed attempt,
// the delivery log updated, and the answer to the queue: done, or run me again in so many ms.
// Both queues (BullMQ, LMDB) only schedule; every decision is here, once.
import type { Dispatcher } from 'undici';
import type { Logger } from '../monitoring/logger.js';
import { attemptDelivery, type AttemptResult } from './attempt.js';
import { checkPublicUrl } from './addressGuard.js';
import type { WebhookMessage } from './messages.js';
import { holdBackMs, nextRetryDelayMs } from './retrySchedule.js';
import { signedHeaders } from './signing.js';
import type { WebhookStore } from './WebhookStore.js';

/** How a message's turn ended, for the deliveries counter. */
export type DeliveryOutcome = 'delivered' | 'retry' | 'failed' | 'disabled';

export interface DeliveryObserver {
  /** `durationMs` null: no request was made (the endpoint was already disabled). */
  onAttempt?(outcome: DeliveryOutcome, durationMs: number | null): void;
}

/** Null: the message is finished (delivered, failed, or nothing to do). Otherwise: run it again later. */
export type ProcessResult = { retryInMs: number } | null;

export interface DeliveryProcessorOptions {
  store: WebhookStore;
  /** Delays between attempts (WEBHOOK_RETRY_SCHEDULE). */
  retryScheduleMs: readonly number[];
  /** False (production): only public addresses, checked before each attempt and at connect. */
  allowPrivate: boolean;
  /** The agent that connects only to checked addresses (guardedAgent), when !allowPrivate. */
  dispatcher?: Dispatcher;
  observer?: DeliveryObserver;
  logger?: Pick<Logger, 'warn' | 'info'>;
  timeoutMs?: number;
  /** Makes a held-back message due now (the queue's wake): called for the next one once a message is finished. */
  wake?: (messageId: string) => Promise<void>;
}

/** The longest error text kept in the delivery log. */
const MAX_ERROR_CHARS = 1024;

export class DeliveryProcessor {
  constructor(private readonly options: DeliveryProcessorOptions) {}

  readonly process = async (message: WebhookMessage): Promise<ProcessResult> => {
    const result = await this.decide(message);
    if (result === null) await this.wakeNext(message);
    return result;
  };

  /**
   * The next message of the session to this endpoint need not wait for its own next look. Only a
   * hint: this message is finished whatever happens here.
   */
  private async wakeNext(message: WebhookMessage): Promise<void> {
    if (this.options.wake === undefined) return;
    try {
      const next = await this.options.store.nextPending(
        message.endpointId,
        message.sessionId,
        message.version,
      );
      if (next !== null) await this.options.wake(next);
    } catch (err) {
      this.options.logger?.warn(
        { err, message: message.id },
        'could not wake the next webhook message; it looks again by itself',
      );
    }
  }

  private async decide(message: WebhookMessage): Promise<ProcessResult> {
    const { store } = this.options;
    const row = await store.delivery(message.id);
    // Not logged (its endpoint was deleted) or already finished: a re-queued copy, nothing to do.
    if (row === null || row.status !== 'pending') return null;
    const endpoint = await store.getEndpoint(message.endpointId);
    if (endpoint === null) return null;
    const startedMs = Date.now();
    if (endpoint.disabled) {
      await store.recordAttempt(message.id, {
        ...unchanged(row),
        status: 'failed',
        error: `endpoint disabled${endpoint.disabledReason === null ? '' : `: ${endpoint.disabledReason}`}`,
        nowMs: startedMs,
      });
      this.options.observer?.onAttempt?.('disabled', null);
      return null;
    }
    // Per session, in version order: wait while an earlier message is still on its way.
    const earlier = await store.earlierPending(message.endpointId, message.sessionId, message.version);
    if (earlier !== null)
      return { retryInMs: holdBackMs(earlier.nextAttemptAtMs, row.createdAtMs, startedMs) };

    const result = await this.attempt(endpoint.url, endpoint.secret, message);
    const nowMs = Date.now();
    const durationMs = nowMs - startedMs;
    const attempts = row.attempts + 1;
    const logged = {
      attempts,
      responseCode: result.statusCode,
      error: result.error === null ? null : result.error.slice(0, MAX_ERROR_CHARS),
      nowMs,
    };
    if (result.outcome === 'delivered') {
      await store.recordAttempt(message.id, { ...logged, status: 'delivered', nextAttemptAtMs: null });
      this.options.observer?.onAttempt?.('delivered', durationMs);
      return null;
    }
    if (result.outcome === 'gone') {
      const reason = `the receiver answered 410 Gone to ${message.id}`;
      await store.disableEndpoint(endpoint.id, reason);
      await store.recordAttempt(message.id, { ...logged, status: 'failed', nextAttemptAtMs: null });
      await store.failPending(endpoint.id, `endpoint disabled: ${reason}`, nowMs);
      this.options.logger?.warn({ endpoint: endpoint.id }, 'webhook endpoint answered 410; disabled');
      this.options.observer?.onAttempt?.('disabled', durationMs);
      return null;
    }
    const delayMs = nextRetryDelayMs(this.options.retryScheduleMs, attempts, result.retryAfterMs);
    if (delayMs === null) {
      await store.recordAttempt(message.id, { ...logged, status: 'failed', nextAttemptAtMs: null });
      this.options.observer?.onAttempt?.('failed', durationMs);
      return null;
    }
    await store.recordAttempt(message.id, { ...logged, status: 'pending', nextAttemptAtMs: nowMs + delayMs });
    this.options.observer?.onAttempt?.('retry', durationMs);
    return { retryInMs: delayMs };
  }

  private async attempt(url: string, secret: string, message: WebhookMessage): Promise<AttemptResult> {
    if (!this.options.allowPrivate) {
      try {
        await checkPublicUrl(new URL(url));
      } catch (err) {
        return { outcome: 'failed', statusCode: null, error: (err as Error).message, retryAfterMs: null };
      }
    }
    const timestampSeconds = Math.floor(Date.now() / 1000);
    return attemptDelivery({
      url,
      headers: { ...signedHeaders(secret, message.id, timestampSeconds, message.body) },
      body: message.body,
      ...(this.options.dispatcher === undefined ? {} : { dispatcher: this.options.dispatcher }),
      ...(this.options.timeoutMs === undefined ? {} : { timeoutMs: this.options.timeoutMs }),
    });
  }
}

function unchanged(row: {
  attempts: number;
  lastResponseCode: number | null;
  nextAttemptAtMs: number | null;
}): { attempts: number; responseCode: number | null; nextAttemptAtMs: null } {
  return { attempts: row.attempts, responseCode: row.lastResponseCode, nextAttemptAtMs: null };
}
