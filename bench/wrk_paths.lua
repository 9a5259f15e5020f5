-- Replays pre-signed request paths (one per line in the file named by PATHS), each once per cycle,
-- and counts responses whose XML status is OK.
local paths = {}
local index = 0
ok_count = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = io.open(os.getenv("PATHS"), "r")
  for line in file:lines() do
    paths[#paths + 1] = line
  end
  file:close()
  -- each thread starts at its own offset so threads do not send the same path together
  index = math.random(#paths)
end

function request()
  index = index % #paths + 1
  return wrk.format("GET", paths[index])
end

function response(status, headers, body)
  if string.find(body, "<status>OK</status>", 1, true) then
    ok_count = ok_count + 1
  end
end

function done(summary, latency, requests)
  local ok = 0
  for _, thread in ipairs(threads) do
    ok = ok + (thread:get("ok_count") or 0)
  end
  io.write(string.format(
    "WRKJSON {\"requests\": %d, \"duration_us\": %d, \"ok\": %d, \"p50_us\": %d, \"p99_us\": %d, " ..
    "\"errors\": %d}\n",
    summary.requests, summary.duration, ok, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status +
    summary.errors.timeout))
end
