// A fresh DATA_DIR per server a test starts: embedded mode keeps its audit trail (PGlite)
// there, and two processes must never share one. The audit folder is a copy of an
// initialized template (built by the global setup), so the server skips PGlite's initdb.
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pgliteDataDir } from '../../src/audit/sqlClient.js';
import { PGLITE_TEMPLATE } from './postgresServer.js';

export function testDataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'synckairos-data-'));
  if (existsSync(PGLITE_TEMPLATE)) cpSync(PGLITE_TEMPLATE, pgliteDataDir(dir), { recursive: true });
  return dir;
}
