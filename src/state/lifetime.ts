// A session's lifetime: one creation of its id, up to its removal. An id reused after DELETE
// starts a new lifetime, and nothing of the old one (its removal mark, its audit history)
// applies to the new one.
import type { SessionState } from '../types/session.js';

/** The lifetime's identity: its creation instant, which no other lifetime of the id shares. */
export function lifetimeOf(state: SessionState): string {
  return `t${state.createdAtMs}`;
}
