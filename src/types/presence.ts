// Who is connected, for the disconnect policy (on_disconnect). Kept beside the session, never in
// its versioned state: a reconnect must not bump the version clients send as expected_version.
// Each instance holds a lease per (session, participant) it has connections for and renews it;
// a participant whose leases all ran out (or were released) has an entry in a due index.

/** One entry of the disconnect index: when the participant, if still gone, is due. */
export interface DisconnectEntry {
  sessionId: string;
  participantId: string;
  dueAtMs: number;
}

/**
 * Implementations: Redis (distributed) and an in-process map (embedded); both pass the same
 * contract suite. Times are the instance's clock (disciplined to Redis TIME in distributed mode).
 */
export interface PresenceStore {
  /**
   * The instance holds connections of the participant until `leaseUntilMs`; its index entry is
   * pushed to at least `leaseUntilMs + graceMs` (never earlier: only renewals move it later).
   */
  renew(
    sessionId: string,
    participantId: string,
    instanceId: string,
    leaseUntilMs: number,
    graceMs: number,
  ): Promise<void>;
  /**
   * The instance's last connection of the participant closed at `nowMs`: its lease goes, and if
   * no other instance holds one, the entry is due at `nowMs + graceMs`. Atomic.
   */
  release(
    sessionId: string,
    participantId: string,
    instanceId: string,
    nowMs: number,
    graceMs: number,
  ): Promise<void>;
  /** Whether any instance holds a lease of the participant beyond `nowMs`. */
  present(sessionId: string, participantId: string, nowMs: number): Promise<boolean>;
  /** Index entries due at or before `untilMs` (overdue ones included), earliest first. */
  due(untilMs: number, limit: number): Promise<DisconnectEntry[]>;
  /**
   * Only if the entry is still due at `entry.dueAtMs` (nobody renewed, released or settled it
   * since): removes it (`nextDueAtMs` null) or moves it to `nextDueAtMs`. True when it did.
   */
  settle(entry: DisconnectEntry, nextDueAtMs: number | null): Promise<boolean>;
  close(): Promise<void>;
}
