import type { RedisClient } from './redisConnection.js';

export interface ScoredMember {
  member: string;
  score: number;
}

/**
 * The earliest `limit` members scored at or before `untilMs` over every bucket's sorted set
 * (a deadline or disconnect index), earliest first. One read per bucket (a cluster routes each to
 * its master; auto-pipelining batches them), each up to the limit, so the earliest `limit` of all
 * buckets are among them. A non-positive limit means nothing (to Redis it would mean no limit).
 */
export async function earliestInBuckets(
  redis: RedisClient,
  indexKeys: readonly string[],
  untilMs: number,
  limit: number,
): Promise<ScoredMember[]> {
  if (limit <= 0) return [];
  const perBucket = await Promise.all(
    indexKeys.map((key) => redis.zrangebyscore(key, '-inf', untilMs, 'WITHSCORES', 'LIMIT', 0, limit)),
  );
  const entries: ScoredMember[] = [];
  for (const flat of perBucket) {
    for (let i = 0; i + 1 < flat.length; i += 2)
      entries.push({ member: flat[i]!, score: Number(flat[i + 1]) });
  }
  entries.sort((a, b) => a.score - b.score);
  return entries.slice(0, limit);
}
