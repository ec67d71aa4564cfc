// Runs once before any test file: every embedded server a test starts opens PGlite in its
// DATA_DIR, and a copy of this initialized folder opens in a fraction of a first open's time.
import { buildPgliteTemplate } from './helpers/postgresServer.js';

export default async function setup(): Promise<void> {
  await buildPgliteTemplate();
}
