// Embedded mode's durable copy of the session map: one LMDB database in DATA_DIR. LMDB because it
// is crash-proof by design (copy-on-write B-tree, no recovery step after kill -9), and lmdb-js
// commits on its own writer thread, batching every write of one event-loop turn into one
// fsync'd transaction (group commit): the event loop never waits on the disk.
// Beside the sessions it keeps the audit outbox: a change's audit records are written in the
// same transaction as its state, and leave only once the audit store (and the webhook queue
// behind it) has them, so a kill -9 right after an acknowledged change loses neither.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { lockFolder } from './folderLock.js';

/** A session as kept on disk: its state and what the store's indexes need to rebuild. */
export interface StoredSession {
  stateJson: string;
  deadlineAtMs: number | null;
  /** Epoch ms the session's TTL runs out (wall clock: it must mean the same after a restart), or null. */
  expiresAtMs: number | null;
}

/**
 * Where the memory store makes its writes durable; each promise resolves once its change, and
 * the audit records given with it, are on disk (one transaction: both or neither).
 */
export interface SessionLog {
  put(sessionId: string, session: StoredSession, auditRecords?: readonly string[]): Promise<void>;
  remove(sessionId: string, auditRecords?: readonly string[]): Promise<void>;
  /** Every stored session (startup reads it once, before serving). */
  entries(): Iterable<[string, StoredSession]>;
  close(): Promise<void>;
}

/** Audit records kept durably until the audit store has them. */
export interface AuditOutbox {
  /** The records still waiting, oldest first: those a previous run did not hand on (startup replays them). */
  pending(): string[];
  /** The audit store has these records: they leave the outbox (a failed removal only means a replay). */
  ack(records: readonly string[]): void;
}

/** An acknowledged record leaves the outbox with the next write, or after this long without one. */
const ACK_FLUSH_MS = 1_000;

/** Where embedded mode keeps its sessions inside DATA_DIR. */
export function sessionLogPath(dataDir: string): string {
  return path.join(dataDir, 'sessions.mdb');
}

export class LmdbSessionLog implements SessionLog, AuditOutbox {
  private closed = false;
  /** Each waiting record → its outbox keys (a list only in case two records are equal). */
  private readonly outboxKeys = new Map<string, number[]>();
  private nextOutboxKey: number;
  /** Acknowledged records' keys, removed with the next write's commit rather than in one of their own. */
  private acked: number[] = [];
  private ackTimer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly root: RootDatabase,
    private readonly sessions: Database<StoredSession, string>,
    /** key (in write order) → one audit record. */
    private readonly outbox: Database<string, number>,
    private readonly unlock: () => Promise<void>,
  ) {
    let lastKey = 0;
    for (const { key, value } of outbox.getRange()) {
      this.remember(value, key);
      lastKey = key;
    }
    this.nextOutboxKey = lastKey + 1;
  }

  /** Refuses a folder another live process (or this one) has open: LMDB would let both write. */
  static async open(dataDir: string): Promise<LmdbSessionLog> {
    await mkdir(dataDir, { recursive: true });
    const file = sessionLogPath(dataDir);
    const unlock = await lockFolder(
      file,
      'session store',
      'give each instance its own DATA_DIR, or run several on Redis (REDIS_URL)',
    );
    try {
      const root = open({
        path: file,
        // A commit resolves only once fsync'd: an acknowledged change survives a power cut too.
        overlappingSync: false,
        maxDbs: 4,
      });
      // The lmdb-js read cache would keep a second copy of every state; the memory store is the cache.
      const sessions = root.openDB<StoredSession, string>({ name: 'sessions', cache: false });
      const outbox = root.openDB<string, number>({ name: 'audit-outbox', cache: false });
      return new LmdbSessionLog(root, sessions, outbox, unlock);
    } catch (err) {
      await unlock();
      throw err;
    }
  }

  async put(sessionId: string, session: StoredSession, auditRecords: readonly string[] = []): Promise<void> {
    await this.write(auditRecords, () => this.sessions.put(sessionId, session));
  }

  async remove(sessionId: string, auditRecords: readonly string[] = []): Promise<void> {
    await this.write(auditRecords, () => this.sessions.remove(sessionId));
  }

  /**
   * The change and its records in one transaction: lmdb-js commits every write queued in one
   * event-loop turn together (its group commit, eventTurnBatching), so queuing them in one
   * synchronous step makes them land together or not at all.
   */
  private async write(auditRecords: readonly string[], change: () => Promise<boolean>): Promise<void> {
    const keys = auditRecords.map(() => this.nextOutboxKey++);
    const written = Promise.all([
      change(),
      ...auditRecords.map((record, i) => this.outbox.put(keys[i]!, record)),
    ]);
    this.removeAcked();
    await written;
    auditRecords.forEach((record, i) => this.remember(record, keys[i]!));
  }

  pending(): string[] {
    return [...this.outbox.getRange()].map(({ value }) => value);
  }

  ack(records: readonly string[]): void {
    if (this.closed) return;
    for (const record of records) {
      const keys = this.outboxKeys.get(record);
      const key = keys?.shift();
      if (key === undefined) continue;
      if (keys!.length === 0) this.outboxKeys.delete(record);
      this.acked.push(key);
    }
    // Busy, the removals ride on the next write's commit (no fsync of their own); idle, on a timer.
    if (this.acked.length > 0 && this.ackTimer === null) {
      this.ackTimer = setTimeout(() => this.removeAcked(), ACK_FLUSH_MS);
      this.ackTimer.unref();
    }
  }

  /** Queues the removal of the acknowledged records; a removal that fails only means a replay. */
  private removeAcked(): void {
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    for (const key of this.acked) this.outbox.remove(key).catch(() => {});
    this.acked = [];
  }

  private remember(record: string, key: number): void {
    const keys = this.outboxKeys.get(record);
    if (keys === undefined) this.outboxKeys.set(record, [key]);
    else keys.push(key);
  }

  *entries(): Iterable<[string, StoredSession]> {
    for (const { key, value } of this.sessions.getRange()) yield [key, value];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.removeAcked();
    this.closed = true;
    try {
      // Waits for the writes in flight to commit.
      await this.root.close();
    } finally {
      await this.unlock();
    }
  }
}
