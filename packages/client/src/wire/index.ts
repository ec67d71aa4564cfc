// The wire's shapes and enums, shared by the service and the SDK: sessions, time controls,
// error codes and the WebSocket messages.
export * from './errors.js';
export * from './protocol.js';
export * from './session.js';
export * from './timeControl.js';
