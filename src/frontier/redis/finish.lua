-- A job ended and its records are flushed: releases its lease and its host's slot, applies
-- what it learned of the host, counts it, and queues the links it found (as push.lua).
-- With take = 1, then takes the next job for the same worker in the same call.
-- ARGV: prefix, lease id, host, ms since its last request (-1: none), Crawl-delay (ms, 0:
--       none), default gap (ms), outcome, links, depth, worker, take (1/0), take's six
--       arguments, then the children as in push.lua.
-- Returns {children new, then take's answer, if asked}.
local p = ARGV[1]
local id, host = ARGV[2], ARGV[3]
local ago, delay, default_gap = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local outcome, links, depth, worker = ARGV[7], tonumber(ARGV[8]), ARGV[9], ARGV[10]
local now = now_ms()
local key = p .. 'host:' .. host

if redis.call('ZREM', p .. 'leases', id) == 1 then
  redis.call('HDEL', p .. 'leased', id)
  redis.call('HINCRBY', key, 'inflight', -1)
  redis.call('HINCRBY', p .. 'stats', outcome, 1)
  redis.call('HINCRBY', p .. 'stats', 'links', links)
  redis.call('HINCRBY', p .. 'workers', worker, 1)
  if outcome ~= 'robots' then
    redis.call('HINCRBY', p .. 'depths', depth, 1)
    redis.call('SADD', p .. 'hostset', host)
  end
else
  -- The lease expired and the job went back to the queue: it may be written twice.
  redis.call('HINCRBY', p .. 'stats', 'late_acks', 1)
end
redis.call('HSET', key, 'probed', 1)
if ago >= 0 then
  local sent = now - ago
  if sent > (tonumber(redis.call('HGET', key, 'last')) or 0) then
    redis.call('HSET', key, 'last', sent)
  end
end
if delay > (tonumber(redis.call('HGET', key, 'gap')) or default_gap) then
  redis.call('HSET', key, 'gap', delay)
end

local answer = {queue_unseen(p, 18)}
if ARGV[11] == '1' then
  for _, value in ipairs(take(p, 12)) do
    table.insert(answer, value)
  end
end
return answer
