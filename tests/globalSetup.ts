// Runs once before any test file. Finds the programs of the servers the tests start (fetching
// them the first time, where the system has none), one line each, so a slow first provisioning
// says what it does and the test workers inherit the result. A server that cannot be had fails
// the files that need it, with its one line, not the whole run. Then builds the PGlite template:
// every embedded server opens a copy of it in a fraction of a first open's time.
import { chromiumSource } from './helpers/chromium.js';
import { buildPgliteTemplate } from './helpers/postgresServer.js';
import { postgresBinDir, postgresVersion } from './helpers/postgresPrograms.js';
import { firstLine, say } from './helpers/provisioning.js';
import { redisServerProgram, redisServerVersion } from './helpers/redisServerProgram.js';

async function report(name: string, describe: () => Promise<string> | string): Promise<void> {
  try {
    say(`${name}: ${await describe()}`);
  } catch (err) {
    say(`UNAVAILABLE ${firstLine(err)}`);
  }
}

export default async function setup(): Promise<void> {
  await report('redis-server', async () => {
    const program = await redisServerProgram();
    return `${program} (${redisServerVersion(program)})`;
  });
  await report('PostgreSQL', async () => {
    const binDir = await postgresBinDir();
    return `${binDir} (${postgresVersion(binDir)})`;
  });
  await report('chromium', chromiumSource);
  await buildPgliteTemplate();
}
