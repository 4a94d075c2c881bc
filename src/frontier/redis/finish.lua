-- Pages ended and their records are flushed: releases their leases and their hosts' slots,
-- applies what this worker learned of each host's pace, counts the pages, and queues the
-- links they found that belong to this partition (as push.lua; the worker pushed the others
-- to their partitions before this call). Then takes up to `want` jobs of this partition for
-- the same worker, in the same call. Counts and writes are per call, not per page: one
-- release of all the leases, one pace update a host, one count update.
-- KEYS: the partition's epoch key (see common.lua).
-- ARGV: prefix, epoch, call id, worker, default gap (ms), pages ended, take's eight
--       arguments (jobs wanted first; 0: take none), then per page ended: lease id, host, ms
--       since the host's last request (-1: none), Crawl-delay (ms, 0: none), outcome, links,
--       depth; then the children as in push.lua.
-- Returns {children new, version, then take's answer, if jobs were wanted}.
local p, call, worker = ARGV[1], ARGV[3], ARGV[4]
local early = first_checks(p, ARGV[2], worker, call)
if early then
  return early
end
local default_gap, pages = tonumber(ARGV[5]), tonumber(ARGV[6])
local TAKE_ARGS, FIRST_PAGE, PAGE_ARGS = 7, 15, 7
local children = FIRST_PAGE + PAGE_ARGS * pages
local now = now_ms()

local ids = {}
for i = 1, pages do
  ids[i] = ARGV[FIRST_PAGE + PAGE_ARGS * (i - 1)]
end
local leased = release_all(p, worker, ids)

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
if tonumber(ARGV[TAKE_ARGS]) > 0 then
  for _, value in ipairs(take(p, TAKE_ARGS)) do
    table.insert(reply, value)
  end
end
return answer(p, worker, call, reply)
