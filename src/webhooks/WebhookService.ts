// What the webhook and device routes call (DESIGN §12.3), and the feed the audit pipeline calls
// with each batch of recorded changes. Every refusal is a SyncKairosError and changes nothing.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../monitoring/logger.js';
import { parseInput } from '../schemas/requests.js';
import { createWebhookBody, registerDeviceBody } from '../schemas/webhooks.js';
import { storeUnavailable, SyncKairosError, validationError } from '../types/errors.js';
import type { SessionEvent } from '../types/session.js';
import { checkPublicUrl, ForbiddenAddressError } from './addressGuard.js';
import type { DeliveryQueue } from './DeliveryQueue.js';
import { messagesFor } from './messages.js';
import type { PushNotifier } from './PushNotifier.js';
import { generateSecret } from './signing.js';
import type { DeliveryRow, EndpointRow, WebhookStore } from './WebhookStore.js';

export const DEFAULT_MAX_ENDPOINTS = 100;
export const DEFAULT_DELIVERIES_LIMIT = 50;
export const MAX_DELIVERIES_LIMIT = 200;
/** Endpoints created on another instance start getting messages here within this long. */
const ENDPOINT_CACHE_MS = 1_000;

export interface WebhookEndpointView {
  id: string;
  url: string;
  events: string[];
  session_id: string | null;
  disabled: boolean;
  disabled_reason: string | null;
  /** Epoch ms. */
  created_at: number;
}

/** What creation answers: the only time the secret is shown. */
export interface CreatedWebhookView extends WebhookEndpointView {
  secret: string;
}

export interface DeliveryView {
  message_id: string;
  session_id: string;
  version: number;
  type: string;
  status: DeliveryRow['status'];
  attempts: number;
  last_response_code: number | null;
  last_error: string | null;
  /** Epoch ms of the next attempt while pending; null once finished. */
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface DeliveryPage {
  deliveries: DeliveryView[];
  next_cursor: string | null;
}

export interface DeviceView {
  session_id: string;
  token: string;
  participant_id: string | null;
}

export interface WebhookServiceOptions {
  store: WebhookStore;
  queue: DeliveryQueue;
  /** Whether a session exists now (a session filter must name one). */
  sessionExists: (sessionId: string) => Promise<boolean>;
  /** False in production unless WEBHOOK_ALLOW_PRIVATE=true: only URLs to public addresses. */
  allowPrivate: boolean;
  maxEndpoints?: number;
  /** Resolves true once the tables exist (the audit store's migrations); calls wait for it a while. */
  ready?: Promise<boolean>;
  push?: PushNotifier | null;
  logger?: Pick<Logger, 'warn' | 'error' | 'info'>;
}

function endpointView(row: EndpointRow): WebhookEndpointView {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    session_id: row.sessionId,
    disabled: row.disabled,
    disabled_reason: row.disabledReason,
    created_at: row.createdAtMs,
  };
}

function deliveryView(row: DeliveryRow): DeliveryView {
  return {
    message_id: row.messageId,
    session_id: row.sessionId,
    version: row.version,
    type: row.type,
    status: row.status,
    attempts: row.attempts,
    last_response_code: row.lastResponseCode,
    last_error: row.lastError,
    next_attempt_at: row.nextAttemptAtMs,
    created_at: row.createdAtMs,
    updated_at: row.updatedAtMs,
  };
}

/** How long a call waits for the audit database's schema at startup before it answers 503. */
const READY_WAIT_MS = 5_000;

const endpointNotFound = (id: string): SyncKairosError =>
  new SyncKairosError('NOT_FOUND', `Webhook endpoint '${id}' does not exist`, { webhook_id: id });

/** An opaque page cursor for "after this row of the log". */
function encodeCursor(seq: number): string {
  return Buffer.from(`d${seq}`).toString('base64url');
}

function decodeCursor(cursor: string): number | null {
  if (!/^[A-Za-z0-9_-]{1,24}$/.test(cursor)) return null;
  const match = /^d([1-9]\d{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (match === null) return null;
  const seq = Number(match[1]);
  return Number.isSafeInteger(seq) && encodeCursor(seq) === cursor ? seq : null;
}

export class WebhookService {
  private readonly store: WebhookStore;
  private readonly maxEndpoints: number;
  private cachedEndpoints: { rows: EndpointRow[]; atMs: number } | null = null;
  private readonly pushes = new Set<Promise<void>>();

  constructor(private readonly options: WebhookServiceOptions) {
    this.store = options.store;
    this.maxEndpoints = options.maxEndpoints ?? DEFAULT_MAX_ENDPOINTS;
  }

  /** Waits for the schema; an audit database still unreachable is a 503, not a hang. */
  private async whenReady(): Promise<void> {
    if (this.options.ready === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), READY_WAIT_MS);
    });
    const ready = await Promise.race([this.options.ready, timedOut]);
    clearTimeout(timer);
    if (!ready) throw storeUnavailable('audit');
  }

  async create(body: unknown): Promise<CreatedWebhookView> {
    const input = parseInput(createWebhookBody, body);
    await this.whenReady();
    if (input.session_id !== undefined && !(await this.options.sessionExists(input.session_id))) {
      throw validationError([
        { path: 'session_id', message: `session '${input.session_id}' does not exist` },
      ]);
    }
    if (!this.options.allowPrivate) await this.checkUrl(input.url);
    const events = [...new Set(input.events)];
    const row: EndpointRow = {
      id: `ep_${randomBytes(12).toString('base64url')}`,
      url: input.url,
      events: events.includes('*') ? ['*'] : events,
      sessionId: input.session_id ?? null,
      secret: generateSecret(),
      disabled: false,
      disabledReason: null,
      createdAtMs: Date.now(),
    };
    if (!(await this.store.insertEndpoint(row, this.maxEndpoints))) {
      throw validationError([
        { path: '', message: `at most ${this.maxEndpoints} webhook endpoints; delete one first` },
      ]);
    }
    this.cachedEndpoints = null;
    return { ...endpointView(row), secret: row.secret };
  }

  private async checkUrl(url: string): Promise<void> {
    try {
      await checkPublicUrl(new URL(url));
    } catch (err) {
      const message =
        err instanceof ForbiddenAddressError
          ? err.message
          : `its host does not resolve (${(err as NodeJS.ErrnoException).code ?? 'DNS error'})`;
      throw validationError([{ path: 'url', message }]);
    }
  }

  async list(): Promise<WebhookEndpointView[]> {
    await this.whenReady();
    return (await this.store.listEndpoints()).map(endpointView);
  }

  async get(id: string): Promise<WebhookEndpointView> {
    await this.whenReady();
    const row = await this.store.getEndpoint(id);
    if (row === null) throw endpointNotFound(id);
    return endpointView(row);
  }

  /** Deletes the endpoint; its queued messages are dropped when their turn comes. */
  async delete(id: string): Promise<void> {
    await this.whenReady();
    if (!(await this.store.deleteEndpoint(id))) throw endpointNotFound(id);
    this.cachedEndpoints = null;
  }

  async deliveries(id: string, page: { cursor?: string; limit?: number } = {}): Promise<DeliveryPage> {
    const afterSeq = page.cursor === undefined ? 0 : decodeCursor(page.cursor);
    if (afterSeq === null)
      throw validationError([{ path: 'cursor', message: 'is not a cursor this service issued' }]);
    const limit = Math.min(
      Math.max(Math.trunc(page.limit ?? DEFAULT_DELIVERIES_LIMIT), 1),
      MAX_DELIVERIES_LIMIT,
    );
    await this.get(id);
    const rows = await this.store.deliveries(id, afterSeq, limit + 1);
    const more = rows.length > limit;
    const shown = rows.slice(0, limit);
    const last = shown[shown.length - 1];
    return { deliveries: shown.map(deliveryView), next_cursor: more && last ? encodeCursor(last.seq) : null };
  }

  async registerDevice(sessionId: string, body: unknown): Promise<DeviceView> {
    const input = parseInput(registerDeviceBody, body);
    await this.whenReady();
    if (!(await this.options.sessionExists(sessionId))) {
      throw new SyncKairosError('SESSION_NOT_FOUND', `Session '${sessionId}' does not exist`, {
        session_id: sessionId,
      });
    }
    const device = { sessionId, token: input.token, participantId: input.participant_id ?? null };
    await this.store.putDevice(device, Date.now());
    return { session_id: sessionId, token: device.token, participant_id: device.participantId };
  }

  async unregisterDevice(sessionId: string, token: string): Promise<void> {
    await this.whenReady();
    if ((await this.store.removeDevices(sessionId, [token])) === 0) {
      throw new SyncKairosError('NOT_FOUND', `No device with this token is registered for '${sessionId}'`, {
        session_id: sessionId,
      });
    }
  }

  /**
   * The audit pipeline's callback (OnRecorded): logs and queues one message per subscribed
   * endpoint and change, and sends the pushes. Rejects when the messages could not be queued
   * (the distributed relay then retries the batch; a message queued twice is one message).
   */
  readonly feed = async (events: readonly SessionEvent[]): Promise<void> => {
    if (this.options.push) this.sendPushes(this.options.push, events);
    const endpoints = (await this.activeEndpoints()).filter((row) => !row.disabled);
    if (endpoints.length === 0) return;
    const messages = messagesFor(events, endpoints);
    if (messages.length === 0) return;
    const pending = await this.store.logPending(messages, Date.now());
    await this.options.queue.add(messages.filter((message) => pending.has(message.id)));
  };

  private sendPushes(push: PushNotifier, events: readonly SessionEvent[]): void {
    const sending = push
      .notify(events)
      .catch((err: unknown) => this.options.logger?.warn({ err }, 'push notifications failed'))
      .finally(() => this.pushes.delete(sending));
    this.pushes.add(sending);
  }

  private async activeEndpoints(): Promise<EndpointRow[]> {
    const nowMs = Date.now();
    if (this.cachedEndpoints === null || nowMs - this.cachedEndpoints.atMs > ENDPOINT_CACHE_MS) {
      this.cachedEndpoints = { rows: await this.store.listEndpoints(), atMs: nowMs };
    }
    return this.cachedEndpoints.rows;
  }

  /** Messages waiting for an attempt (for the backlog gauge). */
  backlog(): Promise<number> {
    return this.options.queue.backlog();
  }

  /** Waits for pushes in flight and closes the queue; queued messages stay for the next start. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.pushes]);
    await this.options.queue.close();
  }
}
