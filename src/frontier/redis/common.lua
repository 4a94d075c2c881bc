-- Helpers every script of the shared frontier starts with.
--
-- Every script's KEYS[1] is the crawl's settings hash (`areq:{NAME}:settings`, which holds the
-- epoch): a Cluster sends the call to the node owning the crawl's slot by it, and every key a
-- script builds from the prefix shares its hash tag `{NAME}`, so it lives in that slot.
-- Every script's ARGV starts the same way: prefix (`areq:{NAME}:`), the crawl's epoch as the
-- worker joined it, and a call id ('' for none). The script then checks before it writes:
-- the crawl must still be the one joined (an emptied Redis is an error, never "done"), and
-- a call sent again after its reply was lost answers what it answered the first time.

if KEYS[1] ~= ARGV[1] .. 'settings' then
  return redis.error_reply('AREQ_KEYS KEYS[1] must be the settings key of the crawl at ARGV[1]')
end

-- Redis's clock, in milliseconds: one clock for every worker.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- An error reply unless the crawl at `p` is still the one joined at `epoch`: Redis restarted
-- without persistence, was flushed, failed over to an empty replica, or the crawl was
-- forgotten (and maybe made anew).
local function check_epoch(p, epoch)
  if redis.call('HGET', p .. 'settings', 'epoch') ~= epoch then
    return redis.error_reply('AREQ_GONE the crawl is no longer in this Redis '
      .. '(restarted without persistence, flushed, failed over or forgotten)')
  end
  return nil
end

-- The answer kept for call `call` of `worker`, if this call was made before (the worker sends
-- a call again when its reply was lost). A worker makes one call at a time, so one kept
-- answer per worker is enough.
local function replay(p, worker, call)
  if call == '' then
    return nil
  end
  local kept = redis.call('GET', p .. 'reply:' .. worker)
  if kept then
    local decoded = cjson.decode(kept)
    if decoded[1] == call then
      return decoded[2]
    end
  end
  return nil
end

-- Keeps `answer` as the answer to call `call` of `worker`, and returns it.
local function keep(p, worker, call, answer)
  if call ~= '' then
    redis.call('SET', p .. 'reply:' .. worker, cjson.encode({call, answer}), 'PX', 600000)
  end
  return answer
end

-- What every call of a worker checks before anything else: the crawl is still the one
-- joined, and the call was not answered before. Returns the reply to send at once (an error,
-- or the kept answer), or nil to go on.
local function first_checks(p, epoch, worker, call)
  local gone = check_epoch(p, epoch)
  if gone then
    return gone
  end
  return replay(p, worker, call)
end

-- The worker a lease id belongs to: ids are `WORKER:SEQUENCE`.
local function lease_worker(id)
  return string.match(id, '^(.*):%d+$') or ''
end

-- How long a worker that found nothing to take counts as waiting for work (ms).
local WAITING_MS = 2000

-- Whether any worker is waiting for work now.
local function anyone_waiting(p, now)
  return redis.call('ZCOUNT', p .. 'waiting', now, '+inf') > 0
end

-- Wakes up to `n` waiting workers: tokens on the wake list, which idle workers block on
-- (BLPOP), instead of polling. Only while someone waits, and never more than a few queued.
local function wake(p, n)
  if n <= 0 or not anyone_waiting(p, now_ms()) then
    return
  end
  local tokens = {}
  for i = 1, math.min(n, 16) do
    tokens[i] = '1'
  end
  redis.call('LPUSH', p .. 'wake', unpack(tokens))
  redis.call('LTRIM', p .. 'wake', 0, 31)
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
    wake(p, new)
  end
  return new
end

-- Releases lease `id`: off the lease set and its worker's, its host slot freed, and off the
-- page budget. Returns the job it held, or nil when the lease was no longer held.
local function release(p, id)
  local job = redis.call('HGET', p .. 'leased', id)
  if redis.call('ZREM', p .. 'leases', id) == 0 or not job then
    return nil
  end
  local worker = lease_worker(id)
  redis.call('HDEL', p .. 'leased', id)
  redis.call('SREM', p .. 'held:' .. worker, id)
  local host = string.match(job, '^([^\t]*)')
  local key = p .. 'host:' .. host
  redis.call('HINCRBY', key, 'inflight', -1)
  if redis.call('HINCRBY', key, 'w:' .. worker, -1) <= 0 then
    redis.call('HDEL', key, 'w:' .. worker)
  end
  wake(p, 1)
  return job
end

-- Puts `job` back at the front of its host's queue.
local function queue_front(p, job)
  local host = string.match(job, '^([^\t]*)')
  if redis.call('LPUSH', p .. 'q:' .. host, job) == 1 then
    redis.call('RPUSH', p .. 'hosts', host)
  end
  redis.call('HINCRBY', p .. 'stats', 'queued', 1)
  redis.call('HINCRBY', p .. 'stats', 'started', -1)
end

-- Puts the job of lease `id` back at the front of its host's queue (its worker handed it
-- back). Returns whether the lease was still held.
local function requeue(p, id)
  local job = release(p, id)
  if not job then
    return false
  end
  queue_front(p, job)
  return true
end

-- Lease `id` stalled: it expired, or its worker stopped beating. Its job goes back to the
-- queue, unless it has stalled `max_stalls` times: then it is given up (a page that kills
-- whoever fetches it must not kill every worker in turn) and listed as abandoned.
local function stalled(p, id, max_stalls)
  local job = release(p, id)
  if not job then
    return
  end
  redis.call('HINCRBY', p .. 'stats', 'leases_expired', 1)
  local stalls = redis.call('HINCRBY', p .. 'stalls', job, 1)
  if stalls >= max_stalls then
    redis.call('HDEL', p .. 'stalls', job)
    redis.call('RPUSH', p .. 'abandoned', job)
    redis.call('HINCRBY', p .. 'stats', 'abandoned', 1)
  else
    queue_front(p, job)
  end
end

-- Takes back what stalled: leases past their expiry, and the leases of workers whose
-- heartbeat stopped.
local function reclaim(p, now, max_stalls)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'leases', '-inf', now, 'LIMIT', 0, 64)) do
    stalled(p, id, max_stalls)
  end
  for _, worker in ipairs(redis.call('ZRANGEBYSCORE', p .. 'alive', '-inf', now, 'LIMIT', 0, 8)) do
    for _, id in ipairs(redis.call('SMEMBERS', p .. 'held:' .. worker)) do
      stalled(p, id, max_stalls)
    end
    redis.call('DEL', p .. 'held:' .. worker)
    redis.call('ZREM', p .. 'alive', worker)
  end
end

-- Takes the next job whose host may start a request now, with a lease on it; first takes
-- back what stalled. Hosts are served round-robin from the rotation list, which holds each
-- host with queued jobs once. While other workers wait for work, a worker takes at most its
-- fair share of a host's slots (the host's limit over the workers wanting it, rounded down,
-- at least one), so a host's pages spread over the workers instead of staying with the
-- first. ARGV from `from` on: worker (the lease id prefix), per-host limit, probe first
-- (1/0), default gap (ms), lease time (ms), hosts to look at, stalls before a job is given
-- up, page budget (0: none), heartbeat grace (ms).
-- Returns {'job', lease id, job, queued, leased} or {'wait' | 'busy' | 'spent', ms, queued,
-- leased}.
local function take(p, from)
  local worker = ARGV[from]
  local per_host = tonumber(ARGV[from + 1])
  local probe_first = ARGV[from + 2] == '1'
  local default_gap = tonumber(ARGV[from + 3])
  local lease_ms = tonumber(ARGV[from + 4])
  local max_scan = tonumber(ARGV[from + 5])
  local max_stalls = tonumber(ARGV[from + 6])
  local budget = tonumber(ARGV[from + 7])
  local heartbeat_ms = tonumber(ARGV[from + 8])
  local now = now_ms()
  local stats = p .. 'stats'

  reclaim(p, now, max_stalls)

  -- Workers other than this one that found nothing to take lately.
  local waiting = p .. 'waiting'
  local others = redis.call('ZCOUNT', waiting, now, '+inf')
  if (tonumber(redis.call('ZSCORE', waiting, worker)) or 0) >= now then
    others = others - 1
  end

  local earliest = -1
  local spent = budget > 0 and (tonumber(redis.call('HGET', stats, 'started')) or 0) >= budget
  local rotating = redis.call('LLEN', p .. 'hosts')
  if spent then
    rotating = 0
  end
  for _ = 1, math.min(rotating, max_scan) do
    local host = redis.call('LPOP', p .. 'hosts')
    local queue = p .. 'q:' .. host
    local key = p .. 'host:' .. host
    local state = redis.call('HMGET', key, 'inflight', 'last', 'gap', 'probed', 'w:' .. worker)
    local inflight = tonumber(state[1]) or 0
    local gap = tonumber(state[3]) or default_gap
    local limit = per_host
    if probe_first and not state[4] then
      limit = 1
    end
    local mine = tonumber(state[5]) or 0
    local fair = mine >= math.max(1, math.floor(limit / (1 + math.max(others, 0))))
    local at = 0
    if state[2] then
      at = tonumber(state[2]) + gap
    end
    if redis.call('LLEN', queue) == 0 then
      -- The host's queue is gone (evicted, deleted): the host leaves the rotation, and
      -- nothing is counted for jobs that are not there.
      redis.log(redis.LOG_WARNING, 'areq: ' .. queue .. ' is missing; its host leaves the rotation')
    elseif inflight >= limit or at > now or (others > 0 and fair) then
      if inflight < limit and at > now and (earliest < 0 or at < earliest) then
        earliest = at
      end
      redis.call('RPUSH', p .. 'hosts', host)
    else
      local job = redis.call('LPOP', queue)
      -- The host's last request start is set when the request is sent (turn.lua).
      redis.call('HSET', key, 'inflight', inflight + 1, 'w:' .. worker, mine + 1)
      if redis.call('LLEN', queue) > 0 then
        redis.call('RPUSH', p .. 'hosts', host)
      end
      local id = worker .. ':' .. redis.call('HINCRBY', stats, 'lease_seq', 1)
      redis.call('ZADD', p .. 'leases', now + lease_ms, id)
      redis.call('HSET', p .. 'leased', id, job)
      redis.call('SADD', p .. 'held:' .. worker, id)
      -- A worker taking a page is alive: an old heartbeat of a worker that was idle must not
      -- make the others take this page back.
      redis.call('ZADD', p .. 'alive', now + heartbeat_ms, worker)
      redis.call('HINCRBY', stats, 'started', 1)
      redis.call('ZREM', waiting, worker)
      local queued = redis.call('HINCRBY', stats, 'queued', -1)
      return {'job', id, job, queued, redis.call('ZCARD', p .. 'leases')}
    end
  end

  local queued = tonumber(redis.call('HGET', stats, 'queued')) or 0
  local leased = redis.call('ZCARD', p .. 'leases')
  if queued ~= 0 and redis.call('LLEN', p .. 'hosts') == 0 then
    -- No host has jobs queued, so none are: the count missed jobs whose queue was lost.
    redis.call('HINCRBY', stats, 'lost', queued)
    redis.call('HSET', stats, 'queued', 0)
    queued = 0
  end
  if spent then
    -- The crawl's page budget is spent: what is queued stays queued.
    return {'spent', 0, queued, leased}
  end
  if queued > 0 or leased > 0 then
    -- Work is queued or may come from pages in flight: this worker waits for it.
    redis.call('ZADD', waiting, now + WAITING_MS, worker)
  end
  if rotating > max_scan then
    -- Hosts were left unscanned (they are next in the rotation): ask again soon.
    return {'wait', 50, queued, leased}
  end
  if earliest >= 0 then
    return {'wait', earliest - now, queued, leased}
  end
  return {'busy', 0, queued, leased}
end
