// A session's lifetime: one creation of its id, up to its removal. An id reused after DELETE
// starts a new lifetime, and nothing of the old one (its removal mark, its audit history)
// applies to the new one.
import { randomBytes } from 'node:crypto';
import type { SessionState } from '../types/session.js';

/** A new lifetime's name: random, so two creations of one id never share it (even in one ms). */
export function newLifetime(): string {
  return randomBytes(6).toString('base64url');
}

/**
 * The lifetime's name. States from before lifetimes were named go by their creation instant,
 * as migrations/003_lifetimes.sql names their audit records.
 */
export function lifetimeOf(state: SessionState): string {
  return state.lifetime ?? `t${state.createdAtMs}`;
}
