// Every Redis key and channel name is built here, so the layout can be read (and changed) in one place.
// A session's key and channel share the `{sessionId}` hash tag, so they land in one Redis Cluster slot.

export const DEFAULT_KEY_PREFIX = 'sk:';

export interface StateKeys {
  readonly prefix: string;
  /** The session, a string `<version>|<stateJson>`: `sk:{abc}`. */
  session(sessionId: string): string;
  /** Where every write of the session is published: `sk:{abc}:updates`. */
  updatesChannel(sessionId: string): string;
  /**
   * Sorted set of session ids scored by deadlineAtMs: `sk:deadlines`.
   * One key outside the sessions' slots; under Redis Cluster it would need sharding (future work).
   */
  readonly deadlines: string;
  /**
   * Stream of audit records, appended by the same script that commits each change and drained
   * into the audit queue by a relay: `sk:audit`. Like the deadline index, one key outside the
   * sessions' slots (Redis Cluster would shard it).
   */
  readonly auditLog: string;
}

export function stateKeys(prefix: string = DEFAULT_KEY_PREFIX): StateKeys {
  return {
    prefix,
    session: (sessionId) => `${prefix}{${sessionId}}`,
    updatesChannel: (sessionId) => `${prefix}{${sessionId}}:updates`,
    deadlines: `${prefix}deadlines`,
    auditLog: `${prefix}audit`,
  };
}
