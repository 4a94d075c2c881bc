-- Queues the jobs of a partition whose URLs were not seen before.
-- KEYS: the partition's epoch key (see common.lua).
-- ARGV: prefix, epoch, call id, worker, then per job: bucket seed, fingerprint, host, job.
-- Returns {how many were new, the partition's version}.
local p, call, worker = ARGV[1], ARGV[3], ARGV[4]
local early = first_checks(p, ARGV[2], worker, call)
if early then
  return early
end
local new = queue_unseen(p, 5)
return answer(p, worker, call, {new, version(p)})
