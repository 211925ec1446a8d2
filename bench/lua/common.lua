-- Shared by the benchmark's wrk scripts: status counts per thread and one JSON line at the end
-- ("BENCH_JSON {...}"), which bench/loadgen reads. Latencies are in microseconds.
local common = {}
local threads = {}

statuses = {}

function common.setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function common.count(status)
  statuses[status] = (statuses[status] or 0) + 1
end

local function object(fields)
  local parts = {}
  for key, value in pairs(fields) do
    table.insert(parts, string.format('"%s":%s', tostring(key), tostring(value)))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function common.done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses") or {}
    for code, n in pairs(counts) do
      merged[code] = (merged[code] or 0) + n
    end
  end
  local percentiles = {}
  for _, p in ipairs({50, 90, 95, 99, 99.9}) do
    percentiles['p' .. tostring(p)] = latency:percentile(p)
  end
  percentiles.min = latency.min
  percentiles.max = latency.max
  percentiles.mean = latency.mean
  local errors = summary.errors
  io.write("BENCH_JSON ", object({
    tool = '"wrk"',
    requests = summary.requests,
    duration_us = summary.duration,
    bytes = summary.bytes,
    latency_us = object(percentiles),
    statuses = object(merged),
    errors = object({connect = errors.connect, read = errors.read, write = errors.write,
                     status = errors.status, timeout = errors.timeout}),
  }), "\n")
end

return common
