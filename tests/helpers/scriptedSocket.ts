// A scripted WebSocket for the SDK's `WebSocket` option: its "server" answers PINGs and sends a
// state on open; tests reach in to script the rest.
import type { ClientSocket, SessionView } from '@synckairos/client';

export function scriptedState(version: number): SessionView {
  return {
    session_id: 's',
    sync_mode: 'global',
    status: 'running',
    version,
    event: 'switched',
    server_time: Date.now(),
    active_participant_id: 'a',
    cycle_started_at: Date.now(),
    start_at: null,
    deadline_at: null,
    total_time_ms: 60_000,
    time_per_cycle_ms: null,
    increment_ms: 0,
    max_time_ms: null,
    on_expire: 'end_session',
    participants: [],
    time_remaining_ms: 60_000,
    metadata: null,
    created_at: 0,
    updated_at: 0,
  };
}

/** A socket whose server answers PINGs and sends `version` on open; tests reach in to script the rest. */
export class ScriptedSocket implements ClientSocket {
  static opened: ScriptedSocket[] = [];
  static version = 1;
  /** Called after each PONG is delivered. */
  static afterPong: ((socket: ScriptedSocket) => void) | null = null;
  readyState = 0;
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;
  readonly sent: Record<string, unknown>[] = [];

  constructor(readonly url: string) {
    ScriptedSocket.opened.push(this);
    queueMicrotask(() => {
      this.readyState = 1;
      (this.onopen as (() => void) | null)?.();
      this.deliver({ type: 'STATE', state: scriptedState(ScriptedSocket.version) });
    });
  }

  deliver(message: unknown): void {
    (this.onmessage as ((event: { data: string }) => void) | null)?.({ data: JSON.stringify(message) });
  }

  send(data: string): void {
    const message = JSON.parse(data) as Record<string, unknown>;
    this.sent.push(message);
    if (message.type !== 'PING') return;
    setImmediate(() => {
      if (this.readyState !== 1) return;
      this.deliver({ type: 'PONG', client_time: message.client_time, server_time: Date.now() });
      ScriptedSocket.afterPong?.(this);
    });
  }

  /** The server drops the connection. */
  drop(code = 1006): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    (this.onclose as ((event: { code: number; reason: string }) => void) | null)?.({ code, reason: '' });
  }

  close(): void {
    this.drop(1000);
  }
}
