// Embedded mode's delivery queue: LMDB in DATA_DIR (webhooks.mdb), so a restart loses no message.
// Messages are kept by due time ([dueAtMs, id]) with an id index for dedupe; a poll takes those
// due, a bounded number at a time, and each answer (done, or again at some time) is one commit.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { lockFolder } from '../state/folderLock.js';
import type { WebhookMessage } from './messages.js';
import { PROCESS_ERROR_RETRY_MS, type DeliveryQueue, type ProcessMessage } from './DeliveryQueue.js';

const POLL_MS = 50;

export function webhookQueuePath(dataDir: string): string {
  return path.join(dataDir, 'webhooks.mdb');
}

export interface LmdbDeliveryQueueOptions {
  process: ProcessMessage;
  /** Attempts in flight at once (default 16). */
  concurrency?: number;
  onError?: (err: unknown, message: WebhookMessage) => void;
}

type DueKey = [number, string];

export class LmdbDeliveryQueue implements DeliveryQueue {
  private readonly inFlight = new Map<string, Promise<void>>();
  /** In flight when woken: if its answer is "again later", it is due at once instead. */
  private readonly wokenInFlight = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(
    private readonly root: RootDatabase,
    /** [dueAtMs, id] → the message. */
    private readonly due: Database<WebhookMessage, DueKey>,
    /** id → dueAtMs. */
    private readonly byId: Database<number, string>,
    private readonly unlock: () => Promise<void>,
    private readonly options: LmdbDeliveryQueueOptions,
  ) {
    this.schedulePoll();
  }

  static async open(dataDir: string, options: LmdbDeliveryQueueOptions): Promise<LmdbDeliveryQueue> {
    await mkdir(dataDir, { recursive: true });
    const file = webhookQueuePath(dataDir);
    const unlock = await lockFolder(file, 'webhook queue', 'give each instance its own DATA_DIR');
    try {
      const root = open({ path: file, overlappingSync: false, maxDbs: 4 });
      const due = root.openDB<WebhookMessage, DueKey>({ name: 'due', cache: false });
      const byId = root.openDB<number, string>({ name: 'by-id', cache: false });
      return new LmdbDeliveryQueue(root, due, byId, unlock, options);
    } catch (err) {
      await unlock();
      throw err;
    }
  }

  async add(messages: readonly WebhookMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const nowMs = Date.now();
    await this.root.transaction(() => {
      for (const message of messages) {
        if (this.byId.doesExist(message.id)) continue;
        void this.due.put([nowMs, message.id], message);
        void this.byId.put(message.id, nowMs);
      }
    });
  }

  async wake(messageId: string): Promise<void> {
    if (this.inFlight.has(messageId)) {
      this.wokenInFlight.add(messageId);
      return;
    }
    const nowMs = Date.now();
    await this.root.transaction(() => {
      const dueAtMs = this.byId.get(messageId);
      if (dueAtMs === undefined || dueAtMs <= nowMs) return;
      const message = this.due.get([dueAtMs, messageId]);
      if (message === undefined) return;
      void this.due.remove([dueAtMs, messageId]);
      void this.due.put([nowMs, messageId], message);
      void this.byId.put(messageId, nowMs);
    });
  }

  async backlog(): Promise<number> {
    return this.byId.getCount();
  }

  private schedulePoll(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => this.poll(), POLL_MS);
  }

  private poll(): void {
    const room = (this.options.concurrency ?? 16) - this.inFlight.size;
    if (room > 0) {
      const nowMs = Date.now();
      let taken = 0;
      for (const { key, value } of this.due.getRange({ start: [0, ''], end: [nowMs + 1, ''] })) {
        if (taken >= room) break;
        if (this.inFlight.has(key[1])) continue;
        taken += 1;
        const run = this.run(key, value).finally(() => this.inFlight.delete(key[1]));
        this.inFlight.set(key[1], run);
      }
    }
    this.schedulePoll();
  }

  private async run(key: DueKey, message: WebhookMessage): Promise<void> {
    let retryInMs: number | null;
    try {
      retryInMs = (await this.options.process(message))?.retryInMs ?? null;
    } catch (err) {
      this.options.onError?.(err, message);
      retryInMs = PROCESS_ERROR_RETRY_MS;
    }
    if (this.wokenInFlight.delete(message.id) && retryInMs !== null) retryInMs = 0;
    await this.root.transaction(() => {
      void this.due.remove(key);
      if (retryInMs === null) {
        void this.byId.remove(message.id);
      } else {
        const dueAtMs = Date.now() + retryInMs;
        void this.due.put([dueAtMs, message.id], message);
        void this.byId.put(message.id, dueAtMs);
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.inFlight.values()]);
    try {
      await this.root.close();
    } finally {
      await this.unlock();
    }
  }
}
