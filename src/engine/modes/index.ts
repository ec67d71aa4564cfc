// The sync modes, one file each, looked up by the state's sync_mode.
import type { SessionState, SyncMode } from '../../types/session.js';
import { countUp } from './countUp.js';
import { global } from './global.js';
import type { SyncModeRules } from './mode.js';
import { perCycle } from './perCycle.js';
import { perGroup } from './perGroup.js';
import { perParticipant } from './perParticipant.js';

export type { SyncModeRules } from './mode.js';

export const SYNC_MODE_RULES: Readonly<Record<SyncMode, SyncModeRules>> = {
  per_participant: perParticipant,
  per_cycle: perCycle,
  per_group: perGroup,
  global,
  count_up: countUp,
};

export function modeOf(state: SessionState): SyncModeRules {
  return SYNC_MODE_RULES[state.syncMode];
}
