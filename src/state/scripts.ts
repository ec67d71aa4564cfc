import { readFileSync } from 'node:fs';
import { SESSION_STATUSES, type SessionState } from '../types/session.js';
import type { RestoreWrite, SessionWrite, WriteResult } from '../types/store.js';
import type { StateKeys } from './keys.js';
import type { RedisClient } from './redisConnection.js';
import { checkDropReply, toWriteResult, type ScriptReply } from './scriptResult.js';
import { lifetimeOf } from './lifetime.js';
import { encodeState, publishedMessage } from './stateCodec.js';

// Read at module load, next to this file (the build must copy src/state/lua/ beside the output).
export function loadLua(fileName: string): string {
  return readFileSync(new URL(`./lua/${fileName}`, import.meta.url), 'utf8');
}

/** Every write script starts with the not-after check it calls first (Lua has no imports). */
const NOT_AFTER = loadLua('not-after.lua');
function loadWriteScript(fileName: string): string {
  return `${NOT_AFTER}\n${loadLua(fileName)}`;
}

const SCRIPTS = {
  skSaveSession: { numberOfKeys: 5, lua: loadWriteScript('save-session-5.lua') },
  skRemoveSession: {
    numberOfKeys: 4 + SESSION_STATUSES.length,
    lua: loadWriteScript('remove-session-10.lua'),
  },
  skRestoreSession: { numberOfKeys: 4, lua: loadWriteScript('restore-session-4.lua') },
  skDropStaleDeadline: { numberOfKeys: 2, lua: loadWriteScript('drop-stale-deadline-2.lua') },
  skDropStaleListing: {
    numberOfKeys: 1 + SESSION_STATUSES.length,
    lua: loadWriteScript('drop-stale-listing-7.lua'),
  },
} as const;

/** The commands defineCommand adds at runtime (ioredis cannot type them). */
interface ScriptCommands {
  skSaveSession(...keysAndArgs: string[]): Promise<ScriptReply>;
  skRemoveSession(...keysAndArgs: string[]): Promise<ScriptReply>;
  skRestoreSession(...keysAndArgs: string[]): Promise<ScriptReply>;
  skDropStaleDeadline(...keysAndArgs: string[]): Promise<ScriptReply>;
  skDropStaleListing(...keysAndArgs: string[]): Promise<ScriptReply>;
}

/**
 * Registers the scripts on a connection. defineCommand sends EVALSHA and falls back to EVAL
 * on NOSCRIPT, so the scripts survive a Redis restart or a SCRIPT FLUSH.
 */
export function defineStateScripts(redis: RedisClient): ScriptCommands {
  for (const [name, definition] of Object.entries(SCRIPTS)) {
    if (!(name in redis.scriptsSet)) redis.defineCommand(name, definition);
  }
  return redis as unknown as ScriptCommands;
}

/** The status indexes of the session's bucket, every status: a removal leaves them all. */
function indexKeys(keys: StateKeys, sessionId: string): string[] {
  return SESSION_STATUSES.map((status) => keys.sessionIndexOf(sessionId, status));
}

// Each write script takes `notAfterMs` (Redis TIME, ms) first and refuses to run after it.

export async function saveSessionScript(
  commands: ScriptCommands,
  keys: StateKeys,
  write: SessionWrite,
  notAfterMs: number,
): Promise<WriteResult> {
  const { sessionId, version, status } = write.state;
  const reply = await commands.skSaveSession(
    keys.session(sessionId),
    keys.deadlinesOf(sessionId),
    keys.auditLogOf(sessionId),
    keys.sessionIndexOf(sessionId, status),
    keys.sessionIndexOf(sessionId, write.previousStatus ?? status),
    String(notAfterMs),
    String(write.expectedVersion),
    String(version),
    encodeState(write.state),
    String(write.ttlMs ?? -1),
    write.deadlineAtMs === null ? '' : String(write.deadlineAtMs),
    keys.updatesChannel(sessionId),
    sessionId,
    ...(write.auditRecords ?? []),
  );
  return toWriteResult(reply, notAfterMs);
}

export interface RemoveArgs {
  state: SessionState;
  expectedVersion: number;
  auditRecords: readonly string[];
  /** How long the removal mark keeps the removed lifetime from being restored. */
  removalMarkTtlMs: number;
}

export async function removeSessionScript(
  commands: ScriptCommands,
  keys: StateKeys,
  remove: RemoveArgs,
  notAfterMs: number,
): Promise<WriteResult> {
  const { state } = remove;
  const { sessionId } = state;
  const reply = await commands.skRemoveSession(
    keys.session(sessionId),
    keys.deadlinesOf(sessionId),
    keys.auditLogOf(sessionId),
    keys.removalMark(sessionId),
    ...indexKeys(keys, sessionId),
    String(notAfterMs),
    String(remove.expectedVersion),
    publishedMessage(state.version, encodeState(state)),
    keys.updatesChannel(sessionId),
    sessionId,
    lifetimeOf(state),
    String(remove.removalMarkTtlMs),
    ...remove.auditRecords,
  );
  return toWriteResult(reply, notAfterMs);
}

/** restore-session-4.lua: writes only if the session is absent and its lifetime was not removed. */
export async function restoreSessionScript(
  commands: ScriptCommands,
  keys: StateKeys,
  write: RestoreWrite,
  notAfterMs: number,
): Promise<WriteResult> {
  const { sessionId, version, status } = write.state;
  const reply = await commands.skRestoreSession(
    keys.session(sessionId),
    keys.deadlinesOf(sessionId),
    keys.removalMark(sessionId),
    keys.sessionIndexOf(sessionId, status),
    String(notAfterMs),
    String(version),
    encodeState(write.state),
    String(write.ttlMs ?? -1),
    write.deadlineAtMs === null ? '' : String(write.deadlineAtMs),
    keys.updatesChannel(sessionId),
    sessionId,
    lifetimeOf(write.state),
  );
  return toWriteResult(reply, notAfterMs);
}

export async function dropStaleDeadlineScript(
  commands: ScriptCommands,
  keys: StateKeys,
  sessionId: string,
  notAfterMs: number,
): Promise<void> {
  const reply = await commands.skDropStaleDeadline(
    keys.session(sessionId),
    keys.deadlinesOf(sessionId),
    String(notAfterMs),
    sessionId,
  );
  checkDropReply(reply, notAfterMs);
}

/** drop-stale-listing-7.lua: takes the id out of the status indexes only if the session is gone. */
export async function dropStaleListingScript(
  commands: ScriptCommands,
  keys: StateKeys,
  sessionId: string,
  notAfterMs: number,
): Promise<void> {
  const reply = await commands.skDropStaleListing(
    keys.session(sessionId),
    ...indexKeys(keys, sessionId),
    String(notAfterMs),
    sessionId,
  );
  checkDropReply(reply, notAfterMs);
}
