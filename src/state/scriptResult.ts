import type { WriteResult } from '../types/store.js';

/** The small negative codes the Lua scripts return; named here once. */
export const ScriptCode = {
  Ok: 1,
  NotFound: -1,
  VersionConflict: -2,
  Exists: -3,
} as const;
export type ScriptCode = (typeof ScriptCode)[keyof typeof ScriptCode];

/** A script replies with a bare code, or `{code, detail}` (version conflict: the stored version). */
export type ScriptReply = number | [number, number?];

/** The one place a script reply becomes a WriteResult. */
export function toWriteResult(reply: ScriptReply): WriteResult {
  const [code, detail] = typeof reply === 'number' ? [reply] : reply;
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
