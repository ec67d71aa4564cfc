// The one small SQL interface the audit store and the migrations use, with two adapters: a
// PostgreSQL pool (DATABASE_URL) and PGlite persisted in a local folder (embedded mode).
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import pg from 'pg';

export interface SqlClient {
  /** One statement; `$1…` parameters. */
  query<T>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
  /** A script of several statements, no parameters (migrations). */
  exec(text: string): Promise<void>;
  /** Runs `fn` in one transaction on one connection: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  /** Safe to call twice. */
  close(): Promise<void>;
}

export interface PostgresClientOptions {
  /** How long to wait for a connection before failing (an outage must fail fast, not hang). */
  connectionTimeoutMs?: number;
  /** A query without an answer for this long fails: a black-holed connection must not hang a writer. */
  queryTimeoutMs?: number;
  maxConnections?: number;
  /** An idle connection broke (server restart, network): for logs. It never crashes the process. */
  onError?: (err: Error) => void;
}

const DEFAULT_CONNECTION_TIMEOUT_MS = 3_000;
const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

/** A transaction handle: statements on one connection; a nested transaction joins the outer one. */
function connectionClient(conn: pg.PoolClient): SqlClient {
  const tx: SqlClient = {
    async query<T>(text: string, params?: unknown[]) {
      const result = await conn.query(text, params);
      return { rows: result.rows as T[] };
    },
    async exec(text: string) {
      await conn.query(text);
    },
    transaction: (fn) => fn(tx),
    async close() {},
  };
  return tx;
}

export function postgresClient(url: string, options: PostgresClientOptions = {}): SqlClient {
  const pool = new pg.Pool({
    connectionString: url,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
    query_timeout: options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
    max: options.maxConnections ?? 10,
    keepAlive: true,
  });
  // Without a listener, an idle connection dropped by the server would throw into the event loop.
  pool.on('error', (err) => options.onError?.(err));
  let closed = false;

  return {
    async query<T>(text: string, params?: unknown[]) {
      const result = await pool.query(text, params);
      return { rows: result.rows as T[] };
    },
    async exec(text: string) {
      await pool.query(text);
    },
    async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
      const conn = await pool.connect();
      let broken: Error | undefined;
      // The pool listens for errors only on idle connections: one that breaks while checked out
      // (the server shut down between two statements) would otherwise throw into the event loop.
      const onConnectionError = (err: Error): void => {
        broken = err;
        options.onError?.(err);
      };
      conn.on('error', onConnectionError);
      try {
        await conn.query('BEGIN');
        const result = await fn(connectionClient(conn));
        await conn.query('COMMIT');
        return result;
      } catch (err) {
        // A connection that cannot even roll back is dropped rather than returned to the pool.
        await conn.query('ROLLBACK').catch((rollbackErr: Error) => {
          broken = rollbackErr;
        });
        throw err;
      } finally {
        conn.off('error', onConnectionError);
        conn.release(broken);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

function pgliteTransactionClient(tx: Transaction): SqlClient {
  const client: SqlClient = {
    async query<T>(text: string, params?: unknown[]) {
      const result = await tx.query<T>(text, params);
      return { rows: result.rows };
    },
    async exec(text: string) {
      await tx.exec(text);
    },
    transaction: (fn) => fn(client),
    async close() {},
  };
  return client;
}

/** Where embedded mode keeps the audit database inside DATA_DIR. */
export function pgliteDataDir(dataDir: string): string {
  return path.join(dataDir, 'audit');
}

/** Lock files this process holds: PGlite opened twice in one process corrupts the folder just the same. */
const heldLocks = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PGlite does not lock its folder, and two processes writing one folder corrupt it: take
 * `<dataDir>.lock` (holding our pid) or refuse. A lock left by a dead process is taken over.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = `${path.resolve(dataDir)}.lock`;
  if (heldLocks.has(lockPath))
    throw new Error(`The PGlite folder ${dataDir} is already open in this process`);
  for (let attempt = 1; ; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      heldLocks.add(lockPath);
      return async () => {
        heldLocks.delete(lockPath);
        await unlink(lockPath).catch(() => {});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw err;
    }
    const pid = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
    // Our own pid here is a lock from before a restart (a container's pid 1), not ours: we hold none.
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
      throw new Error(
        `The PGlite folder ${dataDir} is in use by process ${pid} (${lockPath}); ` +
          'give each instance its own DATA_DIR, or use DATABASE_URL',
      );
    }
    await unlink(lockPath).catch(() => {});
  }
}

/**
 * PGlite persisted in `dataDir` (created if missing), locked to this process. PGlite runs in this
 * process and serializes every statement, so there is one "connection" and nothing to pool.
 * The lock is taken before this resolves (a folder in use is refused at once); the database
 * itself opens in the background, because a first open runs initdb in WASM for seconds, and
 * statements wait for it.
 */
export async function pgliteClient(dataDir: string): Promise<SqlClient> {
  await mkdir(dataDir, { recursive: true });
  const unlock = await lockDataDir(dataDir);
  // Imported on demand: distributed instances with DATABASE_URL never load the WASM build.
  const opening: Promise<PGlite> = import('@electric-sql/pglite')
    .then(({ PGlite }) => PGlite.create(dataDir))
    .catch(async (err: unknown) => {
      await unlock();
      throw err;
    });
  // Rejections reach whoever runs a statement; this only keeps an unawaited one from crashing.
  opening.catch(() => {});
  let closed = false;
  return {
    async query<T>(text: string, params?: unknown[]) {
      const result = await (await opening).query<T>(text, params);
      return { rows: result.rows };
    },
    async exec(text: string) {
      await (await opening).exec(text);
    },
    transaction: async (fn) => (await opening).transaction((tx) => fn(pgliteTransactionClient(tx))),
    async close() {
      if (closed) return;
      closed = true;
      let db: PGlite;
      try {
        db = await opening;
      } catch {
        return; // Never opened; the lock is already released.
      }
      try {
        if (!db.closed) await db.close();
      } finally {
        await unlock();
      }
    },
  };
}
