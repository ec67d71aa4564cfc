// A connection's token was checked once, at the upgrade: this ends the connection at the token's
// exp, and tells a message that arrives (or waits in the queue) past it that it came too late.

/** setTimeout fires at once for longer delays (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export class TokenExpiry {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  /** `expiresAtMs` null: a token without exp (or auth off), which never expires. */
  constructor(
    private readonly expiresAtMs: number | null,
    private readonly onExpired: () => void,
  ) {
    this.schedule();
  }

  get expired(): boolean {
    return this.expiresAtMs !== null && Date.now() >= this.expiresAtMs;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.expiresAtMs === null || this.stopped) return;
    const delayMs = Math.min(Math.max(0, this.expiresAtMs - Date.now()), MAX_TIMER_DELAY_MS);
    // A timer may fire a little early, and a far exp is reached in steps: check, else wait again.
    this.timer = setTimeout(() => {
      if (this.expired) this.onExpired();
      else this.schedule();
    }, delayMs);
    // A connection's exp must not keep the process alive.
    this.timer.unref();
  }
}
