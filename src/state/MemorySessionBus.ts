// The embedded mode's bus: the memory store publishes into it, and it delivers to the
// listener for subscribed sessions, asynchronously as Redis pub/sub would.
import type { BusListener, SessionBus } from '../types/bus.js';

export class MemorySessionBus implements SessionBus {
  private listener: BusListener | null = null;
  private readonly subscribed = new Set<string>();

  /** Hand this to MemoryStateStore as its `publish` option. */
  readonly publish = (sessionId: string, message: string): void => {
    if (!this.subscribed.has(sessionId)) return;
    queueMicrotask(() => {
      if (this.subscribed.has(sessionId)) this.listener?.onState(sessionId, message);
    });
  };

  setListener(listener: BusListener): void {
    this.listener = listener;
  }

  async subscribe(sessionId: string): Promise<void> {
    this.subscribed.add(sessionId);
  }

  async unsubscribe(sessionId: string): Promise<void> {
    this.subscribed.delete(sessionId);
  }

  async close(): Promise<void> {
    this.subscribed.clear();
    this.listener = null;
  }
}
