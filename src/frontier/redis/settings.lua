-- Stores a crawl's settings when it is new, with a new epoch, or compares them with the
-- stored ones.
-- KEYS: the crawl's settings hash.
-- ARGV: a new epoch (used when the crawl is new), then name, value pairs.
-- Returns {epoch, then name, stored value for each mismatch}.
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then
  redis.call('HSET', key, 'epoch', ARGV[1])
  for i = 2, #ARGV, 2 do
    redis.call('HSET', key, ARGV[i], ARGV[i + 1])
  end
  return {ARGV[1]}
end
local answer = {redis.call('HGET', key, 'epoch') or ''}
for i = 2, #ARGV, 2 do
  local stored = redis.call('HGET', key, ARGV[i])
  if stored ~= ARGV[i + 1] then
    table.insert(answer, ARGV[i])
    table.insert(answer, stored or '(none)')
  end
end
return answer
