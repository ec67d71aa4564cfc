--[[
  Drops a session's deadline index entry when the session itself is gone (its TTL ran out or
  its key was deleted), so a stale entry never clogs the index. A live session is untouched:
  checked and removed in one script, no writer can recreate the session in between.

    Input:
      KEYS[1] session                 ('sk:{sessionId}')
      KEYS[2] deadline index          ('sk:deadlines', score deadlineAtMs, member sessionId)

      ARGV[1] sessionId               (the member in the deadline index)

    Output:
       1        the session is gone; its entry (if any) is no longer in the index
       0        the session exists; nothing changed
]]
local sessionKey = KEYS[1]
local deadlineKey = KEYS[2]

if redis.call("EXISTS", sessionKey) == 1 then
  return 0
end
redis.call("ZREM", deadlineKey, ARGV[1])
return 1
