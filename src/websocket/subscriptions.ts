// The sessions one connection watches, with the newest version it has been sent of each, and
// the fan-out frame held back while the client's own command on that session runs: the pub/sub
// message often beats the command's reply, and the client would get the version its ACK
// carries twice. Decides what to send; sends nothing itself.
import type { StateFrame } from './SessionFanout.js';

interface HeldFrame {
  version: number;
  /** Not built yet, and never built if the client's ACK makes it stale. */
  frame: StateFrame;
  force: boolean;
}

export class Subscriptions {
  /** Watched sessions and the newest version this client has been sent. */
  private readonly versions = new Map<string, number>();
  /** Sessions with a command of this client's running, and the newest frame held meanwhile. */
  private readonly holding = new Map<string, HeldFrame | null>();

  get size(): number {
    return this.versions.size;
  }

  has(sessionId: string): boolean {
    return this.versions.has(sessionId);
  }

  /** The only watched session, if exactly one. */
  only(): string | undefined {
    return this.versions.size === 1 ? (this.versions.keys().next().value as string) : undefined;
  }

  /** Watched from now on; version 0 so the snapshot (any version) is the first thing delivered. */
  add(sessionId: string): void {
    this.versions.set(sessionId, 0);
  }

  delete(sessionId: string): void {
    this.versions.delete(sessionId);
  }

  /** Forgets every session; returns them, to unwatch. */
  clear(): string[] {
    const sessions = [...this.versions.keys()];
    this.versions.clear();
    return sessions;
  }

  /**
   * A fan-out frame: the one to send now, or null (not watched, not newer than what the client
   * has — `force`: equal is sent too — or held while the client's command runs).
   */
  offer(sessionId: string, version: number, frame: StateFrame, force: boolean): StateFrame | null {
    const sent = this.versions.get(sessionId);
    if (sent === undefined || version < sent || (version === sent && !force)) return null;
    if (this.holding.has(sessionId)) {
      const held = this.holding.get(sessionId);
      if (!held || version > held.version || (version === held.version && force)) {
        this.holding.set(sessionId, { version, frame, force });
      }
      return null;
    }
    this.versions.set(sessionId, version);
    return frame;
  }

  /** The client's command on a watched session starts: fan-out frames wait for its answer. */
  hold(sessionId: string): void {
    this.holding.set(sessionId, null);
  }

  /** The client's ACK carried `version`: the same version arriving by fan-out is not sent again. */
  acked(sessionId: string, version: number): void {
    const sent = this.versions.get(sessionId);
    if (sent !== undefined) this.versions.set(sessionId, Math.max(sent, version));
  }

  /**
   * The command is answered: what fan-out held, to offer again (it is sent if newer than what
   * the client has; after an ACK, its state counts as had — `force` only applies when no ACK
   * went out). Null when nothing was held.
   */
  release(sessionId: string, force: boolean): HeldFrame | null {
    const held = this.holding.get(sessionId) ?? null;
    this.holding.delete(sessionId);
    return held === null ? null : { ...held, force: force && held.force };
  }
}
