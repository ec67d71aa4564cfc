// How busy the machine is with work that is not this benchmark's: other processes on the same
// two cores change every figure, so each row records it, and a row waits (bounded) for quiet.
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU time the whole machine spent busy, in ms. */
function machineBusyMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return ((user + nice + system + irq + softirq + steal) * 1000) / TICKS_PER_SECOND;
}

interface ProcStat {
  pid: number;
  ppid: number;
  cpuMs: number;
}

function readProcs(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({
        pid: Number(entry),
        ppid: Number(fields[1]),
        cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND,
      });
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/** CPU ms of this process and all its descendants (servers, redis, workers), by pid. */
function ourTree(): Map<number, number> {
  const procs = readProcs();
  const children = new Map<number, ProcStat[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const mine = new Map<number, number>();
  const self = procs.find((p) => p.pid === process.pid);
  const stack = self ? [self] : [];
  while (stack.length > 0) {
    const p = stack.pop()!;
    mine.set(p.pid, p.cpuMs);
    stack.push(...(children.get(p.pid) ?? []));
  }
  return mine;
}

export interface LoadSnapshot {
  atMs: number;
  busyMs: number;
  ours: Map<number, number>;
}

export function snapshot(): LoadSnapshot {
  return { atMs: performance.now(), busyMs: machineBusyMs(), ours: ourTree() };
}

/** Cores used by other processes (not this benchmark's) between two snapshots. */
export function foreignCores(from: LoadSnapshot, to: LoadSnapshot): number {
  let oursMs = 0;
  for (const [pid, cpu] of to.ours) oursMs += cpu - (from.ours.get(pid) ?? 0);
  const wallMs = to.atMs - from.atMs;
  return Math.max(0, (to.busyMs - from.busyMs - oursMs) / wallMs);
}

/** Waits until other processes use under `threshold` cores over a second, at most `boundMs`. */
export async function waitForQuiet(
  threshold: number,
  boundMs: number,
): Promise<{ waitedMs: number; foreign: number }> {
  const started = performance.now();
  for (;;) {
    const from = snapshot();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const foreign = foreignCores(from, snapshot());
    const waitedMs = performance.now() - started;
    if (foreign < threshold || waitedMs >= boundMs) return { waitedMs, foreign };
  }
}
