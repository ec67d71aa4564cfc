--[[
  Drops a session's deadline index entry when the session itself is gone (its TTL ran out or
  its key was deleted), so a stale entry never clogs the index. A live session is untouched:
  checked and removed in one script, no writer can recreate the session in between.

    Input:
      KEYS[1] session                 ('sk:{b7}:s:<sessionId>')
      KEYS[2] deadline index          ('sk:{b7}:deadlines', the session's bucket: score deadlineAtMs, member sessionId)

      ARGV[1] notAfterMs              (Redis TIME in ms after which the write must not happen)
      ARGV[2] sessionId               (the member in the deadline index)

    Output:
       1        the session is gone; its entry (if any) is no longer in the index
       0        the session exists; nothing changed
      {-4, t}   too late: Redis TIME t is past notAfterMs; nothing changed
]]
local sessionKey = KEYS[1]
local deadlineKey = KEYS[2]

-- Before anything else: a write its caller gave up on never lands (not-after.lua).
local refused = tooLate()
if refused then
  return refused
end

if redis.call("EXISTS", sessionKey) == 1 then
  return 0
end
redis.call("ZREM", deadlineKey, ARGV[2])
return 1
