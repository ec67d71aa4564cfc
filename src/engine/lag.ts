// Lag compensation (opt-in, per_participant and per_group): a move is charged its elapsed time
// less its time in transit, up to a per-participant quota that grows a little with each move
// and is capped, as lichess's LagTracker does. Pure: the transport measures, this decides.
import { ruleOf } from '@synckairos/client/clock';
import type { MoveTransit, ParticipantState, SessionState } from '../types/session.js';
import { bankFlagInMs, controlOf } from './modes/banks.js';
import { findGroup } from './participants.js';

// scalachess LagTracker: quota gain min(1000, 150 + 4 per second of estimated game) ms,
// initial quota 3 × gain, max quota 7 × gain (lichess's estimate: initial time + 40 moves' increment).
const MAX_QUOTA_GAIN_MS = 1000;
const INITIAL_QUOTA_GAINS = 3;
const MAX_QUOTA_GAINS = 7;
const ESTIMATED_MOVES = 40;

/** A client's reported think time may put the transit above the measured round trip by this much at most. */
export const REPORTED_LAG_MARGIN_MS = 20;

/** The quota's gain per move, from a participant's starting clock (lichess's maxQuotaGainFor). */
export function lagQuotaGainMs(estimatedGameMs: number): number {
  const estimatedSeconds = Math.floor(estimatedGameMs / 1000);
  return Math.min(MAX_QUOTA_GAIN_MS, (Math.floor((estimatedSeconds * 2) / 5) + 15) * 10);
}

/** Gives each participant of a new lag_compensation session its starting quota. */
export function startLagQuotas(state: SessionState): void {
  state.config.lagCompensation = true;
  for (const participant of state.participants) {
    const gainMs = lagQuotaGainMs(estimatedGameMs(state, participant));
    participant.lagQuotaGainMs = gainMs;
    participant.lagQuotaMs = INITIAL_QUOTA_GAINS * gainMs;
    participant.lagMs = 0;
    participant.lagCompMs = 0;
  }
}

/** The starting clock's whole time plus 40 moves of what a move in time credits (the increment). */
function estimatedGameMs(state: SessionState, participant: ParticipantState): number {
  const bank = findGroup(state, participant.groupId) ?? participant;
  const control = controlOf(state, bank);
  const startMs = bankFlagInMs(state, bank);
  const afterMove = structuredClone(bank);
  ruleOf(control).endTurn(afterMove, control, state.config.incrementMs);
  const perMoveMs = Math.max(0, bankFlagInMs(state, afterMove) - startMs);
  return startMs + ESTIMATED_MOVES * perMoveMs;
}

/**
 * The time `mover`'s move is charged: `max(0, elapsed − comp)` with `comp = min(lag, quota)`
 * (and never more than the move took, so no credit is spent for nothing). Updates the mover's
 * quota and its record of the move. Sessions without lag compensation are charged in full.
 */
export function compensatedMoveMs(
  state: SessionState,
  mover: ParticipantState | undefined,
  transit: MoveTransit | undefined,
  elapsedMs: number,
): number {
  if (state.config.lagCompensation !== true || mover === undefined) return elapsedMs;
  const gainMs = mover.lagQuotaGainMs ?? 0;
  const quotaMs = mover.lagQuotaMs ?? 0;
  const lagMs = transit === undefined ? 0 : transitMs(transit, elapsedMs);
  const compMs = Math.min(lagMs, quotaMs, elapsedMs);
  mover.lagMs = lagMs;
  mover.lagCompMs = compMs;
  mover.lagQuotaMs = Math.min(quotaMs + gainMs - compMs, MAX_QUOTA_GAINS * gainMs);
  return elapsedMs - compMs;
}

/**
 * The turn's time in transit: the measured round trip, or what the client's reported think
 * time leaves of the elapsed time, never more than the measured round trip plus a margin.
 */
function transitMs(transit: MoveTransit, elapsedMs: number): number {
  const measuredMs = Math.max(0, transit.roundTripMs);
  if (transit.thinkMs === undefined) return measuredMs;
  return Math.min(Math.max(0, elapsedMs - transit.thinkMs), measuredMs + REPORTED_LAG_MARGIN_MS);
}
