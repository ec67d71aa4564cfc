// The disconnect policy in embedded mode (the memory presence store): the same pause, and after a
// restart, when nobody can be connected yet, running sessions with the policy are re-armed.
import { afterEach, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { createLogger } from '../../src/monitoring/logger.js';
import type { SessionView } from '../../src/types/session.js';
import { testDataDir } from '../helpers/testDataDir.js';
import { signedToken } from '../helpers/tokens.js';
import { until } from '../helpers/until.js';
import { openSocket } from '../helpers/wsClient.js';

const SECRET = 'disconnect-policy-embedded-secret-0123456789';
const GRACE_MS = 1000;

const token = (claims: Record<string, unknown>): Promise<string> => signedToken(SECRET, claims);

const servers: RunningServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function start(dataDir: string): Promise<RunningServer> {
  const server = await startServer(
    loadConfig({ PORT: '0', HOST: '127.0.0.1', JWT_SECRET: SECRET, LOG_LEVEL: 'silent', DATA_DIR: dataDir }),
    { logger: createLogger({ logLevel: 'silent', nodeEnv: 'test' }) },
  );
  servers.push(server);
  return server;
}

async function call(
  server: RunningServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<SessionView> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${await token({ sub: 'td', role: 'admin' })}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await response.json()) as SessionView;
}

const duel = {
  session_id: 'duel',
  sync_mode: 'per_participant',
  participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
  total_time_ms: 600_000,
  on_disconnect: { grace_ms: GRACE_MS, action: 'pause' },
};

it('pauses a participant gone past the grace, and after a restart one that never came back', async () => {
  const dataDir = testDataDir();
  let server = await start(dataDir);
  await call(server, 'POST', '/v1/sessions', duel);
  const { version } = await call(server, 'POST', '/v1/sessions/duel/start');
  const white = await token({ sub: 'white', role: 'participant', session_id: 'duel' });
  const socket = await openSocket(`${server.url.replace('http', 'ws')}/v1/ws?session_id=duel&token=${white}`);
  await socket.nextState('duel');
  await socket.close();
  await until(
    async () => (await call(server, 'GET', '/v1/sessions/duel')).status === 'paused',
    10_000,
    'the pause',
  );
  expect(await call(server, 'GET', '/v1/sessions/duel')).toMatchObject({
    version: version + 1,
    pause_reason: 'disconnected',
    pause_participant_id: 'white',
  });

  // Running again, then a restart: nobody is connected to the new process.
  await call(server, 'POST', '/v1/sessions/duel/resume');
  await servers.splice(0)[0]?.close();
  server = await start(dataDir);
  await until(
    async () => (await call(server, 'GET', '/v1/sessions/duel')).status === 'paused',
    10_000,
    'the pause after the restart',
  );
  expect(await call(server, 'GET', '/v1/sessions/duel')).toMatchObject({
    version: version + 3,
    pause_participant_id: 'white',
  });
}, 30_000);
