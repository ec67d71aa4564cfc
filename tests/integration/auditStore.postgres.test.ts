import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { AuditStore, isConnectionError, openAuditStore } from '../../src/audit/AuditStore.js';
import { loadMigrations } from '../../src/audit/migrate.js';
import { postgresClient } from '../../src/audit/sqlClient.js';
import { SyncEngine } from '../../src/engine/SyncEngine.js';
import { createLogger } from '../../src/monitoring/logger.js';
import { createMetrics } from '../../src/monitoring/metrics.js';
import { MemoryStateStore } from '../../src/state/MemoryStateStore.js';
import { systemClock } from '../../src/state/SystemClock.js';
import { auditEvent, auditStoreContract } from '../contract/auditStore.contract.js';
import { startPostgresServer, type PostgresServerHandle } from '../helpers/postgresServer.js';

let server: PostgresServerHandle;

beforeAll(async () => {
  server = await startPostgresServer();
});

afterAll(async () => {
  await server?.close();
});

auditStoreContract('postgres', async () => {
  const store = new AuditStore(postgresClient(await server.createDatabase()), { name: 'postgres' });
  return {
    store,
    async cleanup() {
      await store.close();
      await store.close();
    },
  };
});

describe('AuditStore on PostgreSQL', () => {
  it('two instances migrating the same database at once apply each migration exactly once', async () => {
    const url = await server.createDatabase();
    const stores = [1, 2, 3].map(() => new AuditStore(postgresClient(url)));
    try {
      const applied = await Promise.all(stores.map((store) => store.migrate()));
      const files = (await loadMigrations()).map((m) => m.name);
      expect(applied.flat().sort()).toEqual(files);
      const client = postgresClient(url);
      const { rows } = await client.query<{ name: string }>(
        'SELECT name FROM schema_migrations ORDER BY name',
      );
      await client.close();
      expect(rows.map((r) => r.name)).toEqual(files);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('openAuditStore with a DATABASE_URL opens PostgreSQL, migrated', async () => {
    const store = await openAuditStore({
      databaseUrl: await server.createDatabase(),
      dataDir: '/nonexistent',
    });
    try {
      expect(store.name).toBe('postgres');
      expect(await store.migrate()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  // Last in the file: it stops the server the other tests use.
  it('with PostgreSQL stopped, writes and reads fail fast as connection errors, and work again after start', async () => {
    const url = await server.createDatabase();
    const poolErrors: Error[] = [];
    const store = new AuditStore(postgresClient(url, { onError: (err) => poolErrors.push(err) }));
    const engineStore = new MemoryStateStore();
    const app = createApp({
      engine: new SyncEngine({ store: engineStore, clock: systemClock }),
      store: engineStore,
      logger: createLogger({ logLevel: 'silent', nodeEnv: 'test' }),
      metrics: createMetrics({ defaultMetrics: false }),
      bodyLimitBytes: 64 * 1024,
      auditStore: store,
    });
    const sessionId = `outage-${randomUUID()}`;
    try {
      await store.migrate();
      expect(await store.write([auditEvent(sessionId, 1)])).toBe(1);

      await server.stop();
      const startedAtMs = Date.now();
      const writeErr = await store.write([auditEvent(sessionId, 2)]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(writeErr).toBeInstanceOf(Error);
      expect(isConnectionError(writeErr)).toBe(true);
      expect(store.isOutage(writeErr)).toBe(true);
      await expect(store.ping()).rejects.toSatisfy(isConnectionError);
      // Well within the 3 s connection timeout: a refused connection fails at once.
      expect(Date.now() - startedAtMs).toBeLessThan(3_500);

      const res = await request(app).get(`/v1/sessions/${sessionId}/events`);
      expect(res.status).toBe(503);
      expect(res.body.error).toMatchObject({ code: 'STORE_UNAVAILABLE', details: { store: 'audit' } });
      // Where the database lives is the operator's business, not the client's.
      expect(JSON.stringify(res.body)).not.toContain(String(server.port));

      await server.start();
      expect(await store.write([auditEvent(sessionId, 2)])).toBe(1);
      const page = await store.history(sessionId, { limit: 10 });
      expect(page.events.map((e) => e.version)).toEqual([1, 2]);
      const after = await request(app).get(`/v1/sessions/${sessionId}/events`);
      expect(after.status).toBe(200);
      expect(after.body.events).toHaveLength(2);
    } finally {
      await server.start();
      await store.close();
      await engineStore.close();
    }
  });
});

describe('the PostgreSQL client', () => {
  it('survives the server shutting down while a transaction holds a connection between statements', async () => {
    const errors: Error[] = [];
    const client = postgresClient(await server.createDatabase(), { onError: (err) => errors.push(err) });
    try {
      const outcome = client.transaction(async (tx) => {
        await tx.query('SELECT 1');
        // The connection is checked out and idle here when the server goes away.
        await server.stop();
        await new Promise((resolve) => setTimeout(resolve, 200));
        await tx.query('SELECT 1');
      });
      await expect(outcome).rejects.toSatisfy(isConnectionError);
      // The broken connection was reported, not thrown into the event loop (which fails this test).
      expect(errors.some((err) => isConnectionError(err))).toBe(true);
      await server.start();
      expect((await client.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await server.start();
      await client.close();
    }
  });
});

describe('isConnectionError', () => {
  const withCode = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });

  it('recognises refused and reset connections, shutdowns, connection-class SQLSTATEs and pool timeouts', () => {
    expect(isConnectionError(withCode('ECONNREFUSED'))).toBe(true);
    expect(isConnectionError(withCode('ECONNRESET'))).toBe(true);
    expect(isConnectionError(withCode('57P01'))).toBe(true);
    expect(isConnectionError(withCode('57P03'))).toBe(true);
    expect(isConnectionError(withCode('08006'))).toBe(true);
    expect(isConnectionError(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError(new AggregateError([withCode('ECONNREFUSED')], 'connect failed'))).toBe(true);
    expect(isConnectionError(new Error('wrapped', { cause: withCode('ETIMEDOUT') }))).toBe(true);
  });

  it('says no to errors about the data and to non-errors', () => {
    expect(isConnectionError(withCode('22P05', 'unsupported Unicode escape sequence'))).toBe(false);
    expect(isConnectionError(withCode('23505', 'duplicate key'))).toBe(false);
    expect(isConnectionError(withCode('42P01', 'relation does not exist'))).toBe(false);
    expect(isConnectionError(new TypeError('x is undefined'))).toBe(false);
    expect(isConnectionError(null)).toBe(false);
    expect(isConnectionError('ECONNREFUSED')).toBe(false);
  });
});
