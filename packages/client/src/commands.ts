// Command correlation: each command goes out with a request id, and its ACK or ERROR (by that
// id) settles it; no answer in time rejects it with TIMEOUT, a lost connection with the reason.
import type { CommandMessage } from './wire/protocol.js';
import type { SessionView } from './wire/session.js';
import { SyncKairosApiError } from './errors.js';
import type { Timer } from './runtime.js';

/** A command's fields without `type` and `request_id`; undefined ones are left out on the wire. */
export type CommandBody<T extends CommandMessage['type']> = Omit<
  Extract<CommandMessage, { type: T }>,
  'type' | 'request_id'
>;

interface PendingCommand {
  resolve: (state: SessionView) => void;
  reject: (err: SyncKairosApiError) => void;
  timer: Timer;
}

export class PendingCommands {
  private readonly pending = new Map<string, PendingCommand>();
  private readonly requestIdPrefix = `sdk-${Math.random().toString(36).slice(2, 8)}-`;
  private requestSeq = 0;

  constructor(private readonly timeoutMs: number) {}

  /** Sends a command through `send`; resolves with the state its ACK carries. */
  send<T extends CommandMessage['type']>(
    type: T,
    body: CommandBody<T>,
    send: (text: string) => void,
  ): Promise<SessionView> {
    const requestId = `${this.requestIdPrefix}${++this.requestSeq}`;
    return new Promise<SessionView>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new SyncKairosApiError('TIMEOUT', `${type} got no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      // JSON.stringify leaves out the undefined fields, which the server would refuse.
      const message = { ...body, type, request_id: requestId } as CommandMessage;
      send(JSON.stringify(message));
    });
  }

  /** An ACK's state or an ERROR for `requestId`; an id that is not ours (or timed out) is ignored. */
  settle(requestId: string, outcome: SessionView | SyncKairosApiError): void {
    const command = this.pending.get(requestId);
    if (command === undefined) return;
    this.pending.delete(requestId);
    clearTimeout(command.timer);
    if (outcome instanceof SyncKairosApiError) command.reject(outcome);
    else command.resolve(outcome);
  }

  /** The connection is lost or closed: whatever is in flight is refused with `err`. */
  rejectAll(err: SyncKairosApiError): void {
    for (const requestId of [...this.pending.keys()]) this.settle(requestId, err);
  }
}
