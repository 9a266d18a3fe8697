-- wrk script for bench/intake.py: each thread cycles through its own share of pre-signed
-- Twilio SMS bodies (one "signature<TAB>body" line each), counts the 200 answers, and the
-- run ends with one JSON line the bench reads. Arguments: file path, threads, URL path.
local threads = {}
local made = 0

function setup(thread)
  made = made + 1
  thread:set("tid", made)
  table.insert(threads, thread)
end

function init(args)
  local file, n, path = args[1], tonumber(args[2]), args[3]
  reqs = {}
  local i = 0
  for line in io.lines(file) do
    if i % n == tid - 1 then
      local sig, body = line:match("^([^\t]*)\t(.*)$")
      reqs[#reqs + 1] = wrk.format("POST", path, {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = sig,
      }, body)
    end
    i = i + 1
  end
  idx, ok, wrapped = 0, 0, 0
end

function request()
  idx = idx + 1
  if idx > #reqs then
    -- Past the end the bodies repeat: duplicates, which a storing server must not count.
    idx, wrapped = 1, wrapped + 1
  end
  return reqs[idx]
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  end
end

function done(summary, latency, requests)
  local acked, wraps = 0, 0
  for _, thread in ipairs(threads) do
    acked = acked + thread:get("ok")
    wraps = wraps + thread:get("wrapped")
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "us": %d, "ok": %d, "wrapped": %d, "errors": %d, '
      .. '"p50": %d, "p99": %d}\n',
    summary.requests, summary.duration, acked, wraps,
    e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(99)))
end
