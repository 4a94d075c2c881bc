-- Takes the next send turn at a host for the whole crawl: the turn is the later of now and
-- the host's last request start plus its gap.
-- KEYS: the epoch key of the host's partition (see common.lua).
-- ARGV: prefix, epoch, call id (''), worker (''), host, gap (ms) this worker knows.
-- Returns how many ms to wait before sending.
local p, host = ARGV[1], ARGV[5]
local gone = check_epoch(p, ARGV[2])
if gone then
  return gone
end
local key = p .. 'host:' .. host
local now = now_ms()
local gap = math.max(tonumber(ARGV[6]), tonumber(redis.call('HGET', key, 'gap')) or 0)
local last = tonumber(redis.call('HGET', key, 'last'))
local turn = now
if last and last + gap > now then
  turn = last + gap
end
redis.call('HSET', key, 'last', turn)
return turn - now
