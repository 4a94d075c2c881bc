-- Stores a crawl's settings when it is new, or compares them with the stored ones.
-- ARGV: prefix, then name, value pairs. Returns {name, stored value} for each mismatch.
local p = ARGV[1]
local key = p .. 'settings'
local mismatches = {}
if redis.call('EXISTS', key) == 0 then
  for i = 2, #ARGV, 2 do
    redis.call('HSET', key, ARGV[i], ARGV[i + 1])
  end
  return mismatches
end
for i = 2, #ARGV, 2 do
  local stored = redis.call('HGET', key, ARGV[i])
  if stored ~= ARGV[i + 1] then
    table.insert(mismatches, ARGV[i])
    table.insert(mismatches, stored or '(none)')
  end
end
return mismatches
