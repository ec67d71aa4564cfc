// `npm run migrate`: brings the audit schema up to date in PostgreSQL (DATABASE_URL) or, without
// one, in the embedded PGlite database under DATA_DIR (default ./data), then exits.
import { runMigrations } from './migrate.js';
import { pgliteClient, pgliteDataDir, postgresClient, type SqlClient } from './sqlClient.js';

/** host:port/database of a PostgreSQL URL, never its password. */
function describeUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
}

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL?.trim() || null;
  const dataDir = process.env.DATA_DIR?.trim() || './data';
  let client: SqlClient;
  if (databaseUrl !== null) {
    console.log(`migrating PostgreSQL at ${describeUrl(databaseUrl)}`);
    client = postgresClient(databaseUrl);
  } else {
    console.log(`migrating the embedded PGlite database in ${pgliteDataDir(dataDir)}`);
    client = await pgliteClient(pgliteDataDir(dataDir));
  }
  try {
    const applied = await runMigrations(client, { onApplied: (name) => console.log(`applied ${name}`) });
    console.log(applied.length === 0 ? 'the schema was already up to date' : `${applied.length} applied`);
  } finally {
    await client.close();
  }
}

main().catch((err: unknown) => {
  console.error(`migration failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
