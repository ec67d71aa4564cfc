// Where messages wait for their (next) attempt: BullMQ in distributed mode, LMDB in embedded mode.
// Either only schedules; the DeliveryProcessor decides.
import type { WebhookMessage } from './messages.js';
import type { ProcessResult } from './DeliveryProcessor.js';

export interface DeliveryQueue {
  /** Queues the messages (a message already queued under its id is not queued twice); durable once resolved. */
  add(messages: readonly WebhookMessage[]): Promise<void>;
  /**
   * Makes a message that waits (held back behind an earlier one) due now; a no-op for one that is
   * not waiting. Only a hint: a held-back message also looks again by itself.
   */
  wake(messageId: string): Promise<void>;
  /** Messages waiting, held back, or being attempted. */
  backlog(): Promise<number>;
  /** Stops taking messages, waits for attempts in flight; what waits stays queued for the next start. */
  close(): Promise<void>;
}

export type ProcessMessage = (message: WebhookMessage) => Promise<ProcessResult>;

/** A processing error (the database unreachable) is not the message's: it is tried again after this. */
export const PROCESS_ERROR_RETRY_MS = 5_000;
