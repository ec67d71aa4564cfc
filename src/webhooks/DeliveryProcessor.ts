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
import { BatchWhileBusy } from './batchWhileBusy.js';
import type { AttemptRecord, Claim, WebhookStore } from './WebhookStore.js';

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

/** What a message's turn comes to: the answer to the queue, the log's record, the outcome to count. */
interface Decision {
  result: ProcessResult;
  /** Null: nothing to log (a copy of a finished message, or one held back). */
  record: AttemptRecord | null;
  outcome: { outcome: DeliveryOutcome; durationMs: number | null } | null;
}

/**
 * How long the first look and the logging of an outcome wait for others to go in the same
 * statement. A batch job's messages all look at once; their answers come back over a few ms.
 */
const CLAIM_LINGER_MS = 2;
const FINISH_LINGER_MS = 10;

/** The longest error text kept in the delivery log. */
const MAX_ERROR_CHARS = 1024;

export class DeliveryProcessor {
  // The messages in flight at once (the queue's concurrency) share their queries.
  private readonly claims: BatchWhileBusy<string, Claim | null>;
  private readonly finishes: BatchWhileBusy<AttemptRecord, string | null>;

  constructor(private readonly options: DeliveryProcessorOptions) {
    const { store } = options;
    this.claims = new BatchWhileBusy(
      async (ids) => {
        const claims = await store.claim(ids);
        return ids.map((id) => claims.get(id) ?? null);
      },
      { lingerMs: CLAIM_LINGER_MS },
    );
    this.finishes = new BatchWhileBusy((records) => store.finish(records), { lingerMs: FINISH_LINGER_MS });
  }

  readonly process = async (message: WebhookMessage): Promise<ProcessResult> => {
    const { result, record, outcome } = await this.decide(message);
    if (record === null) return result;
    const next = await this.finishes.call(record);
    // Counted once logged: an outcome that failed to be logged is attempted again, and counted then.
    if (outcome !== null) this.options.observer?.onAttempt?.(outcome.outcome, outcome.durationMs);
    if (next !== null) await this.wake(message, next);
    return result;
  };

  /**
   * The next message of the session to this endpoint need not wait for its own next look. Only a
   * hint: this message is finished whatever happens here.
   */
  private async wake(message: WebhookMessage, next: string): Promise<void> {
    try {
      await this.options.wake?.(next);
    } catch (err) {
      this.options.logger?.warn(
        { err, message: message.id },
        'could not wake the next webhook message; it looks again by itself',
      );
    }
  }

  private async decide(message: WebhookMessage): Promise<Decision> {
    const claim = await this.claims.call(message.id);
    // Not logged (its endpoint was deleted) or already finished: a re-queued copy, nothing to do.
    if (claim === null || claim.delivery.status !== 'pending')
      return { result: null, record: null, outcome: null };
    const { delivery: row, endpoint, earlier } = claim;
    const startedMs = Date.now();
    if (endpoint.disabled) {
      return {
        result: null,
        outcome: { outcome: 'disabled', durationMs: null },
        record: {
          messageId: message.id,
          status: 'failed',
          attempts: row.attempts,
          responseCode: row.lastResponseCode,
          error: `endpoint disabled${endpoint.disabledReason === null ? '' : `: ${endpoint.disabledReason}`}`,
          nextAttemptAtMs: null,
          nowMs: startedMs,
        },
      };
    }
    // Per session, in version order: wait while an earlier message is still on its way.
    if (earlier !== null) {
      return {
        result: { retryInMs: holdBackMs(earlier.nextAttemptAtMs, row.createdAtMs, startedMs) },
        record: null,
        outcome: null,
      };
    }

    const result = await this.attempt(endpoint.url, endpoint.secret, message);
    const nowMs = Date.now();
    const durationMs = nowMs - startedMs;
    const logged = {
      messageId: message.id,
      attempts: row.attempts + 1,
      responseCode: result.statusCode,
      error: result.error === null ? null : result.error.slice(0, MAX_ERROR_CHARS),
      nowMs,
    };
    const finished = (status: 'delivered' | 'failed', outcome: DeliveryOutcome): Decision => ({
      result: null,
      record: { ...logged, status, nextAttemptAtMs: null },
      outcome: { outcome, durationMs },
    });
    if (result.outcome === 'delivered') return finished('delivered', 'delivered');
    if (result.outcome === 'gone') {
      const reason = `the receiver answered 410 Gone to ${message.id}`;
      const { store } = this.options;
      await store.disableEndpoint(message.endpointId, reason);
      // Not this message: it is logged with its own answer, the 410, like any outcome.
      await store.failPending(message.endpointId, `endpoint disabled: ${reason}`, nowMs, message.id);
      this.options.logger?.warn({ endpoint: message.endpointId }, 'webhook endpoint answered 410; disabled');
      return finished('failed', 'disabled');
    }
    const delayMs = nextRetryDelayMs(this.options.retryScheduleMs, logged.attempts, result.retryAfterMs);
    if (delayMs === null) return finished('failed', 'failed');
    return {
      result: { retryInMs: delayMs },
      record: { ...logged, status: 'pending', nextAttemptAtMs: nowMs + delayMs },
      outcome: { outcome: 'retry', durationMs },
    };
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
