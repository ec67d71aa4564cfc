// Per-connection limits. Defaults suit a public service; the benchmark raises them.

export interface WebSocketLimits {
  /** Larger messages get an ERROR and the connection is closed. */
  maxMessageBytes: number;
  /** Sustained messages per second per connection, with `burstMessages` of slack. */
  messagesPerSecond: number;
  burstMessages: number;
  /** A client that lets this much pile up unread is dropped rather than buffered without end. */
  maxBufferedBytes: number;
  /** Open connections from one address. */
  maxConnectionsPerAddress: number;
  maxSubscriptionsPerConnection: number;
  /** Protocol ping interval; a connection that misses one is terminated. */
  heartbeatIntervalMs: number;
}

export const DEFAULT_WEBSOCKET_LIMITS: WebSocketLimits = {
  maxMessageBytes: 16 * 1024,
  messagesPerSecond: 100,
  burstMessages: 200,
  maxBufferedBytes: 1024 * 1024,
  maxConnectionsPerAddress: 1000,
  maxSubscriptionsPerConnection: 100,
  heartbeatIntervalMs: 30_000,
};

/** A token bucket on the monotonic clock: `take()` is false once the client is over its rate. */
export class TokenBucket {
  private tokens: number;
  private refilledAtMs = performance.now();

  constructor(
    private readonly perSecond: number,
    private readonly capacity: number,
  ) {
    this.tokens = capacity;
  }

  take(): boolean {
    const nowMs = performance.now();
    this.tokens = Math.min(
      this.capacity,
      this.tokens + ((nowMs - this.refilledAtMs) * this.perSecond) / 1000,
    );
    this.refilledAtMs = nowMs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
