-- Renews all of this worker's leases in a partition and beats its heartbeat there (lifetime
-- > 0: one deadline for the worker covers every lease it holds, see `deadline`, so no lease
-- id is sent), or gives the leases listed back (lifetime 0: the worker stops before
-- finishing them, and their jobs go back to the front of their hosts' queues).
-- KEYS: the partition's epoch key (see common.lua).
-- ARGV: prefix, epoch, call id, worker, lifetime (ms), heartbeat (ms: the worker counts as
--       dead when it has not beaten for this long), then (lifetime 0) lease ids...
-- Returns how many leases the worker holds in the partition (renewed), or how many of those
-- listed it still held (given back).
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
  ours = redis.call('HLEN', leases_key(p, worker))
else
  for i = 7, #ARGV do
    if requeue(p, ARGV[i]) then
      ours = ours + 1
    end
  end
end
return answer(p, worker, call, ours)
