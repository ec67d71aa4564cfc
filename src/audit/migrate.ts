// Applies migrations/*.sql in name order, each once, each in its own transaction.
// Hand-written because it must run the same files on PGlite and PostgreSQL through one tiny
// client interface (SqlClient), which no migration library does.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqlClient } from './sqlClient.js';

/** The repository's migrations folder (the same relative path from src/audit and dist/audit). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

/**
 * Any fixed number, the same in every instance: whoever holds this lock applies migrations, the
 * others wait and then find them applied. A transaction lock, so a crash can never leave it held.
 */
const MIGRATION_LOCK_KEY = 7_265_131_901;

export interface Migration {
  name: string;
  sql: string;
}

export interface MigrateOptions {
  dir?: string;
  /** Told about each migration as it is applied. */
  onApplied?: (name: string) => void;
}

/** The `.sql` files of `dir`, in name order (so name them 001_…, 002_…). */
export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  return Promise.all(
    names.map(async (name) => ({ name, sql: await readFile(path.join(dir, name), 'utf8') })),
  );
}

/**
 * Applies what is not yet in `schema_migrations`; safe to run from several instances at once.
 * Returns the names it applied (empty when the schema was already current).
 */
export async function runMigrations(client: SqlClient, options: MigrateOptions = {}): Promise<string[]> {
  const migrations = await loadMigrations(options.dir);
  const applied: string[] = [];
  for (const migration of migrations) {
    const ran = await client.transaction(async (tx) => {
      // The lock comes first: even creating schema_migrations races when two instances start together.
      await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      await tx.exec(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           name       text        PRIMARY KEY,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const done = await tx.query('SELECT 1 FROM schema_migrations WHERE name = $1', [migration.name]);
      if (done.rows.length > 0) return false;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (name) VALUES ($1)', [migration.name]);
      return true;
    });
    if (ran) {
      applied.push(migration.name);
      options.onApplied?.(migration.name);
    }
  }
  return applied;
}
