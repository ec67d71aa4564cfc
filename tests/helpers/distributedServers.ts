// A private Redis and PostgreSQL for the service processes of one e2e file: started by the test
// that needs them, stopped after the file with every service it started.
import { afterAll } from 'vitest';
import { startPostgresServer, type PostgresServerHandle } from './postgresServer.js';
import { startRedisServer, type RedisServerHandle } from './redisServer.js';
import { stopAllServices } from './serviceProcess.js';

export interface DistributedServers {
  redis: RedisServerHandle;
  postgres: PostgresServerHandle;
  /** What an instance needs to run on them: REDIS_URL and a fresh database's DATABASE_URL. */
  env: { REDIS_URL: string; DATABASE_URL: string };
}

/** Call at describe level; each call of the function it returns starts a pair. */
export function distributedServers(): () => Promise<DistributedServers> {
  const started: Array<RedisServerHandle | PostgresServerHandle> = [];
  afterAll(async () => {
    await stopAllServices();
    for (const server of started.splice(0)) await server.close();
  });
  return async () => {
    const redis = await startRedisServer();
    started.push(redis);
    const postgres = await startPostgresServer();
    started.push(postgres);
    return { redis, postgres, env: { REDIS_URL: redis.url, DATABASE_URL: await postgres.createDatabase() } };
  };
}
