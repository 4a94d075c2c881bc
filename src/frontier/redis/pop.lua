-- Takes up to the jobs wanted of a partition (see `take`).
-- KEYS: the partition's epoch key (see common.lua).
-- ARGV: prefix, epoch, call id, worker, then take's eight arguments.
local p, call, worker = ARGV[1], ARGV[3], ARGV[4]
local early = first_checks(p, ARGV[2], worker, call)
if early then
  return early
end
return answer(p, worker, call, take(p, 5))
