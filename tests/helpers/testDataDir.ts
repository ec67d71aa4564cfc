// A fresh DATA_DIR per server a test starts: embedded mode keeps its audit trail (PGlite)
// there, and two processes must never share one.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export function testDataDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'synckairos-data-'));
}
