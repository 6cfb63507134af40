-- wrk script of bench/api_load.py: one method and path, an optional file of request bodies
-- (one per line, sent in turn so that no single answer is measured over and over), and a
-- JSON line of results at the end.
--   wrk -s bench/api_load.lua URL -- METHOD PATH [BODIES_FILE]
local method, path = "GET", "/"
local bodies = {}
local counter = 0

function init(args)
  method = args[1] or method
  path = args[2] or path
  if args[3] then
    for line in io.lines(args[3]) do
      bodies[#bodies + 1] = line
    end
    wrk.headers["Content-Type"] = "application/json"
  end
  -- Threads start at different places in the list.
  counter = math.random(0, math.max(#bodies - 1, 0))
end

function request()
  counter = counter + 1
  if #bodies > 0 then
    return wrk.format(method, path, nil, bodies[(counter % #bodies) + 1])
  end
  return wrk.format(method, path)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK-RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, errors.status, errors.connect + errors.read + errors.write + errors.timeout
  ))
end
