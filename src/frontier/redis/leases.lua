-- Renews this worker's leases for another lifetime (lifetime > 0), or gives them back
-- (lifetime 0: the worker stops before finishing them, and their jobs go back to the front of
-- their hosts' queues). ARGV: prefix, lifetime (ms), lease ids...
-- Returns how many of the leases were still held.
local p = ARGV[1]
local lease_ms = tonumber(ARGV[2])
local now = now_ms()
local ours = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  if lease_ms > 0 then
    ours = ours + redis.call('ZADD', p .. 'leases', 'XX', 'CH', now + lease_ms, id)
  elseif requeue(p, id) then
    ours = ours + 1
  end
end
return ours
