--[[
  Renews an instance's lease of a participant's presence in a session (disconnect policy), and
  pushes the participant's disconnect entry to at least the lease's end plus the grace.

    Input:
      KEYS[1] presence                ('sk:{b7}:s:<sessionId>:presence': field '<participantId>|<instanceId>', value leaseUntilMs)
      KEYS[2] disconnect index        ('sk:{b7}:disconnects': member '<sessionId>|<participantId>', score dueAtMs)

      ARGV[1] field                   ('<participantId>|<instanceId>')
      ARGV[2] leaseUntilMs
      ARGV[3] ttlMs                   (how long the presence hash outlives this renewal)
      ARGV[4] member                  ('<sessionId>|<participantId>')
      ARGV[5] dueAtMs                 (leaseUntilMs + graceMs)

    Output:
      1
]]
redis.call("HSET", KEYS[1], ARGV[1], ARGV[2])
redis.call("PEXPIRE", KEYS[1], ARGV[3])
-- GT: a renewal only moves the entry later; an earlier one (a slower instance) leaves it.
redis.call("ZADD", KEYS[2], "GT", ARGV[5], ARGV[4])
return 1
