-- Queues the jobs whose URLs were not seen before.
-- ARGV: prefix, then per job: seen bucket, fingerprint, host, job.
-- Returns how many were new.
return queue_unseen(ARGV[1], 2)
