-- wrk script that replays one captured HTTP request (method, headers, body) on every connection.
--
--   REPLAY_METHOD=POST REPLAY_HEADERS=req.headers REPLAY_BODY=req.body \
--     wrk -t 2 -c 16 -d 10s --latency -s bench/lib/replay.lua http://127.0.0.1:4466/query
--
-- REPLAY_HEADERS: a file with one "Name: value" per line (blank lines and lines starting with #
--                 are skipped). To try a cache hit, add a line such as "cache-control: max-age=60".
-- REPLAY_BODY:    a file whose bytes are sent as the body (optional; none for GET).
-- At the end it prints one line "WRK_JSON {...}" with the totals and latency percentiles (in µs),
-- which bench/scenarios/http-replay.mjs parses.

local function read_file(path)
  local f = assert(io.open(path, "rb"), "cannot open " .. path)
  local data = f:read("*a")
  f:close()
  return data
end

wrk.method = os.getenv("REPLAY_METHOD") or "GET"

local headers_file = os.getenv("REPLAY_HEADERS")
if headers_file and headers_file ~= "" then
  for line in read_file(headers_file):gmatch("[^\r\n]+") do
    if not line:match("^%s*#") then
      local name, value = line:match("^%s*([^:]+):%s*(.-)%s*$")
      if name then wrk.headers[name] = value end
    end
  end
end

local body_file = os.getenv("REPLAY_BODY")
if body_file and body_file ~= "" then
  wrk.body = read_file(body_file)
end

done = function(summary, latency, requests)
  local e = summary.errors
  local parts = {
    string.format('"requests":%d', summary.requests),
    string.format('"bytes":%d', summary.bytes),
    string.format('"duration_us":%d', summary.duration),
    string.format('"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}', e.connect, e.read, e.write, e.status, e.timeout),
    string.format('"latency_us":{"min":%d,"max":%d,"mean":%.2f,"stdev":%.2f,"p50":%d,"p90":%d,"p99":%d,"p99_9":%d}',
      latency.min, latency.max, latency.mean, latency.stdev,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)),
  }
  io.write("WRK_JSON {" .. table.concat(parts, ",") .. "}\n")
end
