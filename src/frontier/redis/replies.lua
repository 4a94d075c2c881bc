-- Helpers every script of a crawl starts with, in a partition or in the crawl's own slot:
-- Redis's clock, and the answers kept for calls a worker may send again. `p` is the prefix
-- of the slot the script runs in.

-- Redis's clock, in milliseconds: one clock for every worker. Read once a call: a script
-- runs in an instant of Redis's time anyway (its writes are atomic).
local clock
local function now_ms()
  if not clock then
    local t = redis.call('TIME')
    clock = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return clock
end

-- A kept answer is stored as `CALL<LF>JSON`: the call id first (ids hold no line feed), so
-- telling whether a call was answered before needs no decoding of an answer that may hold a
-- batch of jobs.

-- The answer to call `call` in `kept` (the kept answer, or false), if it answers that call.
local function replayed(kept, call)
  local head = call .. '\n'
  if kept and string.sub(kept, 1, #head) == head then
    return cjson.decode(string.sub(kept, #head + 1))
  end
  return nil
end

-- The answer kept for call `call` of `worker` in this slot, if this call was made before
-- (the worker sends a call again when its reply was lost). A worker makes one call at a time
-- in a partition, so one kept answer per worker is enough.
local function replay(p, worker, call)
  if call == '' then
    return nil
  end
  return replayed(redis.call('GET', p .. 'reply:' .. worker), call)
end

-- Keeps `answer` as the answer to call `call` of `worker`, and returns it.
local function keep(p, worker, call, answer)
  if call ~= '' then
    redis.call('SET', p .. 'reply:' .. worker, call .. '\n' .. cjson.encode(answer), 'PX', 600000)
  end
  return answer
end
