// A committed state's view, rendered once: the command's answer (the REST body, the WebSocket
// ACK) and this instance's STATE frames of that version are the same JSON bytes. Its
// server_time is the commit's instant.
import type { SessionState, SessionView } from '../types/session.js';
import { toSessionView } from './view.js';

export class RenderedView {
  private builtView: SessionView | null = null;
  private builtJson: string | null = null;

  /** `state` is committed and never changed again (commands work on copies). */
  constructor(
    readonly state: SessionState,
    readonly atMs: number,
  ) {}

  get view(): SessionView {
    this.builtView ??= toSessionView(this.state, this.atMs);
    return this.builtView;
  }

  get json(): string {
    this.builtJson ??= JSON.stringify(this.view);
    return this.builtJson;
  }
}
