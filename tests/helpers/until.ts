// Waiting on a running service: polls until a probe yields a value, for end-to-end tests.

/**
 * Polls `probe` every 200 ms until it returns a value (not undefined or false); a probe that
 * throws is tried again. Fails after `timeoutMs`, naming `what` and the last error.
 */
export async function until<T>(
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${String(last ?? '')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
