// A connection's round trip as the server measures it: the time from a protocol ping to its
// pong, smoothed. Lag compensation trusts this, not what a client says of itself.

/** Weight of the newest sample (TCP's SRTT uses 1/8; a few moves should show a changed network). */
const SAMPLE_WEIGHT = 0.25;

export class RoundTripEstimate {
  private pingSentAtMs: number | null = null;
  private smoothedMs: number | null = null;

  /** The smoothed round trip, or 0 before the first pong. */
  get roundTripMs(): number {
    return this.smoothedMs === null ? 0 : Math.round(this.smoothedMs);
  }

  /** Whether a ping is out without its pong yet (one at a time, so each pong pairs with its ping). */
  get awaitingPong(): boolean {
    return this.pingSentAtMs !== null;
  }

  pingSent(nowMs: number): void {
    this.pingSentAtMs = nowMs;
  }

  pongReceived(nowMs: number): void {
    if (this.pingSentAtMs === null) return;
    const sampleMs = Math.max(0, nowMs - this.pingSentAtMs);
    this.pingSentAtMs = null;
    this.smoothedMs =
      this.smoothedMs === null ? sampleMs : this.smoothedMs + SAMPLE_WEIGHT * (sampleMs - this.smoothedMs);
  }
}
