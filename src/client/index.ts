// synckairos/client: the SDK for browsers and Node. connect() keeps one session in sync over a
// WebSocket; createClient() calls the REST API. Imports nothing of the server but its types and
// the shared time formulas (src/clock).
export {
  connect,
  type ClockSyncInfo,
  type CommandOptions,
  type ConnectOptions,
  type ConnectionStatus,
  type LocalClock,
  type SyncKairosEvents,
  type SyncKairosHandle,
} from './connect.js';
export { createClient, type ClientOptions, type SyncKairosClient } from './rest.js';
export { SyncKairosApiError, type ClientErrorCode, type SyncKairosErrorCode } from './errors.js';
export {
  estimateOffset,
  SlewedOffset,
  MAX_SLEW_MS,
  SLEW_RATE,
  type OffsetEstimate,
  type PingSample,
} from './clockSync.js';
export {
  elapsedMs,
  groupFace,
  groupRemainingMs,
  participantFace,
  participantRemainingMs,
  sessionRemainingMs,
  type LocalClockFace,
} from './localTime.js';
export { webSocketUrl, type ClientSocket, type WebSocketConstructor } from './socket.js';
export type { ErrorCode } from '../types/errors.js';
export type {
  CreateSessionInput,
  GroupInput,
  GroupView,
  LapView,
  OnExpire,
  ParticipantInput,
  ParticipantView,
  SessionEventType,
  SessionStatus,
  SessionView,
  SyncMode,
} from '../types/session.js';
export type {
  BronsteinControl,
  ByoyomiControl,
  CanadianControl,
  ClockFaceFields,
  DelayControl,
  FischerControl,
  HourglassControl,
  Stage,
  StagesControl,
  TimeControl,
  TimeControlType,
} from '../types/timeControl.js';
