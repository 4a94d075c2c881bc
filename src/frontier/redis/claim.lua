-- Looks up links' statuses (`--check`), claiming for this worker each link no live claim
-- holds: the claimant checks the link and publishes its status (publish.lua), and the other
-- workers wait for it. A worker asking again about a link it holds renews its claim, so the
-- same call renews a worker's claims. Sent again after a lost reply, it answers the same.
-- The partition's `checked` hash holds, per link fingerprint (16 bytes), `s` and the status
-- text, or a claim: `c`, its expiry (ms, Redis time), a space and the worker.
-- KEYS: the partition's epoch key (see common.lua).
-- ARGV: prefix, epoch, call id (''), worker, claim lifetime (ms), then a fingerprint per link.
-- Returns, per link in order: `s` and its status; `mine` (this worker holds its claim); or
-- the ms left of another worker's claim.
local p, worker = ARGV[1], ARGV[4]
local gone = check_epoch(p, ARGV[2])
if gone then
  return gone
end
local key = p .. 'checked'
local lifetime = tonumber(ARGV[5])
local now = now_ms()
local answers = {}
for i = 6, #ARGV do
  local fingerprint = ARGV[i]
  local value = redis.call('HGET', key, fingerprint)
  local answer = 'mine'
  if value and string.sub(value, 1, 1) == 's' then
    answer = value
  else
    local expiry, holder
    if value then
      expiry, holder = string.match(value, '^c(%d+) (.*)$')
      expiry = tonumber(expiry)
    end
    if expiry and holder ~= worker and expiry > now then
      answer = expiry - now
    else
      redis.call('HSET', key, fingerprint, 'c' .. (now + lifetime) .. ' ' .. worker)
    end
  end
  answers[#answers + 1] = answer
end
return answers
