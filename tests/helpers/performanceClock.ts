// The true offset between this process's performance clock and its Date.now(): what a test
// injecting a skewed client clock compares the SDK's estimate with.

export const performanceEpochMs = (): number => performance.timeOrigin + performance.now();

/**
 * An embedded server's clock is Date.now(). At the instant it ticks, the wall clock reads
 * exactly that integer: catching a few ticks gives Date.now() − performance time to a few µs.
 */
export function trueOffsetOfPerformanceClockMs(): number {
  const offsets: number[] = [];
  for (let i = 0; i < 5; i++) {
    const before = Date.now();
    let ticked = before;
    while (ticked === before) ticked = Date.now();
    offsets.push(ticked - performanceEpochMs());
  }
  offsets.sort((a, b) => a - b);
  return offsets[2] as number;
}
