import type { WriteResult } from '../types/store.js';

/** The small negative codes the Lua scripts return; named here once. */
export const ScriptCode = {
  Ok: 1,
  NotFound: -1,
  VersionConflict: -2,
  Exists: -3,
  /** The write reached Redis after its not-after instant; its caller has stopped waiting. */
  TooLate: -4,
} as const;
export type ScriptCode = (typeof ScriptCode)[keyof typeof ScriptCode];

/**
 * A script replies with a bare code, or `{code, detail}` (version conflict: the stored version;
 * too late: Redis TIME in ms when the script ran).
 */
export type ScriptReply = number | [number, number?];

/** A write refused because it ran after its not-after instant; nothing was changed. */
export class WriteTooLateError extends Error {
  constructor(
    readonly notAfterMs: number,
    readonly redisNowMs: number,
  ) {
    super(
      `The write reached Redis at ${redisNowMs}, after its not-after instant ${notAfterMs}; nothing changed`,
    );
    this.name = 'WriteTooLateError';
  }
}

function parse(reply: ScriptReply): [number, number | undefined] {
  return typeof reply === 'number' ? [reply, undefined] : [reply[0], reply[1]];
}

/** Throws WriteTooLateError for a TooLate reply; other replies pass. */
function refuseTooLate(code: number, detail: number | undefined, notAfterMs: number): void {
  if (code === ScriptCode.TooLate) throw new WriteTooLateError(notAfterMs, Number(detail));
}

/** The one place a write script's reply becomes a WriteResult. */
export function toWriteResult(reply: ScriptReply, notAfterMs: number): WriteResult {
  const [code, detail] = parse(reply);
  refuseTooLate(code, detail, notAfterMs);
  switch (code) {
    case ScriptCode.Ok:
      return { ok: true };
    case ScriptCode.NotFound:
      return { ok: false, reason: 'not_found' };
    case ScriptCode.VersionConflict:
      return { ok: false, reason: 'version_conflict', currentVersion: Number(detail) };
    case ScriptCode.Exists:
      return { ok: false, reason: 'exists' };
    default:
      throw new Error(`Unexpected script reply ${JSON.stringify(reply)}`);
  }
}

/** drop-stale-deadline's reply: 1 (dropped) or 0 (the session exists) pass; TooLate throws. */
export function checkDropReply(reply: ScriptReply, notAfterMs: number): void {
  const [code, detail] = parse(reply);
  refuseTooLate(code, detail, notAfterMs);
  if (code !== 0 && code !== 1) throw new Error(`Unexpected script reply ${JSON.stringify(reply)}`);
}
