-- wrk script of bench_web.py: one signed-in agent per connection, a mixed path list, latency per page type.
--
--   WRK_COOKIES=file (one Cookie header per line)  WRK_PATHS=file ("type<TAB>path" lines)  WRK_OUT=file
--   WRK_THINK_MS=mean pause between a user's requests (0: none)
--   wrk -t N -c N -s bench/wrk_paths.lua http://127.0.0.1:PORT
--
-- Run with as many threads as connections: each thread then owns one connection, one session
-- cookie and a clock of its own, so the time from request() to response() is that request's
-- latency (wrk's own histogram has no per-type split).  done() writes "type<TAB>status<TAB>µs"
-- per request and a summary line, for bench_web.py to turn into percentiles.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("bench_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end

local function lines(name)
  local out = {}
  for line in io.lines(name) do
    out[#out + 1] = line
  end
  return out
end

-- main state: hand each thread its number and its session
local threads = {}
local cookies = lines(os.getenv("WRK_COOKIES"))

function setup(thread)
  local n = #threads + 1
  thread:set("number", n)
  thread:set("cookie", cookies[(n - 1) % #cookies + 1])
  threads[n] = thread
end

-- thread state (samples is global: done() reads it with thread:get)
local kinds, paths = {}, {}
samples = {}
local position, started, current = 0, 0, nil

function init(args)
  for _, line in ipairs(lines(os.getenv("WRK_PATHS"))) do
    local kind, path = line:match("^([^\t]+)\t(.+)$")
    kinds[#kinds + 1] = kind
    paths[#paths + 1] = path
  end
  position = (number * 997) % #paths  -- each user walks the shuffled mix from its own place
  wrk.headers["Cookie"] = cookie
  wrk.headers["User-Agent"] = "bench-web/1"
end

function request()
  position = position % #paths + 1
  current = kinds[position]
  started = now_us()
  return wrk.format("GET", paths[position])
end

local think = tonumber(os.getenv("WRK_THINK_MS") or "0")
if think > 0 then
  function delay()  -- an agent reading the page: 0.5–1.5 × the mean
    return math.floor(think * (0.5 + math.random()))
  end
end

function response(status, headers, body)
  samples[#samples + 1] = string.format("%s\t%d\t%d", current, status, now_us() - started)
end

function done(summary, latency, requests)
  local out = assert(io.open(os.getenv("WRK_OUT"), "w"))
  for _, thread in ipairs(threads) do
    for _, sample in ipairs(thread:get("samples")) do
      out:write(sample, "\n")
    end
  end
  local e = summary.errors
  out:write(string.format("#summary\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", summary.duration, summary.requests,
    e.connect, e.read, e.write, e.status, e.timeout, summary.bytes))
  out:close()
end
