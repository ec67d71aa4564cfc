// createClient(): the REST API with the service's own types, for what a socket is not for —
// creating sessions, reading one once, the server's time.
import type { CreateSessionInput, SessionStatus, SessionView } from './wire/session.js';
import { fromErrorBody, SyncKairosApiError } from './errors.js';
import { oneClockBody, type CommandOptions, type OneClockOptions, type SwitchOptions } from './connect.js';

export interface ClientOptions {
  /** The service's base URL, e.g. `https://timers.example.com`. */
  url: string;
  /** A JWT, sent as `Authorization: Bearer …`. */
  token?: string;
  /** A fetch implementation; default the global one. */
  fetch?: typeof fetch;
}

export interface SyncKairosClient {
  createSession(input: CreateSessionInput): Promise<SessionView>;
  getSession(sessionId: string): Promise<SessionView>;
  /**
   * `POST /v1/sessions/batch`: up to 500 sessions, all created or none; with `startAt` every one
   * starts at that server time. The states come back in the order given.
   */
  createSessions(sessions: CreateSessionInput[], options?: { startAt?: number }): Promise<SessionView[]>;
  /** Admins only, `GET /v1/sessions`: a page of sessions by id; pass `nextCursor` back for the next. */
  listSessions(options?: {
    status?: SessionStatus;
    limit?: number;
    cursor?: string;
  }): Promise<{ sessions: SessionView[]; nextCursor: string | null }>;
  start(sessionId: string, options?: CommandOptions & { startAt?: number }): Promise<SessionView>;
  /**
   * The turn to the next participant in order; `nextParticipantId` (admins only) names another.
   * In a cue list, the next cue; `nextCycleIndex` (admins only) names a later one.
   */
  switch(sessionId: string, options?: CommandOptions & SwitchOptions): Promise<SessionView>;
  pause(sessionId: string, options?: OneClockOptions): Promise<SessionView>;
  resume(sessionId: string, options?: OneClockOptions): Promise<SessionView>;
  complete(sessionId: string, options?: OneClockOptions): Promise<SessionView>;
  adjust(
    sessionId: string,
    options: CommandOptions & { deltaMs: number; participantId?: string; groupId?: string },
  ): Promise<SessionView>;
  /** Admins only: back to pending with the clocks the session was created with. */
  reset(sessionId: string, options?: CommandOptions): Promise<SessionView>;
  /** Cancels and removes the session. */
  deleteSession(sessionId: string, options?: CommandOptions): Promise<void>;
  /** `GET /v1/time`: the server's clock (one sample; connect() does the careful sync). */
  getServerTime(): Promise<number>;
}

export function createClient(options: ClientOptions): SyncKairosClient {
  const base = options.url.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);

  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    let response: Response;
    try {
      response = await fetchImpl(`${base}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new SyncKairosApiError('NETWORK_ERROR', `${method} ${path} failed: ${String(err)}`, {
        cause: err,
      });
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (response.ok && parsed !== undefined) return parsed as T;
    throw (
      fromErrorBody(parsed, response.status) ??
      new SyncKairosApiError(
        'BAD_RESPONSE',
        `${method} ${path} answered ${response.status} without an API body`,
        {
          status: response.status,
          details: text.slice(0, 200),
        },
      )
    );
  }

  const sessionPath = (sessionId: string): string => `/v1/sessions/${encodeURIComponent(sessionId)}`;
  const command = (sessionId: string, name: string, body: Record<string, unknown>): Promise<SessionView> =>
    request<SessionView>('POST', `${sessionPath(sessionId)}/${name}`, body);

  return {
    createSession: (input) => request<SessionView>('POST', '/v1/sessions', input),
    getSession: (sessionId) => request<SessionView>('GET', sessionPath(sessionId)),
    createSessions: async (sessions, opts = {}) =>
      (
        await request<{ sessions: SessionView[] }>('POST', '/v1/sessions/batch', {
          sessions,
          start_at: opts.startAt,
        })
      ).sessions,
    listSessions: async (opts = {}) => {
      const query = new URLSearchParams();
      if (opts.status !== undefined) query.set('status', opts.status);
      if (opts.limit !== undefined) query.set('limit', String(opts.limit));
      if (opts.cursor !== undefined) query.set('cursor', opts.cursor);
      const search = query.toString() === '' ? '' : `?${query.toString()}`;
      const page = await request<{ sessions: SessionView[]; next_cursor: string | null }>(
        'GET',
        `/v1/sessions${search}`,
      );
      return { sessions: page.sessions, nextCursor: page.next_cursor };
    },
    start: (sessionId, opts = {}) =>
      command(sessionId, 'start', { expected_version: opts.expectedVersion, start_at: opts.startAt }),
    switch: (sessionId, opts = {}) =>
      command(sessionId, 'switch', {
        expected_version: opts.expectedVersion,
        next_participant_id: opts.nextParticipantId,
        next_cycle_index: opts.nextCycleIndex,
      }),
    pause: (sessionId, opts = {}) => command(sessionId, 'pause', oneClockBody(opts)),
    resume: (sessionId, opts = {}) => command(sessionId, 'resume', oneClockBody(opts)),
    complete: (sessionId, opts = {}) => command(sessionId, 'complete', oneClockBody(opts)),
    adjust: (sessionId, opts) =>
      command(sessionId, 'adjust', {
        expected_version: opts.expectedVersion,
        delta_ms: opts.deltaMs,
        participant_id: opts.participantId,
        group_id: opts.groupId,
      }),
    reset: (sessionId, opts = {}) => command(sessionId, 'reset', { expected_version: opts.expectedVersion }),
    deleteSession: (sessionId, opts = {}) =>
      request<void>(
        'DELETE',
        opts.expectedVersion === undefined
          ? sessionPath(sessionId)
          : `${sessionPath(sessionId)}?expected_version=${opts.expectedVersion}`,
      ),
    getServerTime: async () => (await request<{ server_time: number }>('GET', '/v1/time')).server_time,
  };
}
