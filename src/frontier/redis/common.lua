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

