-- Publishes links' statuses (`--check`): a link checked by its claimant, or a page the crawl
-- fetched, whose answer is the status of every link to it. A status replaces a claim (whoever
-- holds it: a page's own answer ends a check of it that another worker started) and is kept
-- once there: the first status wins, so sending this again changes nothing. Each status
-- stored counts in the partition's stats (`links_checked`, and `links_broken` when broken),
-- for `areq status`.
-- KEYS: the partition's epoch key (see common.lua).
-- ARGV: prefix, epoch, call id (''), worker, then fingerprint, status, broken (1 or 0) per
--       link.
-- Returns how many statuses were new.
local p = ARGV[1]
local gone = check_epoch(p, ARGV[2])
if gone then
  return gone
end
local key = p .. 'checked'
local new, broken = 0, 0
for i = 5, #ARGV, 3 do
  local value = redis.call('HGET', key, ARGV[i])
  if not value or string.sub(value, 1, 1) ~= 's' then
    redis.call('HSET', key, ARGV[i], 's' .. ARGV[i + 1])
    new = new + 1
    broken = broken + tonumber(ARGV[i + 2])
  end
end
if new > 0 then
  redis.call('HINCRBY', p .. 'stats', 'links_checked', new)
  if broken > 0 then
    redis.call('HINCRBY', p .. 'stats', 'links_broken', broken)
  end
end
return new
