-- Helpers every script of the shared frontier starts with.

-- Redis's clock, in milliseconds: one clock for every worker.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Queues the jobs in ARGV from `first` on (seen bucket, fingerprint, host, job each) whose
-- URLs were not seen before; keeps the rotation holding each host with queued jobs once.
-- Returns how many were new.
local function queue_unseen(p, first)
  local new = 0
  for i = first, #ARGV, 4 do
    local bucket, fingerprint, host, job = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
    if redis.call('HSETNX', p .. 'seen:' .. bucket, fingerprint, '') == 1 then
      if redis.call('RPUSH', p .. 'q:' .. host, job) == 1 then
        redis.call('RPUSH', p .. 'hosts', host)
      end
      new = new + 1
    end
  end
  if new > 0 then
    redis.call('HINCRBY', p .. 'stats', 'queued', new)
  end
  return new
end

-- Puts the job of lease `id` back at the front of its host's queue and frees its host slot.
-- Returns whether the lease was still held.
local function requeue(p, id)
  if redis.call('ZREM', p .. 'leases', id) == 0 then
    return false
  end
  local job = redis.call('HGET', p .. 'leased', id)
  redis.call('HDEL', p .. 'leased', id)
  if job then
    local host = string.match(job, '^([^\t]*)')
    redis.call('HINCRBY', p .. 'host:' .. host, 'inflight', -1)
    if redis.call('LPUSH', p .. 'q:' .. host, job) == 1 then
      redis.call('RPUSH', p .. 'hosts', host)
    end
    redis.call('HINCRBY', p .. 'stats', 'queued', 1)
  end
  return true
end

-- Takes the next job whose host may start a request now, with a lease on it; first puts
-- back the jobs of expired leases. Hosts are served round-robin from the rotation list,
-- which holds each host with queued jobs once. ARGV from `from` on: lease id prefix,
-- per-host limit, probe first (1/0), default gap (ms), lease time (ms), hosts to look at.
-- Returns {'job', lease id, job, queued, leased} or {'wait' | 'busy', ms, queued, leased}.
local function take(p, from)
  local per_host = tonumber(ARGV[from + 1])
  local probe_first = ARGV[from + 2] == '1'
  local default_gap = tonumber(ARGV[from + 3])
  local lease_ms = tonumber(ARGV[from + 4])
  local max_scan = tonumber(ARGV[from + 5])
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
      -- The host's last request start is set when the request is sent (turn.lua).
      redis.call('HSET', key, 'inflight', inflight + 1)
      if redis.call('LLEN', p .. 'q:' .. host) > 0 then
        redis.call('RPUSH', p .. 'hosts', host)
      end
      local id = ARGV[from] .. ':' .. redis.call('HINCRBY', p .. 'stats', 'lease_seq', 1)
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
end
