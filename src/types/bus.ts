/** Receives what the state store published for the sessions this instance watches. */
export interface BusListener {
  /** A committed state of a watched session, as the store published it (`<version>|<stateJson>`). */
  onState(sessionId: string, message: string): void;
  /** Delivery was interrupted and is back: anything may have been missed, so re-read. */
  onResync(): void;
}

/**
 * Carries committed states between instances: Redis pub/sub in distributed mode, an
 * in-process bus in embedded mode. An instance subscribes only to the sessions its own
 * clients watch.
 */
export interface SessionBus {
  setListener(listener: BusListener): void;
  subscribe(sessionId: string): Promise<void>;
  unsubscribe(sessionId: string): Promise<void>;
  close(): Promise<void>;
}
