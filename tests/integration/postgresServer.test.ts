import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgresServer, type PostgresServerHandle } from '../helpers/postgresServer.js';

let server: PostgresServerHandle;

beforeAll(async () => {
  server = await startPostgresServer();
});

afterAll(async () => {
  await server?.close();
  await server?.close();
});

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

describe('the test PostgreSQL server', () => {
  it('listens on a private loopback port, never 5432', () => {
    expect(server.port).not.toBe(5432);
    expect(server.url).toBe(`postgres://postgres@127.0.0.1:${server.port}/postgres`);
  });

  it('keeps its data across stop and start, refusing connections while stopped', async () => {
    const url = await server.createDatabase();
    await withClient(url, async (client) => {
      await client.query('CREATE TABLE kept (n int)');
      await client.query('INSERT INTO kept VALUES (42)');
    });

    await server.stop();
    await expect(withClient(url, (client) => client.query('SELECT 1'))).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });

    await server.start();
    const rows = await withClient(url, async (client) => (await client.query('SELECT n FROM kept')).rows);
    expect(rows).toEqual([{ n: 42 }]);
  });

  it('creates databases that are separate from each other', async () => {
    const first = await server.createDatabase();
    const second = await server.createDatabase('named_db');
    expect(second.endsWith('/named_db')).toBe(true);
    await withClient(first, (client) => client.query('CREATE TABLE only_here (n int)'));
    await expect(withClient(second, (client) => client.query('SELECT * FROM only_here'))).rejects.toThrow(
      /does not exist/,
    );
  });
});
