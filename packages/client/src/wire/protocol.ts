// The WebSocket protocol: every message, both directions, typed once for the service and the
// SDK. The service validates what clients send with zod schemas typed against these; the SDK has
// no runtime dependencies, so it reads the service's frames through the one small guard below.
import type { ErrorCode } from './errors.js';
import type { SessionView } from './session.js';

// ---- Client → server ----

interface Routed {
  /** Echoed in the ACK or ERROR that answers the message. */
  request_id?: string | undefined;
  /** Defaults to the connection's session (from the URL, or its only subscription). */
  session_id?: string | undefined;
}

export interface SubscribeMessage {
  type: 'SUBSCRIBE' | 'UNSUBSCRIBE';
  request_id?: string | undefined;
  session_id: string;
}

/** A clock sample: the server answers with PONG at once. */
export interface PingMessage {
  type: 'PING';
  client_time: number;
}

interface VersionGuard extends Routed {
  /** Refused with VERSION_CONFLICT unless the session is at this version. */
  expected_version?: number | undefined;
}

export interface StartMessage extends VersionGuard {
  type: 'START';
  start_at?: number | undefined;
}
export interface SwitchMessage extends VersionGuard {
  type: 'SWITCH';
  next_participant_id?: string | undefined;
  /** per_cycle cue lists, admins only: the cue to run next (a later one than the running cue). */
  next_cycle_index?: number | undefined;
  /** lag_compensation sessions: the mover's own think time for this move, in ms. */
  think_ms?: number | undefined;
}
/** concurrent sessions: the one clock a pause, resume or complete acts on; every clock without. */
export interface OneClockTarget {
  participant_id?: string | undefined;
  group_id?: string | undefined;
}
export interface PauseMessage extends VersionGuard, OneClockTarget {
  type: 'PAUSE';
}
export interface ResumeMessage extends VersionGuard, OneClockTarget {
  type: 'RESUME';
}
export interface CompleteMessage extends VersionGuard, OneClockTarget {
  type: 'COMPLETE';
}
export interface AdjustMessage extends VersionGuard {
  type: 'ADJUST';
  delta_ms: number;
  participant_id?: string | undefined;
  group_id?: string | undefined;
}

/** Back to pending with the clocks the session was created with (admins only). */
export interface ResetMessage extends VersionGuard {
  type: 'RESET';
}

export type CommandMessage =
  | StartMessage
  | SwitchMessage
  | PauseMessage
  | ResumeMessage
  | CompleteMessage
  | AdjustMessage
  | ResetMessage;
export type CommandMessageType = CommandMessage['type'];
export type ClientMessage = SubscribeMessage | PingMessage | CommandMessage;

// ---- Server → client ----

/** A session's new state, pushed to every subscriber. */
export interface StateMessage {
  type: 'STATE';
  state: SessionView;
}

/** The answer to a command (with the state it made) or to a SUBSCRIBE/UNSUBSCRIBE (without). */
export interface AckMessage {
  type: 'ACK';
  request_id: string | null;
  state?: SessionView;
}

export interface PongMessage {
  type: 'PONG';
  client_time: number;
  /** The server's clock when it answered, epoch ms. */
  server_time: number;
}

/** A refused message (request_id set), or the connection's own error (null: a close follows). */
export interface ErrorMessage {
  type: 'ERROR';
  request_id: string | null;
  error: { code: ErrorCode; message: string; details?: unknown };
}

export type ServerMessage = StateMessage | AckMessage | PongMessage | ErrorMessage;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isState(value: unknown): value is SessionView {
  return isRecord(value) && typeof value.session_id === 'string' && typeof value.version === 'number';
}

const isRequestId = (value: unknown): value is string | null => value === null || typeof value === 'string';

/**
 * A server frame's text read as a ServerMessage, or null if it is not one (a bad frame is
 * dropped, never thrown). Checks the fields the SDK acts on; the rest is the server's word.
 */
export function parseServerMessage(text: string): ServerMessage | null {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(message)) return null;
  switch (message.type) {
    case 'STATE':
      return isState(message.state) ? (message as unknown as StateMessage) : null;
    case 'ACK':
      return isRequestId(message.request_id) && (message.state === undefined || isState(message.state))
        ? (message as unknown as AckMessage)
        : null;
    case 'PONG':
      return typeof message.client_time === 'number' && typeof message.server_time === 'number'
        ? (message as unknown as PongMessage)
        : null;
    case 'ERROR':
      return isRequestId(message.request_id ?? null) &&
        isRecord(message.error) &&
        typeof message.error.code === 'string'
        ? ({ ...message, request_id: message.request_id ?? null } as unknown as ErrorMessage)
        : null;
    default:
      return null;
  }
}
