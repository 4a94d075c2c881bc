-- Takes the next job whose host may start a request now, with a lease on it; first puts
-- back the jobs of expired leases. Hosts are served round-robin from the rotation list,
-- which holds each host with queued jobs once.
-- ARGV: prefix, lease id prefix, per-host limit, probe first (1/0), default gap (ms),
--       lease time (ms), hosts to look at, at most.
-- Returns {'job', lease id, job, queued, leased} or {'wait' | 'busy', ms, queued, leased}.
local p = ARGV[1]
local per_host = tonumber(ARGV[3])
local probe_first = ARGV[4] == '1'
local default_gap = tonumber(ARGV[5])
local lease_ms = tonumber(ARGV[6])
local max_scan = tonumber(ARGV[7])
local now = now_ms()

for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'leases', '-inf', now, 'LIMIT', 0, 64)) do
  requeue(p, id)
  redis.call('HINCRBY', p .. 'stats', 'leases_expired', 1)
end

local earliest = -1
local rotating = redis.call('LLEN', p .. 'hosts')
for _ = 1, math.min(rotating, max_scan) do
  local host = redis.call('LPOP', p .. 'hosts')
  local key = p .. 'host:' .. host
  local state = redis.call('HMGET', key, 'inflight', 'last', 'gap', 'probed')
  local inflight = tonumber(state[1]) or 0
  local gap = tonumber(state[3]) or default_gap
  local limit = per_host
  if probe_first and not state[4] then
    limit = 1
  end
  local at = 0
  if state[2] then
    at = tonumber(state[2]) + gap
  end
  if inflight >= limit or at > now then
    if inflight < limit and (earliest < 0 or at < earliest) then
      earliest = at
    end
    redis.call('RPUSH', p .. 'hosts', host)
  else
    local job = redis.call('LPOP', p .. 'q:' .. host)
    redis.call('HSET', key, 'inflight', inflight + 1, 'last', now)
    if redis.call('LLEN', p .. 'q:' .. host) > 0 then
      redis.call('RPUSH', p .. 'hosts', host)
    end
    local id = ARGV[2] .. ':' .. redis.call('HINCRBY', p .. 'stats', 'lease_seq', 1)
    redis.call('ZADD', p .. 'leases', now + lease_ms, id)
    redis.call('HSET', p .. 'leased', id, job)
    local queued = redis.call('HINCRBY', p .. 'stats', 'queued', -1)
    return {'job', id, job, queued, redis.call('ZCARD', p .. 'leases')}
  end
end

local queued = tonumber(redis.call('HGET', p .. 'stats', 'queued')) or 0
local leased = redis.call('ZCARD', p .. 'leases')
if earliest >= 0 then
  return {'wait', earliest - now, queued, leased}
end
return {'busy', 0, queued, leased}
