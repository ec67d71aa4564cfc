--[[
  Settles a disconnect entry the sweep looked at, only if nobody moved it since (a renewal, a
  release, another instance's sweep): removes it, or moves it to a later instant.

    Input:
      KEYS[1] disconnect index        ('sk:{b7}:disconnects')

      ARGV[1] member                  ('<sessionId>|<participantId>')
      ARGV[2] expectedDueAtMs         (the score the sweep read)
      ARGV[3] nextDueAtMs             ('' removes the entry)

    Output:
      1   settled
      0   the entry is gone or was moved: nothing changed
]]
local score = redis.call("ZSCORE", KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then
  return 0
end
if ARGV[3] == "" then
  redis.call("ZREM", KEYS[1], ARGV[1])
else
  redis.call("ZADD", KEYS[1], ARGV[3], ARGV[1])
end
return 1
