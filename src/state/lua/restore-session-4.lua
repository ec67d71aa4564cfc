--[[
  Restores a session Redis lost (a flush, a failover) from its last audited state: written only
  if no session is stored and this lifetime was not removed here, so of several instances
  racing to restore it one writes and the others find it stored. The version is the audited
  one: the next change goes on from it. No audit record: the audit trail already has it.

    Input:
      KEYS[1] session                 ('sk:{b7}:s:<sessionId>', a string: '<version>|<stateJson>')
      KEYS[2] deadline index          ('sk:{b7}:deadlines', the session's bucket)
      KEYS[3] removal mark            ('sk:{b7}:s:<sessionId>:gone', left by remove-session-10.lua)
      KEYS[4] status index            ('sk:{b7}:ids:<status>', the session's bucket and restored status)

      ARGV[1] notAfterMs              (Redis TIME in ms after which the write must not happen)
      ARGV[2] version
      ARGV[3] stateJson
      ARGV[4] ttlMs                   (-1: no TTL)
      ARGV[5] deadlineAtMs            ('': no deadline)
      ARGV[6] channel                 (the session's updates channel)
      ARGV[7] sessionId               (the member in the deadline and status indexes)
      ARGV[8] lifetime                (the restored lifetime; refused if the removal mark names it)

    Output:
       1        restored and published
      -1        this lifetime was removed (the audit trail has not caught up): nothing to restore
      -3        a session is stored: nothing changed
      {-4, t}   too late: Redis TIME t is past notAfterMs; nothing changed
]]
local sessionKey = KEYS[1]

-- Before anything else: a write its caller gave up on never lands (not-after.lua).
local refused = tooLate()
if refused then
  return refused
end

if redis.call("EXISTS", sessionKey) == 1 then
  return -3
end
if redis.call("GET", KEYS[3]) == ARGV[8] then
  return -1
end

local value = ARGV[2] .. "|" .. ARGV[3]
local ttlMs = tonumber(ARGV[4])
if ttlMs < 0 then
  redis.call("SET", sessionKey, value)
else
  redis.call("SET", sessionKey, value, "PX", ttlMs)
end
if ARGV[5] ~= "" then
  redis.call("ZADD", KEYS[2], ARGV[5], ARGV[7])
end
redis.call("ZADD", KEYS[4], 0, ARGV[7])
-- Published as saves publish: the stored value.
redis.call("SPUBLISH", ARGV[6], value)
return 1
