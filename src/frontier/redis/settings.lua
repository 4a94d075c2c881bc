-- Stores a crawl's settings when it is new, with a new epoch and its partition count, or
-- compares them with the stored ones.
-- KEYS: the crawl's settings hash.
-- ARGV: a new epoch and a partition count (used when the crawl is new), then name, value
--       pairs.
-- Returns {epoch, partitions, ready (1: every partition has the epoch), then name, stored
-- value for each mismatch}.
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then
  redis.call('HSET', key, 'epoch', ARGV[1], 'partitions', ARGV[2])
  for i = 3, #ARGV, 2 do
    redis.call('HSET', key, ARGV[i], ARGV[i + 1])
  end
  return {ARGV[1], ARGV[2], '0'}
end
local stored = redis.call('HMGET', key, 'epoch', 'partitions', 'ready')
local answer = {stored[1] or '', stored[2] or '', stored[3] or '0'}
for i = 3, #ARGV, 2 do
  local value = redis.call('HGET', key, ARGV[i])
  if value ~= ARGV[i + 1] then
    table.insert(answer, ARGV[i])
    table.insert(answer, value or '(none)')
  end
end
return answer
