-- Takes the next job (see `take`).
-- KEYS: the crawl's settings hash (see common.lua).
-- ARGV: prefix, epoch, call id, then take's nine arguments (the first is the worker).
local p, call, worker = ARGV[1], ARGV[3], ARGV[4]
local gone = check_epoch(p, ARGV[2])
if gone then
  return gone
end
local kept = replay(p, worker, call)
if kept then
  return kept
end
return keep(p, worker, call, take(p, 4))
