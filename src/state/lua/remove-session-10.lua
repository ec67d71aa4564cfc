--[[
  Compare-and-set removal of one session (after a cancel), with the final state broadcast. It
  leaves a short-lived mark naming the removed lifetime, so that restore-session-4.lua never
  brings it back from an audit trail that has not yet heard of the removal.

    Input:
      KEYS[1] session                 ('sk:{b7}:s:<sessionId>', a string: '<version>|<stateJson>')
      KEYS[2] deadline index          ('sk:{b7}:deadlines', the session's bucket: score deadlineAtMs, member sessionId)
      KEYS[3] audit log               ('sk:{b7}:audit', the session's bucket: a stream; one entry per version, field 'r')
      KEYS[4] removal mark            ('sk:{b7}:s:<sessionId>:gone', a string: the removed lifetime)
      KEYS[5..10] status indexes      ('sk:{b7}:ids:<status>', one per status: the id leaves them all,
                                       so no caller needs to know the stored status of a removal)

      ARGV[1] notAfterMs              (Redis TIME in ms after which the write must not happen)
      ARGV[2] expectedVersion
      ARGV[3] finalMessage            ('<version>|<finalStateJson>', published to the session's watchers)
      ARGV[4] channel                 (the session's updates channel, in the keys' slot: sharded pub/sub)
      ARGV[5] sessionId               (the member in the deadline and status indexes)
      ARGV[6] lifetime                (the removed session's lifetime, kept in the removal mark)
      ARGV[7] markTtlMs               (how long the removal mark is kept)
      ARGV[8..] auditRecords          (JSON, one per version this removal makes, oldest first)

    Output:
       1        removed and published
      -1        not found
      {-2, v}   version conflict, v = the stored version
      {-4, t}   too late: Redis TIME t is past notAfterMs; nothing changed
]]
local sessionKey = KEYS[1]
local deadlineKey = KEYS[2]

-- Before anything else: a write its caller gave up on never lands (not-after.lua).
local refused = tooLate()
if refused then
  return refused
end

local storedVersion = string.match(redis.call("GETRANGE", sessionKey, 0, 19), "^(%d+)|")
if not storedVersion then
  return -1
end
storedVersion = tonumber(storedVersion)
if storedVersion ~= tonumber(ARGV[2]) then
  return {-2, storedVersion}
end

redis.call("DEL", sessionKey)
redis.call("ZREM", deadlineKey, ARGV[5])
for i = 5, #KEYS do
  redis.call("ZREM", KEYS[i], ARGV[5])
end
redis.call("SET", KEYS[4], ARGV[6], "PX", ARGV[7])
for i = 8, #ARGV do
  redis.call("XADD", KEYS[3], "*", "r", ARGV[i])
end
-- SPUBLISH: a Redis Cluster delivers it within the slot's shard, not to every node.
redis.call("SPUBLISH", ARGV[4], ARGV[3])
return 1
