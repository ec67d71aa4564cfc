import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisPresenceStore } from '../../src/state/RedisPresenceStore.js';
import { stateKeys } from '../../src/state/keys.js';
import { connectRedis, createRedisConnection } from '../../src/state/redisConnection.js';
import { presenceStoreContract } from '../contract/presenceStore.contract.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';

let server: RedisServerHandle;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.close();
});

async function connect() {
  const redis = createRedisConnection(server.url, { connectionName: 'presenceStore-test' });
  await connectRedis(redis);
  return redis;
}

presenceStoreContract('redis', async () => {
  const redis = await connect();
  const store = new RedisPresenceStore(redis, { keyPrefix: `test-${randomUUID().slice(0, 8)}:` });
  return {
    store,
    async cleanup() {
      await store.close();
      await redis.quit();
    },
  };
});

describe('RedisPresenceStore specifics', () => {
  it("keeps a session's presence and its disconnect entry in the session's slot, the hash expiring", async () => {
    const redis = await connect();
    const keyPrefix = `test-${randomUUID().slice(0, 8)}:`;
    const keys = stateKeys(keyPrefix);
    const store = new RedisPresenceStore(redis, { keyPrefix });
    const sessionId = `s-${randomUUID()}`;
    await store.renew(sessionId, 'alice', 'i1', Date.now() + 3000, 500);
    const tag = `{b${keys.bucketOf(sessionId)}}`;
    expect(keys.presence(sessionId)).toContain(tag);
    expect(keys.disconnectsOf(sessionId)).toContain(tag);
    expect(await redis.hkeys(keys.presence(sessionId))).toEqual(['alice|i1']);
    const ttlMs = await redis.pttl(keys.presence(sessionId));
    expect(ttlMs).toBeGreaterThan(3500);
    expect(await redis.zrange(keys.disconnectsOf(sessionId), 0, -1)).toEqual([`${sessionId}|alice`]);
    await redis.quit();
  });
});
