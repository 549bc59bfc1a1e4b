-- wrk script shared by every scenario of bench/run.sh. The request comes from the environment
-- (BENCH_METHOD, BENCH_BODY, BENCH_CONTENT_TYPE, BENCH_AUTHORIZATION, BENCH_FEED), and when the run ends it
-- prints one machine-readable line:
--   BENCH_RESULT {"requests":N,"secs":S,"rps":R,"p50_us":…,"p99_us":…,"non2xx":…,"socket_errors":…}
-- wrk counts every response with status >= 400 as a status error ("non2xx" here); no scenario
-- can produce a 3xx (none sends If-None-Match), so that is the non-2xx count.

wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE") or "application/x-www-form-urlencoded"
end
local authorization = os.getenv("BENCH_AUTHORIZATION")
if authorization and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end

-- Feeds (BENCH_FEED, items one per line in BENCH_FEED_FILE), appended to the body:
--   codes:   each request takes the next authorization code (each can be redeemed once);
--   refresh: a queue of refresh tokens; each request takes one, and the successor its answer
--            carries goes back on the queue, so every connection walks its own rotation chain.
-- An exhausted feed sends "exhausted", which ferrid rejects (it shows in the non-2xx count).
-- A dpop feed (fresh DPoP proofs) puts the next proof in the DPoP header instead.
local feed = os.getenv("BENCH_FEED")
if feed == "codes" or feed == "refresh" or feed == "dpop" then
  local items, first, last = {}, 1, 0
  for line in io.lines(os.getenv("BENCH_FEED_FILE")) do
    if line ~= "" then
      last = last + 1
      items[last] = line
    end
  end
  local prefix = wrk.body or ""
  local build = function(item)
    if feed == "dpop" then
      wrk.headers["DPoP"] = item
      return wrk.format(nil, nil, nil, prefix)
    end
    return wrk.format(nil, nil, nil, prefix .. item)
  end
  -- wrk calls request() once before the run to check the request it builds; that call must not
  -- use up an item, since the request is never sent.
  local checked = false
  request = function()
    if not checked then
      checked = true
      return build(items[first] or "exhausted")
    end
    local item = "exhausted"
    if first <= last then
      item = items[first]
      items[first] = nil
      first = first + 1
    end
    return build(item)
  end
  if feed == "refresh" then
    response = function(status, headers, body)
      local successor = status == 200 and body:match('"refresh_token":"([^"]+)"')
      if successor then
        last = last + 1
        items[last] = successor
      end
    end
  end
end

done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"secs":%.3f,"rps":%.1f,"p50_us":%d,"p99_us":%d,"max_us":%d,"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
