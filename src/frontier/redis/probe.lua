-- What a partition holds, for the crawl's end check: {version, jobs queued, leases held}.
-- Writes nothing.
-- KEYS: the partition's epoch key (see common.lua).
-- ARGV: prefix, epoch, call id (''), worker ('').
local p = ARGV[1]
local gone = check_epoch(p, ARGV[2])
if gone then
  return gone
end
local stats = redis.call('HMGET', p .. 'stats', 'version', 'queued', 'leased')
return {tonumber(stats[1]) or 0, tonumber(stats[2]) or 0, tonumber(stats[3]) or 0}
