// Redis pub/sub for committed states. One subscriber connection per instance, subscribed
// only to the sessions its clients watch. After a lost connection it subscribes again by
// itself and asks the listener to re-read, since anything published meanwhile is gone.
import type { Redis } from 'ioredis';
import type { BusListener, SessionBus } from '../types/bus.js';
import { stateKeys, type StateKeys } from './keys.js';

export class RedisSessionBus implements SessionBus {
  private readonly subscriber: Redis;
  private readonly keys: StateKeys;
  private readonly onError: (err: unknown) => void;
  private listener: BusListener | null = null;
  /** channel → session id, for every session we want, whether or not Redis has confirmed it. */
  private readonly wanted = new Map<string, string>();
  private wasReady = false;
  private closed = false;

  /** `subscriber` is a connection of its own (it enters subscriber mode); the bus owns and closes it. */
  constructor(subscriber: Redis, options: { keyPrefix?: string; onError?: (err: unknown) => void } = {}) {
    this.subscriber = subscriber;
    this.keys = stateKeys(options.keyPrefix);
    this.onError = options.onError ?? (() => {});
    subscriber.on('message', this.handleMessage);
    subscriber.on('ready', this.handleReady);
    if (subscriber.status === 'ready') this.wasReady = true;
  }

  setListener(listener: BusListener): void {
    this.listener = listener;
  }

  async subscribe(sessionId: string): Promise<void> {
    const channel = this.keys.updatesChannel(sessionId);
    this.wanted.set(channel, sessionId);
    try {
      await this.subscriber.subscribe(channel);
    } catch (err) {
      // Redis is away: the channel stays wanted and is subscribed again when it is back.
      this.onError(err);
    }
  }

  async unsubscribe(sessionId: string): Promise<void> {
    const channel = this.keys.updatesChannel(sessionId);
    this.wanted.delete(channel);
    try {
      await this.subscriber.unsubscribe(channel);
    } catch (err) {
      this.onError(err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subscriber.off('message', this.handleMessage);
    this.subscriber.off('ready', this.handleReady);
    this.wanted.clear();
    this.listener = null;
    try {
      await this.subscriber.quit();
    } catch {
      this.subscriber.disconnect();
    }
  }

  private readonly handleMessage = (channel: string, message: string): void => {
    const sessionId = this.wanted.get(channel);
    if (sessionId === undefined) return;
    try {
      this.listener?.onState(sessionId, message);
    } catch (err) {
      // A subscriber never throws back into the connection's event loop.
      this.onError(err);
    }
  };

  private readonly handleReady = (): void => {
    if (!this.wasReady) {
      this.wasReady = true;
      return;
    }
    void this.resubscribe();
  };

  private async resubscribe(): Promise<void> {
    const channels = [...this.wanted.keys()];
    try {
      if (channels.length > 0) await this.subscriber.subscribe(...channels);
    } catch (err) {
      this.onError(err);
      return;
    }
    this.listener?.onResync();
  }
}
