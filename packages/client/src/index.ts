// @synckairos/client: the SDK for browsers and Node. connect() keeps one session in sync over a
// WebSocket; createClient() calls the REST API. No runtime dependencies: the wire's types and the
// time formulas it shares with the service (src/wire, src/clock) ship in this package.
export {
  connect,
  type ClockSyncInfo,
  type CommandOptions,
  type OneClockOptions,
  type SwitchOptions,
  type ConnectOptions,
  type ConnectionStatus,
  type LocalClock,
  type SyncKairosEvents,
  type SyncKairosHandle,
  type TokenSource,
} from './connect.js';
export { createClient, type ClientOptions, type SyncKairosClient } from './rest.js';
export { SyncKairosApiError, type ClientErrorCode, type SyncKairosErrorCode } from './errors.js';
export {
  ClockFilter,
  estimateOffset,
  SlewedOffset,
  MAX_DRIFT_RATE,
  MAX_KEPT_SAMPLES,
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
  phaseAt,
  sessionRemainingMs,
  type LocalClockFace,
} from './localTime.js';
export { webSocketUrl, type ClientSocket, type WebSocketConstructor } from './socket.js';
export type { ErrorCode } from './wire/errors.js';
export type {
  AckMessage,
  ClientMessage,
  CommandMessage,
  ErrorMessage,
  PingMessage,
  PongMessage,
  ServerMessage,
  StateMessage,
} from './wire/protocol.js';
export type {
  CreateSessionInput,
  CueInput,
  CueView,
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
} from './wire/session.js';
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
} from './wire/timeControl.js';
