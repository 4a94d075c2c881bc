-- Renews this worker's leases in a partition for another lifetime and beats its heartbeat
-- there (lifetime > 0: one deadline for the worker, see `deadline`), or gives them back
-- (lifetime 0: the worker stops before finishing them, and their jobs go back to the front
-- of their hosts' queues).
-- KEYS: the partition's epoch key (see common.lua).
-- ARGV: prefix, epoch, call id, worker, lifetime (ms), heartbeat (ms: the worker counts as
--       dead when it has not beaten for this long), lease ids...
-- Returns how many of the leases were still held.
local p, call, worker = ARGV[1], ARGV[3], ARGV[4]
local early = first_checks(p, ARGV[2], worker, call)
if early then
  return early
end
local lease_ms, heartbeat_ms = tonumber(ARGV[5]), tonumber(ARGV[6])
local now = now_ms()
local ours = 0
if lease_ms > 0 then
  redis.call('ZADD', p .. 'alive', deadline(now, lease_ms, heartbeat_ms), worker)
  -- Counted in chunks of 500 (Lua passes a bounded number of arguments).
  local key = leases_key(p, worker)
  for first = 7, #ARGV, 500 do
    local held = redis.call('HMGET', key, unpack(ARGV, first, math.min(first + 499, #ARGV)))
    for _, job in ipairs(held) do
      if job then
        ours = ours + 1
      end
    end
  end
else
  for i = 7, #ARGV do
    if requeue(p, ARGV[i]) then
      ours = ours + 1
    end
  end
end
return answer(p, worker, call, ours)
