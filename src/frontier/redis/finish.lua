-- A job ended and its records are flushed: releases its lease and its host's slot, applies
-- what this worker learned of the host's pace, counts the page, and queues the links it
-- found that belong to this partition (as push.lua; the worker pushed the others to their
-- partitions before this call). With take = 1, then takes the next job of this partition for
-- the same worker in the same call.
-- KEYS: the partition's epoch key (see common.lua).
-- ARGV: prefix, epoch, call id, worker, lease id, host, ms since the host's last request
--       (-1: none), Crawl-delay (ms, 0: none), default gap (ms), outcome, links, depth,
--       take (1/0), take's seven arguments, then the children as in push.lua.
-- Returns {children new, version, then take's answer, if asked}.
local p, call, worker = ARGV[1], ARGV[3], ARGV[4]
local early = first_checks(p, ARGV[2], worker, call)
if early then
  return early
end
local id, host = ARGV[5], ARGV[6]
local ago, delay, default_gap = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local outcome, links, depth = ARGV[10], tonumber(ARGV[11]), ARGV[12]
local now = now_ms()
local key = p .. 'host:' .. host
local stats = p .. 'stats'

local leased = release(p, id)
if leased then
  redis.call('HDEL', p .. 'stalls', leased)
  redis.call('HINCRBY', stats, outcome, 1)
  redis.call('HINCRBY', stats, 'links', links)
  redis.call('HINCRBY', p .. 'workers', worker, 1)
  if outcome ~= 'robots' then
    redis.call('HINCRBY', p .. 'depths', depth, 1)
    redis.call('SADD', p .. 'hostset', host)
  end
else
  -- The lease expired (or its worker was taken for dead) and the job went back to the
  -- queue: it may be written twice.
  redis.call('HINCRBY', stats, 'late_acks', 1)
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

local new = queue_unseen(p, 21)
local answer = {new, version(p)}
if ARGV[13] == '1' then
  for _, value in ipairs(take(p, 14)) do
    table.insert(answer, value)
  end
end
return keep(p, worker, call, answer)
