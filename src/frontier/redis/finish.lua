-- Pages ended and their records are flushed: releases their leases and their hosts' slots
-- (a slot the worker handed to a job it took ahead goes to that job's lease instead), applies
-- what this worker learned of each host's pace, counts the pages, and queues the links they
-- found that belong to this partition (as push.lua; the worker pushed the others to their
-- partitions before this call). Then takes up to `want` jobs of this partition for the same
-- worker, in the same call, and as many jobs ahead as the worker started at each host (up to
-- the jobs wanted ahead). Counts and writes are per call, not per page: one release of all
-- the leases, one pace update a host, one count update.
-- KEYS: the partition's epoch key (see common.lua).
-- ARGV: prefix, epoch, call id, worker, default gap (ms), pages ended, take's nine
--       arguments (jobs wanted first; 0: take none), then per page ended: lease id, host, ms
--       since the host's last request (-1: none), Crawl-delay (ms, 0: none), outcome, links,
--       depth, the lease of the job taken ahead its slot went to ('': none); then the
--       children as in push.lua.
-- Returns {children new, version, then take's answer, if it took any}.
local p, call, worker = ARGV[1], ARGV[3], ARGV[4]
local early = first_checks(p, ARGV[2], worker, call)
if early then
  return early
end
local default_gap, pages = tonumber(ARGV[5]), tonumber(ARGV[6])
local TAKE_ARGS, FIRST_PAGE, PAGE_ARGS = 7, 16, 8
local children = FIRST_PAGE + PAGE_ARGS * pages
local now = now_ms()

-- A page whose slot went to a job taken ahead keeps its slot for that job; a slot whose job
-- is no longer held (taken back from a worker taken for dead) is freed, and a job whose
-- page's lease was gone takes a slot of its own.
local ids, kept, successors, successor_ids = {}, {}, {}, {}
for i = 1, pages do
  local at = FIRST_PAGE + PAGE_ARGS * (i - 1)
  ids[i] = ARGV[at]
  if ARGV[at + 7] ~= '' then
    kept[i] = true
    successors[#successors + 1] = {host = ARGV[at + 1], page = i}
    successor_ids[#successor_ids + 1] = ARGV[at + 7]
  end
end
local moved = start_ahead(p, worker, successor_ids)
local leased = release_all(p, worker, ids, kept)
local shifts, started = {}, {}
for k, successor in ipairs(successors) do
  local host, held = successor.host, leased[successor.page] ~= false
  local shift = 0
  if moved[k] then
    started[host] = (started[host] or 0) + 1
    shift = held and 0 or 1
  elseif held then
    shift = -1
  end
  shifts[host] = (shifts[host] or 0) + shift
end
for host, shift in pairs(shifts) do
  if shift ~= 0 then
    shift_slots(p .. 'host:' .. host, worker, shift)
  end
end

local stalled_before = redis.call('EXISTS', p .. 'stalls') == 1
local unstalled, depths, hosts, host_seen = {}, {}, {}, {}
local pace, paced = {}, {}
local counted = 0
for i = 1, pages do
  local at = FIRST_PAGE + PAGE_ARGS * (i - 1)
  local host, ago, delay = ARGV[at + 1], tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  local outcome, links, depth = ARGV[at + 4], tonumber(ARGV[at + 5]), ARGV[at + 6]
  if leased[i] then
    if stalled_before then
      unstalled[#unstalled + 1] = leased[i]
    end
    add(outcome, 1)
    add('links', links)
    counted = counted + 1
    if outcome ~= 'robots' then
      depths[depth] = (depths[depth] or 0) + 1
      if not host_seen[host] then
        host_seen[host] = true
        hosts[#hosts + 1] = host
      end
    end
  else
    -- The lease expired (or its worker was taken for dead) and the job went back to the
    -- queue: it may be written twice.
    add('late_acks', 1)
  end
  local known = pace[host]
  if not known then
    known = {last = -1, gap = 0}
    pace[host] = known
    paced[#paced + 1] = host
  end
  if ago >= 0 then
    known.last = math.max(known.last, now - ago)
  end
  known.gap = math.max(known.gap, delay)
end
if #unstalled > 0 then
  redis.call('HDEL', p .. 'stalls', unpack(unstalled))
end
if counted > 0 then
  redis.call('HINCRBY', p .. 'workers', worker, counted)
end
for depth, n in pairs(depths) do
  redis.call('HINCRBY', p .. 'depths', depth, n)
end
if #hosts > 0 then
  redis.call('SADD', p .. 'hostset', unpack(hosts))
end
-- Each host's pace: probed, its last request start, and the longest gap asked for.
for _, host in ipairs(paced) do
  local key = p .. 'host:' .. host
  local state = redis.call('HMGET', key, 'last', 'gap', 'probed')
  local known = pace[host]
  local fields = {}
  if not state[3] then
    table.insert(fields, 'probed')
    table.insert(fields, 1)
  end
  if known.last > (tonumber(state[1]) or 0) then
    table.insert(fields, 'last')
    table.insert(fields, known.last)
  end
  if known.gap > (tonumber(state[2]) or default_gap) then
    table.insert(fields, 'gap')
    table.insert(fields, known.gap)
  end
  if #fields > 0 then
    redis.call('HSET', key, unpack(fields))
  end
end

local new = queue_unseen(p, children)
local reply = {new, version(p)}
local refill = {}
for host, n in pairs(started) do
  refill[#refill + 1] = {host, n}
end
for _, value in ipairs(take(p, TAKE_ARGS, refill) or {}) do
  table.insert(reply, value)
end
return answer(p, worker, call, reply)
