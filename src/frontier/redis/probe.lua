-- What a partition holds, for the crawl's end check: {version, jobs queued, leases held}.
-- Writes nothing.
-- KEYS: the partition's epoch key (see common.lua).
-- ARGV: prefix, epoch, call id (''), worker ('').
local p = ARGV[1]
local gone = check_epoch(p, ARGV[2])
if gone then
  return gone
end
local queued = tonumber(redis.call('HGET', p .. 'stats', 'queued')) or 0
return {version(p), queued, redis.call('ZCARD', p .. 'leases')}
