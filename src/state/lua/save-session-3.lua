--[[
  Compare-and-set write of one session: its state, its TTL, its deadline, its audit records
  and its broadcast, all or nothing.

    Input:
      KEYS[1] session                 ('sk:{sessionId}', a string: '<version>|<stateJson>')
      KEYS[2] deadline index          ('sk:deadlines', score deadlineAtMs, member sessionId)
      KEYS[3] audit log               ('sk:audit', a stream; one entry per version, field 'r')

      ARGV[1] expectedVersion         (0: the session must not exist yet)
      ARGV[2] newVersion
      ARGV[3] stateJson
      ARGV[4] ttlMs                   (-1: no TTL, the key is persisted)
      ARGV[5] deadlineAtMs            ('': no deadline, the session leaves the index)
      ARGV[6] channel                 (the session's updates channel)
      ARGV[7] sessionId               (the member in the deadline index)
      ARGV[8..] auditRecords          (JSON, one per version this write makes, oldest first)

    Output:
       1        saved and published
      -1        not found (expectedVersion > 0 and no session)
      {-2, v}   version conflict, v = the stored version
      -3        exists (expectedVersion 0 and a session is stored)
]]
local sessionKey = KEYS[1]
local deadlineKey = KEYS[2]

-- The version is the value's prefix; reading only the head keeps the check cheap.
local storedVersion = string.match(redis.call("GETRANGE", sessionKey, 0, 19), "^(%d+)|")
local expectedVersion = tonumber(ARGV[1])

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
local value = ARGV[2] .. "|" .. ARGV[3]
local ttlMs = tonumber(ARGV[4])
if ttlMs < 0 then
  redis.call("SET", sessionKey, value)
else
  redis.call("SET", sessionKey, value, "PX", ttlMs)
end

if ARGV[5] == "" then
  redis.call("ZREM", deadlineKey, ARGV[7])
else
  redis.call("ZADD", deadlineKey, ARGV[5], ARGV[7])
end

for i = 8, #ARGV do
  redis.call("XADD", KEYS[3], "*", "r", ARGV[i])
end

redis.call("PUBLISH", ARGV[6], ARGV[3])
return 1
