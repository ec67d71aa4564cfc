// The one time formula ("calculate, don't count"), shared by the engine and the client SDK:
// src/clock imports nothing of ours but types, so the SDK may import it.

/** Time that has run since `anchorAtMs`; zero before it (a scheduled start) or when not running. */
export function elapsedSinceMs(anchorAtMs: number | null, nowMs: number): number {
  return anchorAtMs === null ? 0 : Math.max(0, nowMs - anchorAtMs);
}

/** What a count-down bank holds at `nowMs` when it has been running since `anchorAtMs`. */
export function remainingAtMs(bankMs: number, anchorAtMs: number | null, nowMs: number): number {
  return Math.max(0, bankMs - elapsedSinceMs(anchorAtMs, nowMs));
}
