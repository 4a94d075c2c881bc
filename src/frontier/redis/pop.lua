-- Takes the next job (see `take`).
-- KEYS: the crawl's settings hash (see common.lua).
-- ARGV: prefix, epoch, call id, then take's nine arguments (the first is the worker).
local p, call, worker = ARGV[1], ARGV[3], ARGV[4]
local early = first_checks(p, ARGV[2], worker, call)
if early then
  return early
end
return keep(p, worker, call, take(p, 4))
