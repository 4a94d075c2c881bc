-- What every partition of the crawl holds, in one call, for the crawl's end check on a single
-- server: {version, jobs queued, leases held} of each partition, in KEYS order (as probe.lua
-- answers for one). A Cluster spreads the partitions over its masters, so there each is
-- probed apart, with probe.lua. Writes nothing.
-- KEYS: the epoch key of every partition (`areq:{NAME:N}:epoch`), in order.
-- ARGV: the crawl's prefix, the crawl's epoch as the worker joined it, call id (''), worker
--       ('').
local epoch = ARGV[2]
local answer = {}
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) ~= epoch then
    return redis.error_reply('AREQ_GONE the crawl is no longer in this Redis '
      .. '(restarted without persistence, flushed, failed over or forgotten)')
  end
  local p = string.sub(key, 1, #key - 5)
  local stats = redis.call('HMGET', p .. 'stats', 'version', 'queued', 'leased')
  for i = 1, 3 do
    answer[#answer + 1] = tonumber(stats[i]) or 0
  end
end
return answer
