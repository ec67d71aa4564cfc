// The one small SQL interface the audit store and the migrations use, with two adapters: a
// PostgreSQL pool (DATABASE_URL) and PGlite persisted in a local folder (embedded mode).
import { mkdir } from 'node:fs/promises';
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

/** The database object, for tests and tools that need PGlite itself. */
export interface PgliteSqlClient extends SqlClient {
  readonly db: PGlite;
}

/**
 * PGlite persisted in `dataDir` (created if missing). PGlite runs in this process and serializes
 * every statement, so there is one "connection" and nothing to pool.
 */
export async function pgliteClient(dataDir: string): Promise<PgliteSqlClient> {
  await mkdir(dataDir, { recursive: true });
  // Imported on demand: distributed instances with DATABASE_URL never load the WASM build.
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create(dataDir);
  return {
    db,
    async query<T>(text: string, params?: unknown[]) {
      const result = await db.query<T>(text, params);
      return { rows: result.rows };
    },
    async exec(text: string) {
      await db.exec(text);
    },
    transaction: (fn) => db.transaction((tx) => fn(pgliteTransactionClient(tx))),
    async close() {
      if (db.closed) return;
      await db.close();
    },
  };
}
