-- What the crawl keeps once for all its partitions, in its own slot (`areq:{NAME}:`): the
-- active set (partitions that may hold work, by version), the workers waiting for work and
-- their wake-up list, and the page budget.
-- KEYS: the crawl's settings hash (`areq:{NAME}:settings`, which holds the epoch).
-- ARGV: prefix, epoch, call id, worker, then operations, each a name and one argument:
--   activate P:V   the partition P, at version V, has work: into the active set (a score
--                  only grows)
--   retire P:V     the partition P was found empty at version V: off the active set, unless
--                  it changed since (a later activate raised its score)
--   wake N         N jobs or slots appeared: wakes up to N waiting workers
--   idle MS        this worker found nothing to take: it waits for a wake-up, for MS
--   reserve N      takes up to N pages of the budget (settings field `max-pages`)
--   unreserve N    gives N pages back (jobs handed back or taken back from a dead worker)
-- Returns {other workers waiting now, pages of the budget granted by reserve}.
if KEYS[1] ~= ARGV[1] .. 'settings' then
  return redis.error_reply('AREQ_KEYS KEYS[1] must be the settings key of the crawl at ARGV[1]')
end
local p, epoch, call, worker = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('HGET', KEYS[1], 'epoch') ~= epoch then
  return redis.error_reply('AREQ_GONE the crawl is no longer in this Redis '
    .. '(restarted without persistence, flushed, failed over or forgotten)')
end
local kept = replay(p, worker, call)
if kept then
  return kept
end

local now = now_ms()
local waiting = p .. 'waiting'
local granted = 0

-- How many workers other than this one wait for work now: a worker needs no wake-up for the
-- work it makes itself (its own calls bring it).
local function others_waiting()
  local n = redis.call('ZCOUNT', waiting, now, '+inf')
  local mine = tonumber(redis.call('ZSCORE', waiting, worker))
  if mine and mine >= now then
    n = n - 1
  end
  return n
end

for i = 5, #ARGV, 2 do
  local op, arg = ARGV[i], ARGV[i + 1]
  if op == 'activate' then
    local part, at = string.match(arg, '^(%d+):(%d+)$')
    redis.call('ZADD', p .. 'active', 'GT', tonumber(at), part)
  elseif op == 'retire' then
    local part, at = string.match(arg, '^(%d+):(%d+)$')
    local score = tonumber(redis.call('ZSCORE', p .. 'active', part))
    if score and score <= tonumber(at) then
      redis.call('ZREM', p .. 'active', part)
    end
  elseif op == 'wake' then
    local n = math.min(tonumber(arg), 16)
    if n > 0 and others_waiting() > 0 then
      local tokens = {}
      for j = 1, n do
        tokens[j] = '1'
      end
      redis.call('LPUSH', p .. 'wake', unpack(tokens))
      redis.call('LTRIM', p .. 'wake', 0, 31)
    end
  elseif op == 'idle' then
    redis.call('ZADD', waiting, now + tonumber(arg), worker)
  elseif op == 'reserve' then
    local budget = tonumber(redis.call('HGET', KEYS[1], 'max-pages')) or 0
    local started = tonumber(redis.call('HGET', p .. 'budget', 'started')) or 0
    local want = tonumber(arg)
    if budget > 0 then
      want = math.max(0, math.min(want, budget - started))
    end
    redis.call('HINCRBY', p .. 'budget', 'started', want)
    granted = granted + want
  elseif op == 'unreserve' then
    redis.call('HINCRBY', p .. 'budget', 'started', -tonumber(arg))
  end
end
redis.call('ZREMRANGEBYSCORE', waiting, '-inf', now)
return keep(p, worker, call, {others_waiting(), granted})
