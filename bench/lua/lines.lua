-- POST one prepared request per line of BENCH_LINES_FILE ("<path>\t<json body>"), each line once:
-- thread n takes the lines n, n + threads, ... and stops once it has as many answers as lines.
-- bench/loadgen interrupts wrk when the database shows every request applied.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

local file = os.getenv("BENCH_LINES_FILE")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

setup = common.setup
done = common.done

local mine = {}
local sent = 0
local answered = 0

function init(args)
  local n = 0
  for line in io.lines(file) do
    if n % nthreads == (id or 0) then
      local path, body = line:match("^([^\t]*)\t(.*)$")
      table.insert(mine, wrk.format(nil, path, nil, body))
    end
    n = n + 1
  end
  -- wrk calls request() once on the first thread to check the script: do not spend a line on it.
  if (id or 0) == 0 then sent = -1 end
end

function request()
  sent = sent + 1
  -- Past the last line (connections still open while the others finish): repeat the last one;
  -- a repeated report is an idempotent no-op for the gateway.
  return mine[math.max(1, math.min(sent, #mine))]
end

function response(status, headers, body)
  common.count(status)
  answered = answered + 1
  if answered >= #mine then
    wrk.thread:stop()
  end
end
