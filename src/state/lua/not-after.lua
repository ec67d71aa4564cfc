--[[
  Put before every write script by src/state/scripts.ts, which takes its notAfterMs as ARGV[1].

  A write that reaches Redis after its not-after instant comes from a caller that has stopped
  waiting and answered STORE_UNAVAILABLE, so it must change nothing: each script calls this
  before anything else and returns its reply, {-4, t} with Redis TIME t, when there is one.
  TIME before writes is allowed: Redis 7 replicates a script's effects, not the script, so
  replicas and the AOF never run this check again.
]]
local function tooLate()
  local time = redis.call("TIME")
  local redisNowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  if redisNowMs > tonumber(ARGV[1]) then
    return {-4, redisNowMs}
  end
  return nil
end
