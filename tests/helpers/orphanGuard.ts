// Stops a test's server when the process that started it dies, however it dies (a failed file
// that never closed it, a crash, Ctrl-C, SIGKILL), or loses the test runner that owns it.
// A small shell watches a pipe from this process: the kernel closes the pipe when this process
// dies, even by SIGKILL, and the shell then signals the server and removes its folder.
import { spawn, type ChildProcess } from 'node:child_process';

// $1 signal name without SIG (the POSIX form, which dash requires), $2 server pid, $3 folder to remove (may be empty). The guard ignores the signals a
// terminal or a test runner sends to the whole group, so only the pipe's end moves it. It waits
// (bounded: a server left as a zombie never goes) for the server to exit before removing the folder.
const GUARD_SCRIPT = `
trap '' INT TERM HUP
read -r _
kill -s "$1" "$2" 2>/dev/null
i=0
while [ "$i" -lt 50 ] && kill -0 "$2" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
[ -n "$3" ] && rm -rf "$3"
exit 0
`;

const guards = new Set<ChildProcess>();

// A test worker whose runner died (its IPC channel closed) may finish its current test first:
// end the pipes now, so its servers go at once rather than when it gets round to exiting.
process.once('disconnect', () => {
  for (const guard of guards) guard.stdin?.end();
});

export interface OrphanGuardOptions {
  /** Sent to the server when this process is gone. */
  signal: NodeJS.Signals;
  /** Removed once the server has exited (its data or working folder). */
  removeDir?: string;
}

/** Guards a started server; the guard goes away by itself when the server exits normally. */
export function guardAgainstOrphan(server: ChildProcess, options: OrphanGuardOptions): void {
  if (server.pid === undefined) return;
  const guard = spawn(
    'sh',
    [
      '-c',
      GUARD_SCRIPT,
      'orphan-guard',
      options.signal.replace(/^SIG/, ''),
      String(server.pid),
      options.removeDir ?? '',
    ],
    { stdio: ['pipe', 'ignore', 'ignore'] },
  );
  guard.on('error', () => {}); // without sh there is no guard; the tests still run
  guard.stdin?.on('error', () => {});
  guard.unref();
  guards.add(guard);
  guard.once('exit', () => guards.delete(guard));
  // The server is gone on its own or was stopped: the guard must not signal a reused pid later.
  // Unless the guard is what stopped it (its pipe was ended): then it still removes the folder.
  server.once('exit', () => {
    if (guard.stdin?.writableEnded !== true) guard.kill('SIGKILL');
  });
}
