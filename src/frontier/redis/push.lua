-- Queues the jobs whose URLs were not seen before.
-- KEYS: the crawl's settings hash (see common.lua).
-- ARGV: prefix, epoch, call id, worker, then per job: seen bucket, fingerprint, host, job.
-- Returns how many were new.
local p, call, worker = ARGV[1], ARGV[3], ARGV[4]
local gone = check_epoch(p, ARGV[2])
if gone then
  return gone
end
local kept = replay(p, worker, call)
if kept then
  return kept
end
return keep(p, worker, call, queue_unseen(p, 5))
