--[[
  Compare-and-set removal of one session (after a cancel), with the final state broadcast.

    Input:
      KEYS[1] session                 ('sk:{sessionId}', a string: '<version>|<stateJson>')
      KEYS[2] deadline index          ('sk:deadlines', score deadlineAtMs, member sessionId)
      KEYS[3] audit log               ('sk:audit', a stream; one entry per version, field 'r')

      ARGV[1] expectedVersion
      ARGV[2] finalStateJson          (published to the session's watchers)
      ARGV[3] channel                 (the session's updates channel)
      ARGV[4] sessionId               (the member in the deadline index)
      ARGV[5..] auditRecords          (JSON, one per version this removal makes, oldest first)

    Output:
       1        removed and published
      -1        not found
      {-2, v}   version conflict, v = the stored version
]]
local sessionKey = KEYS[1]
local deadlineKey = KEYS[2]

local storedVersion = string.match(redis.call("GETRANGE", sessionKey, 0, 19), "^(%d+)|")
if not storedVersion then
  return -1
end
storedVersion = tonumber(storedVersion)
if storedVersion ~= tonumber(ARGV[1]) then
  return {-2, storedVersion}
end

redis.call("DEL", sessionKey)
redis.call("ZREM", deadlineKey, ARGV[4])
for i = 5, #ARGV do
  redis.call("XADD", KEYS[3], "*", "r", ARGV[i])
end
redis.call("PUBLISH", ARGV[3], ARGV[2])
return 1
