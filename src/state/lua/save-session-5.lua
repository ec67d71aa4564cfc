--[[
  Compare-and-set write of one session: its state, its TTL, its deadline, its audit records
  and its broadcast, all or nothing.

    Input:
      KEYS[1] session                 ('sk:{b7}:s:<sessionId>', a string: '<version>|<stateJson>')
      KEYS[2] deadline index          ('sk:{b7}:deadlines', the session's bucket: score deadlineAtMs, member sessionId)
      KEYS[3] audit log               ('sk:{b7}:audit', the session's bucket: a stream; one entry per version, field 'r')
      KEYS[4] status index            ('sk:{b7}:ids:<status>', the session's bucket and new status: score 0, member sessionId)
      KEYS[5] previous status index   (the stored version's status index; KEYS[4] when creating)

      ARGV[1] notAfterMs              (Redis TIME in ms after which the write must not happen)
      ARGV[2] expectedVersion         (0: the session must not exist yet)
      ARGV[3] newVersion
      ARGV[4] stateJson
      ARGV[5] ttlMs                   (-1: no TTL, the key is persisted)
      ARGV[6] deadlineAtMs            ('': no deadline, the session leaves the index)
      ARGV[7] channel                 (the session's updates channel, in the keys' slot: sharded pub/sub)
      ARGV[8] sessionId               (the member in the deadline and status indexes)
      ARGV[9..] auditRecords          (JSON, one per version this write makes, oldest first)

    Output:
       1        saved and published
      -1        not found (expectedVersion > 0 and no session)
      {-2, v}   version conflict, v = the stored version
      -3        exists (expectedVersion 0 and a session is stored)
      {-4, t}   too late: Redis TIME t is past notAfterMs; nothing changed
]]
local sessionKey = KEYS[1]
local deadlineKey = KEYS[2]

-- Before anything else: a write its caller gave up on never lands (not-after.lua).
local refused = tooLate()
if refused then
  return refused
end

-- The version is the value's prefix; reading only the head keeps the check cheap.
local storedVersion = string.match(redis.call("GETRANGE", sessionKey, 0, 19), "^(%d+)|")
local expectedVersion = tonumber(ARGV[2])

if expectedVersion == 0 then
  if storedVersion then
    return -3
  end
else
  if not storedVersion then
    return -1
  end
  storedVersion = tonumber(storedVersion)
  if storedVersion ~= expectedVersion then
    return {-2, storedVersion}
  end
end

-- One string, not a hash: a ~700-byte state would push a hash out of Redis's compact
-- listpack encoding, and the string costs about 170 bytes less per session.
local value = ARGV[3] .. "|" .. ARGV[4]
local ttlMs = tonumber(ARGV[5])
if ttlMs < 0 then
  redis.call("SET", sessionKey, value)
else
  redis.call("SET", sessionKey, value, "PX", ttlMs)
end

if ARGV[6] == "" then
  redis.call("ZREM", deadlineKey, ARGV[8])
else
  redis.call("ZADD", deadlineKey, ARGV[6], ARGV[8])
end

-- The status indexes: a create adds the id, a change of status moves it, and a write that keeps
-- the status (most of them: a switch) costs the comparison of two key names.
if expectedVersion == 0 then
  redis.call("ZADD", KEYS[4], 0, ARGV[8])
elseif KEYS[4] ~= KEYS[5] then
  redis.call("ZREM", KEYS[5], ARGV[8])
  redis.call("ZADD", KEYS[4], 0, ARGV[8])
end

for i = 9, #ARGV do
  redis.call("XADD", KEYS[3], "*", "r", ARGV[i])
end

-- SPUBLISH: a Redis Cluster delivers it within the slot's shard, not to every node. The message
-- is the stored value, '<version>|<stateJson>': receivers learn the version without parsing.
redis.call("SPUBLISH", ARGV[7], value)
return 1
