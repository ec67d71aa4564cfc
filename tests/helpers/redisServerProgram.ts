// The redis-server program the private test servers run: the system's on the PATH when there is
// one; otherwise redis-memory-server's build of the Redis version pinned in package.json
// (`redisMemoryServer.version`): it downloads Redis's source and compiles it with make and a C
// compiler on first use, then keeps the binary in node_modules/.cache for later runs.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { RedisBinary } from 'redis-memory-server';
import { firstLine, onPath, provisionOnce, say, systemProgramsAllowed } from './provisioning.js';

const INSTALL_HINT =
  'install it: apt-get install -y redis-server (Debian/Ubuntu) or brew install redis (macOS); ' +
  'or, for the build, make and a C compiler: apt-get install -y build-essential';

export function redisServerProgram(): Promise<string> {
  return provisionOnce('SYNCKAIROS_TEST_REDIS_SERVER', async () => {
    const system = systemProgramsAllowed() ? onPath('redis-server') : null;
    return system ?? (await builtRedisServer());
  });
}

async function builtRedisServer(): Promise<string> {
  say(
    "redis-server: none on the PATH; taking redis-memory-server's build " +
      '(a first run downloads the Redis source and compiles it: a few minutes)',
  );
  // make runs one job at a time unless told; a first build on every core takes a fraction of that.
  process.env.MAKEFLAGS ??= `-j${os.availableParallelism()}`;
  try {
    // An empty systemBinary: its own lookup of a system program is the one done above.
    return await RedisBinary.getPath({ systemBinary: '' });
  } catch (err) {
    // A failed make says why on its last line of stderr (e.g. `make: not found`).
    const why = (err as { stderr?: string }).stderr?.trim().split('\n').pop();
    throw new Error(
      `redis-server: none on the PATH, and redis-memory-server could not build one (${firstLine(err)}${why ? `: ${why}` : ''}); ${INSTALL_HINT}`,
      { cause: err },
    );
  }
}

/** e.g. `Redis server v=7.4.1`, for the line that says which program a run uses. */
export function redisServerVersion(program: string): string {
  return firstLine(execFileSync(program, ['--version'], { encoding: 'utf8' })).split(' sha=')[0] ?? '';
}
