// The session commands as both transports take them: one body schema each (REST posts it to
// /v1/sessions/:id/<name>, WebSocket sends it as a message of type <NAME>), and the mapping
// from a validated body to an engine command.
import type { SessionCommand, SessionCommandType } from '../types/session.js';
import { adjustSchema, resetSchema, startSchema, switchSchema, versionOnlySchema } from './requests.js';

export const COMMAND_BODY_SCHEMAS = {
  START: startSchema,
  SWITCH: switchSchema,
  PAUSE: versionOnlySchema,
  RESUME: versionOnlySchema,
  COMPLETE: versionOnlySchema,
  ADJUST: adjustSchema,
  RESET: resetSchema,
} as const;

export type CommandName = keyof typeof COMMAND_BODY_SCHEMAS;
export const COMMAND_NAMES = Object.keys(COMMAND_BODY_SCHEMAS) as CommandName[];

/** The engine command each one becomes. */
export const COMMAND_TYPES: Record<CommandName, SessionCommandType> = {
  START: 'start',
  SWITCH: 'switch',
  PAUSE: 'pause',
  RESUME: 'resume',
  COMPLETE: 'complete',
  ADJUST: 'adjust',
  RESET: 'reset',
};

const ONE_CLOCK_TYPES = { PAUSE: 'pause', RESUME: 'resume', COMPLETE: 'complete' } as const;

export interface CommandBody {
  expected_version?: number | undefined;
  start_at?: number | undefined;
  next_participant_id?: string | undefined;
  next_cycle_index?: number | undefined;
  participant_id?: string | undefined;
  group_id?: string | undefined;
  delta_ms?: number | undefined;
}

export function toSessionCommand(
  name: CommandName,
  body: CommandBody,
): { command: SessionCommand; expectedVersion: number | undefined } {
  const expectedVersion = body.expected_version;
  switch (name) {
    case 'START':
      return { command: { type: 'start', startAtMs: body.start_at }, expectedVersion };
    case 'SWITCH':
      return {
        command: {
          type: 'switch',
          nextParticipantId: body.next_participant_id,
          nextCycleIndex: body.next_cycle_index,
        },
        expectedVersion,
      };
    case 'PAUSE':
    case 'RESUME':
    case 'COMPLETE':
      return {
        command: { type: ONE_CLOCK_TYPES[name], participantId: body.participant_id, groupId: body.group_id },
        expectedVersion,
      };
    case 'ADJUST':
      return {
        command: {
          type: 'adjust',
          participantId: body.participant_id,
          groupId: body.group_id,
          deltaMs: body.delta_ms ?? 0,
        },
        expectedVersion,
      };
    case 'RESET':
      return { command: { type: 'reset' }, expectedVersion };
  }
}
