import type { DisconnectEntry, PresenceStore } from '../types/presence.js';

/** `<sessionId>|<participantId>`: ids never hold a `|` (ID_PATTERN). */
export function disconnectMember(sessionId: string, participantId: string): string {
  return `${sessionId}|${participantId}`;
}

/** The entry a disconnect index member and its score stand for. */
export function disconnectEntry(member: string, dueAtMs: number): DisconnectEntry {
  const bar = member.indexOf('|');
  return { sessionId: member.slice(0, bar), participantId: member.slice(bar + 1), dueAtMs };
}

/**
 * The embedded presence store: the Redis one's semantics in one process. Nothing of it is
 * durable: after a restart nobody is connected (the service re-arms running sessions' entries).
 */
export class MemoryPresenceStore implements PresenceStore {
  /** member → instanceId → leaseUntilMs. */
  private readonly leases = new Map<string, Map<string, number>>();
  /** member → dueAtMs; scanned and sorted on read, fine for one process's sessions. */
  private readonly index = new Map<string, number>();

  renew(
    sessionId: string,
    participantId: string,
    instanceId: string,
    leaseUntilMs: number,
    graceMs: number,
  ): Promise<void> {
    const member = disconnectMember(sessionId, participantId);
    let held = this.leases.get(member);
    if (held === undefined) {
      held = new Map();
      this.leases.set(member, held);
    }
    held.set(instanceId, leaseUntilMs);
    const dueAtMs = leaseUntilMs + graceMs;
    const current = this.index.get(member);
    // As ZADD GT: an absent member is added, a present one only moves later.
    if (current === undefined || dueAtMs > current) this.index.set(member, dueAtMs);
    return Promise.resolve();
  }

  release(
    sessionId: string,
    participantId: string,
    instanceId: string,
    nowMs: number,
    graceMs: number,
  ): Promise<void> {
    const member = disconnectMember(sessionId, participantId);
    const held = this.leases.get(member);
    held?.delete(instanceId);
    if (!this.holdsLease(member, nowMs)) this.index.set(member, nowMs + graceMs);
    return Promise.resolve();
  }

  present(sessionId: string, participantId: string, nowMs: number): Promise<boolean> {
    return Promise.resolve(this.holdsLease(disconnectMember(sessionId, participantId), nowMs));
  }

  due(untilMs: number, limit: number): Promise<DisconnectEntry[]> {
    const entries: DisconnectEntry[] = [];
    for (const [member, dueAtMs] of this.index) {
      if (dueAtMs <= untilMs) entries.push(disconnectEntry(member, dueAtMs));
    }
    entries.sort((a, b) => a.dueAtMs - b.dueAtMs);
    return Promise.resolve(entries.slice(0, Math.max(0, limit)));
  }

  settle(entry: DisconnectEntry, nextDueAtMs: number | null): Promise<boolean> {
    const member = disconnectMember(entry.sessionId, entry.participantId);
    if (this.index.get(member) !== entry.dueAtMs) return Promise.resolve(false);
    if (nextDueAtMs === null) this.index.delete(member);
    else this.index.set(member, nextDueAtMs);
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    this.leases.clear();
    this.index.clear();
    return Promise.resolve();
  }

  /** Whether a lease runs beyond now; leases run out on the way are forgotten. */
  private holdsLease(member: string, nowMs: number): boolean {
    const held = this.leases.get(member);
    if (held === undefined) return false;
    let holds = false;
    for (const [instanceId, leaseUntilMs] of held) {
      if (leaseUntilMs > nowMs) holds = true;
      else held.delete(instanceId);
    }
    if (held.size === 0) this.leases.delete(member);
    return holds;
  }
}
