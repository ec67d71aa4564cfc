// One process per data folder: embedded mode's stores (PGlite, the session log) must never be
// written by two processes at once, or each serves its own diverging copy.
import { open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';

/** Lock files this process holds: a folder opened twice in one process is refused just the same. */
const heldLocks = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `<folder>.lock` (holding our pid) or refuses, naming the folder as `label` and telling the
 * operator `hint`. A lock left by a dead process is taken over. Resolves to the unlock function.
 */
export async function lockFolder(folder: string, label: string, hint: string): Promise<() => Promise<void>> {
  const lockPath = `${path.resolve(folder)}.lock`;
  if (heldLocks.has(lockPath)) throw new Error(`The ${label} ${folder} is already open in this process`);
  for (let attempt = 1; ; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      heldLocks.add(lockPath);
      return async () => {
        heldLocks.delete(lockPath);
        await unlink(lockPath).catch(() => {});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw err;
    }
    const pid = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
    // Our own pid here is a lock from before a restart (a container's pid 1), not ours: we hold none.
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
      throw new Error(`The ${label} ${folder} is in use by process ${pid} (${lockPath}); ${hint}`);
    }
    await unlink(lockPath).catch(() => {});
  }
}
