// The one small SQL interface the audit store and the migrations use, with two adapters: a
// PostgreSQL pool (DATABASE_URL) and PGlite persisted in a local folder (embedded mode).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { lockFolder } from '../state/folderLock.js';
import type { WorkerError, WorkerReply, WorkerRequest } from './pgliteProtocol.js';

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

/** Where embedded mode keeps the audit database inside DATA_DIR. */
export function pgliteDataDir(dataDir: string): string {
  return path.join(dataDir, 'audit');
}

function workerError(error: WorkerError): Error {
  return Object.assign(new Error(error.message), {
    ...(error.code === undefined ? {} : { code: error.code }),
    ...(error.name === undefined ? {} : { name: error.name }),
  });
}

/**
 * PGlite persisted in `dataDir` (created if missing), locked to this process, running in a worker
 * thread so its WASM work never stalls the event loop. PGlite serializes every statement, so there
 * is one "connection" and nothing to pool. The lock is taken before this resolves (a folder in use
 * is refused at once); the database opens in the background, because a first open runs initdb for
 * seconds, and statements wait for it.
 */
export async function pgliteClient(dataDir: string): Promise<SqlClient> {
  await mkdir(dataDir, { recursive: true });
  const unlock = await lockFolder(
    dataDir,
    'PGlite folder',
    'give each instance its own DATA_DIR, or use DATABASE_URL',
  );
  // Plain JavaScript: no loader flags of the parent (tsx) are needed to start it.
  const worker = new Worker(new URL('./pgliteWorker.mjs', import.meta.url), {
    workerData: { dataDir },
    execArgv: [],
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  let nextId = 1;
  let gone: Error | null = null;
  const failAll = (err: Error): void => {
    gone ??= err;
    for (const waiter of pending.values()) waiter.reject(err);
    pending.clear();
  };
  worker.on('message', (reply: WorkerReply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.ok) waiter?.resolve(reply.result);
    else waiter?.reject(workerError(reply.error));
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`the PGlite worker exited (${code})`)));

  const call = <T>(request: DistributiveOmit<WorkerRequest, 'id'>): Promise<T> => {
    if (gone !== null) return Promise.reject(gone);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ ...request, id });
    });
  };
  const clientFor = (txId?: number): SqlClient => {
    const client: SqlClient = {
      async query<T>(text: string, params?: unknown[]) {
        return { rows: await call<T[]>({ op: 'query', text, params, txId }) };
      },
      async exec(text: string) {
        await call({ op: 'exec', text, txId });
      },
      // Nested: joins the transaction it is in.
      transaction: txId === undefined ? transaction : (fn) => fn(client),
      async close() {},
    };
    return client;
  };
  let nextTxId = 1;
  async function transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    const txId = nextTxId++;
    await call({ op: 'begin', txId });
    let result: T;
    try {
      result = await fn(clientFor(txId));
    } catch (err) {
      await call({ op: 'end', txId, commit: false }).catch(() => {});
      throw err;
    }
    await call({ op: 'end', txId, commit: true });
    return result;
  }

  let closing: Promise<void> | null = null;
  const client = clientFor();
  client.close = () => {
    closing ??= (async () => {
      try {
        await call({ op: 'close' }).catch(() => {}); // never opened: nothing to close
      } finally {
        await worker.terminate();
        await unlock();
      }
    })();
    return closing;
  };
  return client;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
