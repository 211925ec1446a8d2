-- POST /api/v1/Message/send with a Bearer token and SMS content, a new destination per request
-- (every thread counts in its own block, so no two requests of a run share a destination).
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

local account = os.getenv("BENCH_ACCOUNT")
local text = os.getenv("BENCH_TEXT") or "Your benchmark code is 123456"
local sender = os.getenv("BENCH_SENDER") or "BenchBrand"

wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/api/v1/Message/send"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")

setup = common.setup
done = common.done

local counter = 0

function request()
  counter = counter + 1
  -- +41 79 x xxxxxx: a valid Swiss mobile number, x = the thread.
  local destination = string.format("+4179%d%06d", (id or 0) % 10, counter % 1000000)
  local body = string.format(
    '{"trafficAccountId":"%s","destination":"%s","sms":{"text":"%s","sender":"%s"}}',
    account, destination, text, sender)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  common.count(status)
end
