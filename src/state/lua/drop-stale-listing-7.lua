--[[
  Drops a session's entries from the status indexes when the session itself is gone (its TTL
  ran out), as a list read finds it: checked and removed in one script, so no writer can
  recreate the session in between. A live session is untouched.

    Input:
      KEYS[1] session                 ('sk:{b7}:s:<sessionId>')
      KEYS[2..7] status indexes       ('sk:{b7}:ids:<status>', the session's bucket, one per status)

      ARGV[1] notAfterMs              (Redis TIME in ms after which the write must not happen)
      ARGV[2] sessionId               (the member in the indexes)

    Output:
       1        the session is gone; its id is in none of the indexes
       0        the session exists; nothing changed
      {-4, t}   too late: Redis TIME t is past notAfterMs; nothing changed
]]

-- Before anything else: a write its caller gave up on never lands (not-after.lua).
local refused = tooLate()
if refused then
  return refused
end

if redis.call("EXISTS", KEYS[1]) == 1 then
  return 0
end
for i = 2, #KEYS do
  redis.call("ZREM", KEYS[i], ARGV[2])
end
return 1
