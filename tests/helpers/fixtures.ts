import type { CreateSessionInput, SessionState } from '../../src/types/session.js';

/** A valid stored session: per_participant, two participants, pending, version 1. */
export function sessionStateFixture(overrides: Partial<SessionState> = {}): SessionState {
  const nowMs = 1_700_000_000_000;
  return {
    sessionId: 'session-1',
    syncMode: 'per_participant',
    status: 'pending',
    version: 1,
    config: {
      totalTimeMs: 300_000,
      timePerCycleMs: null,
      incrementMs: 0,
      maxTimeMs: null,
      onExpire: 'end_session',
    },
    participants: [
      { participantId: 'p1', groupId: null, bankMs: 300_000, usedMs: 0, cycleCount: 0, hasExpired: false },
      { participantId: 'p2', groupId: null, bankMs: 300_000, usedMs: 0, cycleCount: 0, hasExpired: false },
    ],
    groups: [],
    activeParticipantId: 'p1',
    anchorAtMs: null,
    cycleStartedAtMs: null,
    cycleBankMs: 0,
    sessionBankMs: 0,
    elapsedMs: 0,
    lapStartElapsedMs: 0,
    laps: [],
    startAtMs: null,
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
    lastEvent: 'created',
    metadata: null,
    ...overrides,
  };
}

/** A chess clock's create request: white and black, `totalTimeMs` each, no increment. */
export function chessClockInput(sessionId: string, totalTimeMs: number): CreateSessionInput {
  return {
    session_id: sessionId,
    sync_mode: 'per_participant',
    participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
    total_time_ms: totalTimeMs,
  };
}
