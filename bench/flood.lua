-- wrk script of bench/pending_flood.sh: sends the same cookieless GET (an /authorize request,
-- each of which starts a pending sign-in) until FLOOD_REQUESTS responses have arrived, then prints
-- one machine-readable line and ends wrk at once (run it with -t1, so the count is the total):
--   FLOOD_RESULT {"requests":N,"redirects":N,"other":N}
-- wrk itself would wait out its whole -d duration even after `wrk.thread:stop()`, and its
-- `done` runs in another Lua state than the thread that counted; the caller times the run.
local limit = tonumber(os.getenv("FLOOD_REQUESTS") or "100000")
local seen, redirects, other = 0, 0, 0

response = function(status, headers, body)
  seen = seen + 1
  if status == 303 then
    redirects = redirects + 1
  else
    other = other + 1
  end
  if seen >= limit then
    io.write(string.format('FLOOD_RESULT {"requests":%d,"redirects":%d,"other":%d}\n',
      seen, redirects, other))
    io.flush()
    os.exit(0)
  end
end
