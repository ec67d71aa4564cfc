// Readiness: the state store answers a ping within a bound.
import { SyncKairosError, storeUnavailable } from '../types/errors.js';
import type { StateStore } from '../types/store.js';

export const DEFAULT_READINESS_TIMEOUT_MS = 2000;

export type Readiness =
  { ready: true; store: string } | { ready: false; store: string; error: SyncKairosError };

export async function checkReadiness(
  store: StateStore,
  timeoutMs: number = DEFAULT_READINESS_TIMEOUT_MS,
): Promise<Readiness> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(storeUnavailable(store.name, new Error(`no answer to ping within ${timeoutMs} ms`))),
      timeoutMs,
    );
  });
  try {
    await Promise.race([store.ping(), timeout]);
    return { ready: true, store: store.name };
  } catch (err) {
    const error =
      err instanceof SyncKairosError && err.code === 'STORE_UNAVAILABLE'
        ? err
        : storeUnavailable(store.name, err);
    return { ready: false, store: store.name, error };
  } finally {
    clearTimeout(timer);
  }
}
