// Sharded Redis pub/sub (SSUBSCRIBE; the scripts SPUBLISH) for committed states, subscribed
// only to the sessions this instance's clients watch. On one Redis: one subscriber connection,
// which subscribes again after a lost connection. On a Redis Cluster: ioredis's sharded
// subscribers, one per master, which it moves and resubscribes after slot moves and failovers.
// Either way the listener is then asked to re-read, since anything published meanwhile is gone.
import { Cluster } from 'ioredis';
import type { BusListener, SessionBus } from '../types/bus.js';
import { stateKeys, type StateKeys } from './keys.js';
import type { RedisClient } from './redisConnection.js';

export class RedisSessionBus implements SessionBus {
  private readonly subscriber: RedisClient;
  /** 'ready' on one Redis; 'subscribersReady' on a cluster (after its subscribers are reset). */
  private readonly readyEvent: string;
  private readonly keys: StateKeys;
  private readonly onError: (err: unknown) => void;
  private listener: BusListener | null = null;
  /** channel → session id, for every session we want, whether or not Redis has confirmed it. */
  private readonly wanted = new Map<string, string>();
  private wasReady = false;
  private closed = false;

  /**
   * `subscriber` is a connection of its own (it enters subscriber mode), or a Cluster created
   * with `shardedSubscribers`; the bus owns and closes it.
   */
  constructor(
    subscriber: RedisClient,
    options: { keyPrefix?: string; onError?: (err: unknown) => void } = {},
  ) {
    this.subscriber = subscriber;
    this.keys = stateKeys(options.keyPrefix);
    this.onError = options.onError ?? (() => {});
    this.readyEvent = subscriber instanceof Cluster ? 'subscribersReady' : 'ready';
    subscriber.on('smessage', this.handleMessage);
    subscriber.on(this.readyEvent, this.handleReady);
    // A cluster's first 'subscribersReady' comes with its first subscription, not at connect.
    if (subscriber.status === 'ready' || subscriber instanceof Cluster) this.wasReady = true;
  }

  setListener(listener: BusListener): void {
    this.listener = listener;
  }

  async subscribe(sessionId: string): Promise<void> {
    const channel = this.keys.updatesChannel(sessionId);
    this.wanted.set(channel, sessionId);
    try {
      await this.subscriber.ssubscribe(channel);
    } catch (err) {
      // Redis is away: the channel stays wanted and is subscribed again when it is back.
      this.onError(err);
    }
  }

  async unsubscribe(sessionId: string): Promise<void> {
    const channel = this.keys.updatesChannel(sessionId);
    this.wanted.delete(channel);
    try {
      await this.subscriber.sunsubscribe(channel);
    } catch (err) {
      this.onError(err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subscriber.off('smessage', this.handleMessage);
    this.subscriber.off(this.readyEvent, this.handleReady);
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
    // A cluster's subscriber group has resubscribed by itself; one Redis's connection is ours to.
    if (!(this.subscriber instanceof Cluster)) {
      const subscriber = this.subscriber;
      try {
        // One channel per call: channels of different slots may not share an SSUBSCRIBE.
        await Promise.all([...this.wanted.keys()].map((channel) => subscriber.ssubscribe(channel)));
      } catch (err) {
        this.onError(err);
        return;
      }
    }
    this.listener?.onResync();
  }
}
