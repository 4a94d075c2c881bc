-- Helpers every script of a crawl's partition starts with.
--
-- A crawl is split by host into partitions (see partition.rs): everything about a host (its
-- queue, pace, seen URLs, robots.txt verdict, leases) lives in its partition, whose keys share
-- the hash tag `{NAME:N}`, so a Cluster keeps a partition in one slot and spreads the
-- partitions over its masters. A script runs in one partition. Its KEYS[1] is the
-- partition's epoch key (`areq:{NAME:N}:epoch`), by which a Cluster sends the call to the
-- partition's node; the other keys it names are the partition's prefix and a fixed name, or
-- a host's or worker's key under the same prefix (known only once the rotation is read, so
-- not declarable beforehand: they share the tag, hence the slot, which is what a Cluster
-- checks).
-- Every script's ARGV starts the same way: prefix (`areq:{NAME:N}:`), the crawl's epoch as
-- the worker joined it, a call id ('' for none), and the worker. The script checks before it
-- writes: the partition must still belong to the crawl joined (an emptied Redis is an error,
-- never "done"), and a call sent again after its reply was lost answers what it answered the
-- first time.

if KEYS[1] ~= ARGV[1] .. 'epoch' then
  return redis.error_reply('AREQ_KEYS KEYS[1] must be the epoch key of the partition at ARGV[1]')
end

-- The error reply of a call to a partition that no longer belongs to the crawl joined:
-- Redis restarted without persistence, was flushed, failed over to an empty replica, or the
-- crawl was forgotten (and maybe made anew).
local function gone_reply()
  return redis.error_reply('AREQ_GONE the crawl is no longer in this Redis '
    .. '(restarted without persistence, flushed, failed over or forgotten)')
end

-- The gone reply unless the partition at `p` still belongs to the crawl joined at `epoch`.
local function check_epoch(p, epoch)
  if redis.call('GET', p .. 'epoch') ~= epoch then
    return gone_reply()
  end
  return nil
end

-- What every call of a worker checks before anything else, in one read: the crawl is still
-- the one joined, and the call was not answered before. Returns the reply to send at once
-- (an error, or the kept answer), or nil to go on.
local function first_checks(p, epoch, worker, call)
  if call == '' then
    return check_epoch(p, epoch)
  end
  local found = redis.call('MGET', p .. 'epoch', p .. 'reply:' .. worker)
  if found[1] ~= epoch then
    return gone_reply()
  end
  return replayed(found[2], call)
end

-- The worker a lease id belongs to: ids are `WORKER:SEQUENCE`.
local function lease_worker(id)
  return string.match(id, '^(.*):%d+$') or ''
end

-- Counts kept in the partition's `stats` hash: read at most once a call (one HGETALL, at the
-- first count the call reads or adds to), added to during the call and written once at its
-- end (one HSET however many pages and jobs the call saw), by `answer`. A count read during
-- the call is the stored value plus what the call added.
local stored, added = nil, {}

-- The counts as stored when the call began (read at the first use), plus what the call wrote.
local function stored_counts(p)
  if not stored then
    stored = {}
    local flat = redis.call('HGETALL', p .. 'stats')
    for i = 1, #flat, 2 do
      stored[flat[i]] = tonumber(flat[i + 1])
    end
  end
  return stored
end

local function add(field, delta)
  added[field] = (added[field] or 0) + delta
end

local function count_of(p, field)
  return (stored_counts(p)[field] or 0) + (added[field] or 0)
end

-- Writes the counts the call added.
local function write_counts(p)
  local counts = stored_counts(p)
  local pairs_ = {}
  for field, delta in pairs(added) do
    counts[field] = (counts[field] or 0) + delta
    pairs_[#pairs_ + 1] = field
    pairs_[#pairs_ + 1] = counts[field]
  end
  if #pairs_ > 0 then
    redis.call('HSET', p .. 'stats', unpack(pairs_))
  end
  added = {}
end

-- Ends a call of `worker`: writes its counts, keeps its answer for call `call` and returns it.
local function answer(p, worker, call, value)
  write_counts(p)
  return keep(p, worker, call, value)
end

-- The partition's version: bumped at every change of what it holds (jobs queued, leases), so
-- a worker that read it twice with nothing between knows nothing changed (the crawl's end
-- check, and taking an empty partition off the active set).
local function bump()
  add('version', 1)
end

local function version(p)
  return count_of(p, 'version')
end

-- The seen set: a hash table of 10-byte fingerprints whose buckets are Redis hashes small
-- enough for the compact encoding, grown by linear hashing so that a URL is looked for in
-- one bucket, by one HSETNX that also adds it. A fingerprint's first 4 bytes are its seed,
-- which the worker also sends as 32 binary digits: a bucket is named by the seed's last
-- `width` digits (no number turned into text, which is costly in Redis's Lua). There are
-- 16 + count / SEEN_FILL buckets: each SEEN_FILL new URLs split the next bucket in turn
-- (the `split` first of the `width`-digit buckets are split, so those URLs go by
-- `width` + 1 digits) and once every one is split the width grows by a digit. The shape
-- follows from the partition's count of seen URLs alone, so it is the same for every worker.
local SEEN_ROOT_WIDTH = 4
local SEEN_FILL = 40

-- `n` as `width` binary digits.
local function binary_digits(n, width)
  local digits = {}
  for i = width, 1, -1 do
    digits[i] = n % 2 == 1 and '1' or '0'
    n = math.floor(n / 2)
  end
  return table.concat(digits)
end

-- The seen set's shape when it holds `count` URLs: the width of a bucket's name, and the
-- first bucket not yet split, as `width` digits. It changes every SEEN_FILL URLs, so the last
-- one is kept.
local shape = {splits = -1}
local function seen_shape(count)
  local splits = math.floor(count / SEEN_FILL)
  if splits ~= shape.splits then
    local buckets = 2 ^ SEEN_ROOT_WIDTH + splits
    local width, round = SEEN_ROOT_WIDTH, 2 ^ SEEN_ROOT_WIDTH
    while buckets >= 2 * round do
      width, round = width + 1, round * 2
    end
    shape = {splits = splits, width = width, split = binary_digits(buckets - round, width)}
  end
  return shape.width, shape.split
end

-- The bucket of the seed `seed` (binary digits) when the set has shape `width`, `split`.
local function seen_bucket(p, seed, width, split)
  local low = string.sub(seed, -width)
  if low < split then
    low = string.sub(seed, -(width + 1))
  end
  return p .. 'seen:' .. low
end

-- Splits bucket `split` of width `width`: the fingerprints whose seed has a 1 in the next
-- digit move to bucket `1 .. split`, the others stay, and the bucket becomes `0 .. split`.
local function split_bucket(p, width, split)
  local key = p .. 'seen:' .. split
  local fingerprints = redis.call('HKEYS', key)
  if #fingerprints == 0 then
    return
  end
  -- The seed is the fingerprint's first 4 bytes, big-endian; digit `width` from the right
  -- is bit `width` of it.
  local byte_at, bit_at = 4 - math.floor(width / 8), width % 8
  local moved, moved_pairs = {}, {}
  for _, fingerprint in ipairs(fingerprints) do
    if bit.band(bit.rshift(string.byte(fingerprint, byte_at), bit_at), 1) == 1 then
      moved[#moved + 1] = fingerprint
      moved_pairs[#moved_pairs + 1] = fingerprint
      moved_pairs[#moved_pairs + 1] = ''
    end
  end
  if #moved > 0 then
    redis.call('HSET', p .. 'seen:1' .. split, unpack(moved_pairs))
    redis.call('HDEL', key, unpack(moved))
  end
  if #moved < #fingerprints then
    redis.call('RENAME', key, p .. 'seen:0' .. split)
  end
end

-- Adds `fingerprint` (seed digits `seed`) to the seen set of `p`, which holds `count` URLs.
-- Returns whether it was new.
local function mark_seen(p, seed, fingerprint, count)
  local width, split = seen_shape(count)
  if redis.call('HSETNX', seen_bucket(p, seed, width, split), fingerprint, '') == 0 then
    return false
  end
  if math.floor((count + 1) / SEEN_FILL) > math.floor(count / SEEN_FILL) then
    split_bucket(p, width, split)
  end
  return true
end

-- Appends `values` to list `key` (in chunks: Lua passes a bounded number of arguments).
-- Returns the list's length.
local function append(key, values)
  local length = 0
  for i = 1, #values, 1000 do
    length = redis.call('RPUSH', key, unpack(values, i, math.min(i + 999, #values)))
  end
  return length
end

-- Queues the jobs in ARGV from `first` to `last` (bucket seed, fingerprint, host, job each)
-- whose URLs were not seen before, each host's in one push; keeps the rotation holding each
-- host with queued jobs once. Returns how many were new.
local function queue_unseen(p, first, last)
  local count = count_of(p, 'seen')
  local new = 0
  local hosts, by_host = {}, {}
  for i = first, last or #ARGV, 4 do
    local seed, fingerprint, host, job = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
    if mark_seen(p, seed, fingerprint, count) then
      count = count + 1
      if not by_host[host] then
        by_host[host] = {}
        hosts[#hosts + 1] = host
      end
      table.insert(by_host[host], job)
      new = new + 1
    end
  end
  for _, host in ipairs(hosts) do
    local jobs = by_host[host]
    if append(p .. 'q:' .. host, jobs) == #jobs then
      -- The host's queue was empty: the host joins the rotation.
      redis.call('RPUSH', p .. 'hosts', host)
    end
  end
  if new > 0 then
    add('seen', new)
    add('queued', new)
    bump()
  end
  return new
end

-- The host a leased job is at: leased jobs are stored as `HOST<TAB>JOB`.
local function leased_host(leased)
  return string.match(leased, '^([^\t]*)')
end

-- Takes `n` slots of `worker` at host key `key`, or frees them when `n` < 0 (in flight, and
-- the worker's share).
local function shift_slots(key, worker, n)
  local state = redis.call('HMGET', key, 'inflight', 'w:' .. worker)
  local inflight = math.max(0, (tonumber(state[1]) or 0) + n)
  local mine = (tonumber(state[2]) or 0) + n
  if mine <= 0 then
    redis.call('HSET', key, 'inflight', inflight)
    redis.call('HDEL', key, 'w:' .. worker)
  else
    redis.call('HSET', key, 'inflight', inflight, 'w:' .. worker, mine)
  end
end

-- The hash of the leases `worker` holds in partition `p`: lease id → `HOST<TAB>JOB`. A
-- lease lives as long as its worker's heartbeat (the `alive` set): a worker renews all the
-- leases it holds at once, so one deadline a worker is all a lease needs.
local function leases_key(p, worker)
  return p .. 'leases:' .. worker
end

-- The hash of the jobs `worker` took ahead in partition `p`: lease id → `HOST<TAB>JOB`.
-- They are leased (and live as long as the worker's heartbeat) but hold no host slot: a job
-- taken ahead starts only in the slot of a page of its host that ended at the worker, which
-- hands the slot over (finish.lua), so the worker need not wait for Redis to start it.
local function ahead_key(p, worker)
  return p .. 'ahead:' .. worker
end

-- Releases the leases `ids` of `worker` at once: off the worker's leases, their host slots
-- freed, but for the leases `kept[i]` names (their slots were handed over). Returns the
-- leased jobs (`HOST<TAB>JOB`) in the order of `ids`, false for a lease no longer held, and
-- how many were held.
local function release_all(p, worker, ids, kept)
  if #ids == 0 then
    return {}, 0
  end
  local key = leases_key(p, worker)
  local leased = redis.call('HMGET', key, unpack(ids))
  local jobs, held, hosts, per_host = {}, {}, {}, {}
  for i, id in ipairs(ids) do
    jobs[i] = false
    if leased[i] then
      jobs[i] = leased[i]
      held[#held + 1] = id
    end
    if leased[i] and not (kept and kept[i]) then
      local host = leased_host(leased[i])
      if not per_host[host] then
        per_host[host] = 0
        hosts[#hosts + 1] = host
      end
      per_host[host] = per_host[host] + 1
    end
  end
  if #held > 0 then
    redis.call('HDEL', key, unpack(held))
    for _, host in ipairs(hosts) do
      shift_slots(p .. 'host:' .. host, worker, -per_host[host])
    end
    add('leased', -#held)
    bump()
  end
  return jobs, #held
end

-- Releases the jobs `ids` that `worker` took ahead. Returns the leased jobs in the order of
-- `ids`, false for one no longer held.
local function release_ahead(p, worker, ids)
  local key = ahead_key(p, worker)
  local leased = redis.call('HMGET', key, unpack(ids))
  local jobs, held = {}, {}
  for i, id in ipairs(ids) do
    jobs[i] = leased[i] or false
    if leased[i] then
      held[#held + 1] = id
    end
  end
  if #held > 0 then
    redis.call('HDEL', key, unpack(held))
    add('leased', -#held)
    bump()
  end
  return jobs
end

-- Releases lease `id`, a page's (its host slot freed) or a job's taken ahead. Returns the
-- leased job (`HOST<TAB>JOB`), or nil when the lease was no longer held.
local function release(p, id)
  local worker = lease_worker(id)
  local jobs = release_all(p, worker, {id})
  if not jobs[1] then
    jobs = release_ahead(p, worker, {id})
  end
  return jobs[1] or nil
end

-- Moves the jobs taken ahead `ids` to `worker`'s leases: the worker started them, each in
-- the slot of a page of its host that ended. Returns, for each, whether it was still held
-- (not taken back from a worker taken for dead). Runs before the ended pages are released:
-- one of them may be a job just moved.
local function start_ahead(p, worker, ids)
  if #ids == 0 then
    return {}
  end
  local key = ahead_key(p, worker)
  local leased = redis.call('HMGET', key, unpack(ids))
  local moved, pairs_ = {}, {}
  for i, id in ipairs(ids) do
    if leased[i] then
      moved[#moved + 1] = id
      pairs_[#pairs_ + 1] = id
      pairs_[#pairs_ + 1] = leased[i]
    end
  end
  if #moved > 0 then
    redis.call('HDEL', key, unpack(moved))
    redis.call('HSET', leases_key(p, worker), unpack(pairs_))
  end
  return leased
end

-- Puts a leased job back at the front of its host's queue.
local function queue_front(p, leased)
  local host = leased_host(leased)
  local job = string.sub(leased, #host + 2)
  if redis.call('LPUSH', p .. 'q:' .. host, job) == 1 then
    redis.call('RPUSH', p .. 'hosts', host)
  end
  add('queued', 1)
end

-- Puts the job of lease `id` back at the front of its host's queue (its worker handed it
-- back). Returns whether the lease was still held.
local function requeue(p, id)
  local leased = release(p, id)
  if not leased then
    return false
  end
  queue_front(p, leased)
  return true
end

-- Lease `id` stalled: its worker stopped beating (or renewing its leases). Its job goes back
-- to the queue, unless it has stalled `max_stalls` times: then it is given up (a page that
-- kills whoever fetches it must not kill every worker in turn) and listed as abandoned.
-- Returns whether the job went back to the queue.
local function stalled(p, id, max_stalls)
  local leased = release(p, id)
  if not leased then
    return false
  end
  add('leases_expired', 1)
  local stalls = redis.call('HINCRBY', p .. 'stalls', leased, 1)
  if stalls >= max_stalls then
    redis.call('HDEL', p .. 'stalls', leased)
    redis.call('RPUSH', p .. 'abandoned', leased)
    add('abandoned', 1)
    return false
  end
  queue_front(p, leased)
  return true
end

-- Takes back what stalled: the leases of workers whose heartbeat stopped. Returns how many
-- jobs went back to the queue.
local function reclaim(p, now, max_stalls)
  local requeued = 0
  for _, worker in ipairs(redis.call('ZRANGEBYSCORE', p .. 'alive', '-inf', now, 'LIMIT', 0, 8)) do
    -- Jobs taken ahead count as stalled too: the worker may have started them.
    for _, key in ipairs({leases_key(p, worker), ahead_key(p, worker)}) do
      for _, id in ipairs(redis.call('HKEYS', key)) do
        if stalled(p, id, max_stalls) then
          requeued = requeued + 1
        end
      end
      redis.call('DEL', key)
    end
    redis.call('ZREM', p .. 'alive', worker)
  end
  return requeued
end

-- A worker's deadline: it counts as dead, and its leases as stalled, once it has neither
-- beaten for `heartbeat_ms` nor renewed its leases for `lease_ms`.
local function deadline(now, lease_ms, heartbeat_ms)
  return now + math.min(lease_ms, heartbeat_ms)
end

-- How long a worker that found nothing to take in a partition counts as waiting for its
-- work (ms).
local WAITING_MS = 2000

-- Takes up to `want` jobs of this partition whose hosts may start a request now, each with a
-- lease; first takes back what stalled. Hosts are served round-robin from the rotation list,
-- which holds each host with queued jobs once; a host gives as many jobs as its free slots
-- allow, or one when a gap must pass between its requests. While other workers wait for this
-- partition's work, a worker does not take a host's slot while one of them holds fewer of
-- the host's pages: a host's pages spread over the workers that want them instead of
-- staying with the first, which would otherwise take back each slot it frees.
-- A host gives jobs to take ahead (see `ahead_key`) only while no other worker waits for
-- this partition's work, and only when nothing holds its requests apart: no gap, and its
-- first page (which reads robots.txt, when probing first) ended.
-- ARGV[4] is the worker (the lease id prefix); from `from` on: jobs wanted, per-host limit,
-- probe first (1/0), default gap (ms), lease time (ms), hosts to look at, stalls before a
-- job is given up, heartbeat grace (ms), jobs wanted ahead. `refill` lists {host, n}: hosts
-- whose jobs taken ahead the worker just started, to take up to n more ahead each first.
-- Returns {'jobs', queued, leased, version, requeued, jobs with a slot, then lease id and
-- HOST<TAB>JOB of each job, those with a slot first} or {'wait' | 'busy' | 'empty', ms,
-- queued, leased, version, requeued}: counts of this partition, and how many stalled jobs
-- this call put back in the queue. With no jobs wanted, only the refill is taken: nil when
-- it took nothing.
local function take(p, from, refill)
  local worker = ARGV[4]
  local want = tonumber(ARGV[from])
  local per_host = tonumber(ARGV[from + 1])
  local probe_first = ARGV[from + 2] == '1'
  local default_gap = tonumber(ARGV[from + 3])
  local lease_ms = tonumber(ARGV[from + 4])
  local max_scan = tonumber(ARGV[from + 5])
  local max_stalls = tonumber(ARGV[from + 6])
  local heartbeat_ms = tonumber(ARGV[from + 7])
  local ahead_left = tonumber(ARGV[from + 8])
  local now = now_ms()

  local requeued = 0
  if want > 0 then
    requeued = reclaim(p, now, max_stalls)
  end

  -- Workers other than this one that found nothing to take here lately.
  local waiting = p .. 'waiting'
  local others = {}
  for _, other in ipairs(redis.call('ZRANGEBYSCORE', waiting, now, '+inf', 'LIMIT', 0, 64)) do
    if other ~= worker then
      others[#others + 1] = other
    end
  end
  if #others > 0 then
    ahead_left = 0
  end
  -- Whether a host in state {gap, probed} may give jobs ahead.
  local function gives_ahead(gap, probed)
    return ahead_left > 0 and gap == 0 and (probed or not probe_first)
  end

  local taken, ahead = {}, {}
  for _, wanted in ipairs(refill or {}) do
    local host, n = wanted[1], math.min(wanted[2], ahead_left)
    local state = redis.call('HMGET', p .. 'host:' .. host, 'gap', 'probed')
    if n > 0 and gives_ahead(tonumber(state[1]) or default_gap, state[2]) then
      local jobs = redis.call('LPOP', p .. 'q:' .. host, n)
      if jobs then
        for _, job in ipairs(jobs) do
          ahead[#ahead + 1] = host .. '\t' .. job
        end
        ahead_left = ahead_left - #jobs
        if redis.call('EXISTS', p .. 'q:' .. host) == 0 then
          redis.call('LREM', p .. 'hosts', 1, host)
        end
      end
    end
  end
  local earliest = -1
  local rotating = redis.call('LLEN', p .. 'hosts')
  for _ = 1, math.min(rotating, max_scan) do
    if #taken >= want then
      break
    end
    local host = redis.call('LINDEX', p .. 'hosts', 0)
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
    -- A waiting worker holding fewer of the host's pages than this one goes first.
    local poorer = false
    if #others > 0 then
      local fields = {}
      for i, other in ipairs(others) do
        fields[i] = 'w:' .. other
      end
      for _, held in ipairs(redis.call('HMGET', key, unpack(fields))) do
        poorer = poorer or (tonumber(held) or 0) < mine
      end
    end
    local at = 0
    if state[2] then
      at = tonumber(state[2]) + gap
    end
    local queued_here = redis.call('LLEN', queue)
    if queued_here == 0 then
      -- The host's queue is gone (evicted, deleted): the host leaves the rotation, and
      -- nothing is counted for jobs that are not there.
      redis.call('LPOP', p .. 'hosts')
      redis.log(redis.LOG_WARNING, 'areq: ' .. queue .. ' is missing; its host leaves the rotation')
    elseif inflight >= limit or at > now or poorer then
      if inflight < limit and at > now and (earliest < 0 or at < earliest) then
        earliest = at
      end
      redis.call('LMOVE', p .. 'hosts', p .. 'hosts', 'LEFT', 'RIGHT')
    else
      local n = math.min(want - #taken, limit - inflight, queued_here)
      if gap > 0 or poorer or #others > 0 then
        n = 1
      end
      local extra = 0
      if gives_ahead(gap, state[4]) then
        extra = math.min(ahead_left, queued_here - n)
        ahead_left = ahead_left - extra
      end
      -- The host's last request start is set when the request is sent (turn.lua).
      local jobs = redis.call('LPOP', queue, n + extra)
      redis.call('HSET', key, 'inflight', inflight + n, 'w:' .. worker, mine + n)
      if queued_here > n + extra then
        redis.call('LMOVE', p .. 'hosts', p .. 'hosts', 'LEFT', 'RIGHT')
      else
        redis.call('LPOP', p .. 'hosts')
      end
      for i, job in ipairs(jobs) do
        if i <= n then
          taken[#taken + 1] = host .. '\t' .. job
        else
          ahead[#ahead + 1] = host .. '\t' .. job
        end
      end
    end
  end

  if #taken + #ahead > 0 then
    local all = #taken + #ahead
    local first = count_of(p, 'lease_seq') + 1
    add('lease_seq', all)
    add('queued', -all)
    add('leased', all)
    bump()
    local answer = {
      'jobs', count_of(p, 'queued'), count_of(p, 'leased'), version(p), requeued, #taken,
    }
    local slotted, unslotted = {}, {}
    for i = 1, all do
      local id = worker .. ':' .. (first + i - 1)
      local job = taken[i] or ahead[i - #taken]
      local into = i <= #taken and slotted or unslotted
      into[#into + 1] = id
      into[#into + 1] = job
      answer[#answer + 1] = id
      answer[#answer + 1] = job
    end
    if #slotted > 0 then
      redis.call('HSET', leases_key(p, worker), unpack(slotted))
    end
    if #unslotted > 0 then
      redis.call('HSET', ahead_key(p, worker), unpack(unslotted))
    end
    -- A worker taking a page is alive: an old heartbeat of a worker that was idle must not
    -- make the others take this page back.
    redis.call('ZADD', p .. 'alive', deadline(now, lease_ms, heartbeat_ms), worker)
    if #taken > 0 and redis.call('ZSCORE', waiting, worker) then
      redis.call('ZREM', waiting, worker)
    end
    return answer
  end
  if want == 0 then
    return nil
  end

  local queued = count_of(p, 'queued')
  local leased = count_of(p, 'leased')
  if queued ~= 0 and redis.call('LLEN', p .. 'hosts') == 0 then
    -- No host has jobs queued, so none are: the count missed jobs whose queue was lost.
    add('lost', queued)
    add('queued', -queued)
    queued = 0
    bump()
  end
  if queued == 0 and leased == 0 then
    if redis.call('ZSCORE', waiting, worker) then
      redis.call('ZREM', waiting, worker)
    end
    return {'empty', 0, 0, 0, version(p), requeued}
  end
  -- Work is queued or may come from pages in flight: this worker waits for it.
  redis.call('ZADD', waiting, now + WAITING_MS, worker)
  if rotating > max_scan then
    -- Hosts were left unscanned (they are next in the rotation): ask again soon.
    return {'wait', 50, queued, leased, version(p), requeued}
  end
  if earliest >= 0 then
    return {'wait', earliest - now, queued, leased, version(p), requeued}
  end
  return {'busy', 0, queued, leased, version(p), requeued}
end
