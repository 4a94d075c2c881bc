-- Queues the jobs whose URLs were not seen before.
-- KEYS: the crawl's settings hash (see common.lua).
-- ARGV: prefix, epoch, call id, worker, then per job: seen bucket, fingerprint, host, job.
-- Returns how many were new.
local p, call, worker = ARGV[1], ARGV[3], ARGV[4]
local early = first_checks(p, ARGV[2], worker, call)
if early then
  return early
end
return keep(p, worker, call, queue_unseen(p, 5))
