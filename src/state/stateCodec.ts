// The session state as the stores keep and publish it: JSON without the fields that hold
// their default (null, an empty list, a zero counter of another mode). A running chess clock
// is ~550 bytes instead of ~725, which moves it into a smaller Redis allocation class: memory
// per session is a performance target (BENCHMARKS.md). Written by hand: the defaults are this model's own.
import type { ParticipantState, SessionConfig, SessionState } from '../types/session.js';

/** Top-level fields left out while they hold these values. */
const STATE_DEFAULTS = {
  groups: [],
  activeParticipantId: null,
  anchorAtMs: null,
  cycleStartedAtMs: null,
  cycleBankMs: 0,
  sessionBankMs: 0,
  elapsedMs: 0,
  lapStartElapsedMs: 0,
  laps: [],
  startAtMs: null,
  metadata: null,
} as const satisfies Partial<SessionState>;

const CONFIG_DEFAULTS = {
  totalTimeMs: null,
  timePerCycleMs: null,
  incrementMs: 0,
  maxTimeMs: null,
  onExpire: 'end_session',
} as const satisfies Partial<SessionConfig>;

/** A participant who has not played yet stores only its id and bank. */
const PARTICIPANT_DEFAULTS = {
  groupId: null,
  usedMs: 0,
  cycleCount: 0,
  hasExpired: false,
} as const satisfies Partial<ParticipantState>;

function isDefault(value: unknown, fallback: unknown): boolean {
  if (Array.isArray(fallback)) return Array.isArray(value) && value.length === 0;
  return value === fallback;
}

/** A shallow copy without the fields that hold their default. */
function withoutDefaults<T extends object>(value: T, defaults: Record<string, unknown>): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (!(key in defaults) || !isDefault(field, defaults[key])) out[key] = field;
  }
  return out as Partial<T>;
}

export function encodeState(state: SessionState): string {
  return JSON.stringify({
    ...withoutDefaults(state, STATE_DEFAULTS),
    config: withoutDefaults(state.config, CONFIG_DEFAULTS),
    participants: state.participants.map((p) => withoutDefaults(p, PARTICIPANT_DEFAULTS)),
  });
}

/** Fills the left-out defaults into the parsed object itself: no second copy of every state read. */
function fillDefaults(target: Record<string, unknown>, defaults: Record<string, unknown>): void {
  for (const key in defaults) {
    if (!(key in target)) {
      const fallback = defaults[key];
      // Each state gets lists of its own: the defaults are shared constants.
      target[key] = Array.isArray(fallback) ? [] : fallback;
    }
  }
}

/**
 * What the stores publish on every write: `<version>|<stateJson>`, the stored value's own form
 * (save-session-5.lua), so a receiver can tell the version without parsing the state.
 */
export function publishedMessage(version: number, stateJson: string): string {
  return `${version}|${stateJson}`;
}

/** The version and the state JSON of a published message; null when it is not one. */
export function splitPublished(message: string): { version: number; stateJson: string } | null {
  const bar = message.indexOf('|');
  const version = bar > 0 && bar <= 16 ? Number(message.slice(0, bar)) : NaN;
  return Number.isSafeInteger(version) ? { version, stateJson: message.slice(bar + 1) } : null;
}

export function decodeState(json: string): SessionState {
  const state = JSON.parse(json) as SessionState;
  fillDefaults(state as unknown as Record<string, unknown>, STATE_DEFAULTS);
  fillDefaults(state.config as unknown as Record<string, unknown>, CONFIG_DEFAULTS);
  for (const participant of state.participants) {
    fillDefaults(participant as unknown as Record<string, unknown>, PARTICIPANT_DEFAULTS);
  }
  return state;
}
