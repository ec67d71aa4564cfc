// The few things the SDK needs of its runtime (browser or Node): a clock that never steps,
// timers that do not keep a process alive, and whether there is a page to watch.

export type Timer = ReturnType<typeof setTimeout>;

/** A local clock in epoch milliseconds. */
export interface LocalClock {
  nowMs(): number;
}

export function defaultClock(): LocalClock {
  return { nowMs: () => performance.timeOrigin + performance.now() };
}

/** Counting between syncs is always on this clock, whatever clock was injected: it never steps. */
export function monotonicMs(): number {
  return performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function unref(timer: Timer): void {
  (timer as { unref?: () => void }).unref?.();
}

export function hasDocument(): boolean {
  return typeof document !== 'undefined' && typeof document.addEventListener === 'function';
}
