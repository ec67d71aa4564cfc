// Embedded mode's durable copy of the session map: one LMDB database in DATA_DIR. LMDB because it
// is crash-proof by design (copy-on-write B-tree, no recovery step after kill -9), and lmdb-js
// commits on its own writer thread, batching every write of one event-loop turn into one
// fsync'd transaction (group commit): the event loop never waits on the disk.
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

/** Where the memory store makes its writes durable; each promise resolves once its change is on disk. */
export interface SessionLog {
  put(sessionId: string, session: StoredSession): Promise<void>;
  remove(sessionId: string): Promise<void>;
  /** Every stored session (startup reads it once, before serving). */
  entries(): Iterable<[string, StoredSession]>;
  close(): Promise<void>;
}

/** Where embedded mode keeps its sessions inside DATA_DIR. */
export function sessionLogPath(dataDir: string): string {
  return path.join(dataDir, 'sessions.mdb');
}

export class LmdbSessionLog implements SessionLog {
  private closed = false;

  private constructor(
    private readonly root: RootDatabase,
    private readonly sessions: Database<StoredSession, string>,
    private readonly unlock: () => Promise<void>,
  ) {}

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
      return new LmdbSessionLog(root, sessions, unlock);
    } catch (err) {
      await unlock();
      throw err;
    }
  }

  async put(sessionId: string, session: StoredSession): Promise<void> {
    await this.sessions.put(sessionId, session);
  }

  async remove(sessionId: string): Promise<void> {
    await this.sessions.remove(sessionId);
  }

  *entries(): Iterable<[string, StoredSession]> {
    for (const { key, value } of this.sessions.getRange()) yield [key, value];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      // Waits for the writes in flight to commit.
      await this.root.close();
    } finally {
      await this.unlock();
    }
  }
}
