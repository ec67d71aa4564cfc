--[[
  An instance's last connection of a participant closed: drops its lease and, if no other
  instance holds a lease beyond now, makes the participant's disconnect entry due a grace from
  now (earlier than the renewals had pushed it). Leases already run out are cleared on the way.

    Input:
      KEYS[1] presence                ('sk:{b7}:s:<sessionId>:presence')
      KEYS[2] disconnect index        ('sk:{b7}:disconnects')

      ARGV[1] field                   ('<participantId>|<instanceId>')
      ARGV[2] participant prefix      ('<participantId>|')
      ARGV[3] nowMs
      ARGV[4] member                  ('<sessionId>|<participantId>')
      ARGV[5] dueAtMs                 (nowMs + graceMs)

    Output:
      1   the participant is gone here and elsewhere: its entry is due at dueAtMs
      0   another instance still holds a lease: the entry is left as it is
]]
redis.call("HDEL", KEYS[1], ARGV[1])
local prefix = ARGV[2]
local nowMs = tonumber(ARGV[3])
local fields = redis.call("HGETALL", KEYS[1])
local held = false
for i = 1, #fields, 2 do
  local field = fields[i]
  if string.sub(field, 1, #prefix) == prefix then
    if tonumber(fields[i + 1]) > nowMs then
      held = true
    else
      redis.call("HDEL", KEYS[1], field)
    end
  end
end
if held then
  return 0
end
redis.call("ZADD", KEYS[2], ARGV[5], ARGV[4])
return 1
