//! The Lua scripts of the Redis backend (`redis.rs`), each a read-modify-write that Redis runs
//! as one atomic step, so concurrent requests and every instance sharing the Redis see one
//! outcome. Each touches only the keys it is given or keys of their hash tag (Redis Cluster
//! runs a script on one slot).

/// `DEL` only while the current value equals `ARGV[1]`.
pub(super) const DELETE_IF: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Compare-and-swap in one server-side step: SET only if the current value equals ARGV[1].
pub(super) const COMPARE_AND_SWAP: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[3] == '0' then
    redis.call('SET', KEYS[1], ARGV[2])
  else
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  end
  return 1
end
return 0
"#;

/// `count_below_limits`: KEYS are the counters, each `<count>:<window end in ms>`; ARGV[1] is
/// the caller's now in ms, ARGV[2] the window in ms, ARGV[2 + i] the limit of KEYS[i]. A counter
/// whose window has ended counts from zero. Returns -1 when every counter counted one more,
/// else the ms until the window of the full counter that lasts longest ends. Each record
/// expires when its window ends.
pub(super) const COUNT_BELOW_LIMITS: &str = r"
local now = tonumber(ARGV[1])
local counters = {}
local wait = -1
for i, key in ipairs(KEYS) do
  local count, ends = 0, now + tonumber(ARGV[2])
  local raw = redis.call('GET', key)
  if raw then
    local c, e = string.match(raw, '^(%d+):(%d+)$')
    if not c then
      return redis.error_reply('not a counter: ' .. key)
    end
    if tonumber(e) > now then
      count, ends = tonumber(c), tonumber(e)
    end
  end
  if count >= tonumber(ARGV[2 + i]) then
    wait = math.max(wait, ends - now, 1)
  end
  counters[i] = {count, ends}
end
if wait >= 0 then
  return wait
end
for i, key in ipairs(KEYS) do
  local count, ends = counters[i][1], counters[i][2]
  redis.call('SET', key, string.format('%d:%d', count + 1, ends), 'PX', math.max(ends - now, 1))
end
return -1
";

/// `uncount`: takes one off each existing counter of KEYS (keeping its window and expiry),
/// deleting it at zero.
pub(super) const UNCOUNT: &str = r"
for _, key in ipairs(KEYS) do
  local raw = redis.call('GET', key)
  local c, e = string.match(raw or '', '^(%d+):(%d+)$')
  if c then
    if tonumber(c) <= 1 then
      redis.call('DEL', key)
    else
      redis.call('SET', key, string.format('%d:%s', tonumber(c) - 1, e), 'KEEPTTL')
    end
  end
end
return 0
";

/// `put_capped`: KEYS[1] is the index (a list of key names, oldest first), KEYS[2] the key to
/// write; ARGV the value, the TTL in ms and the cap. The keys an index lists share its hash tag,
/// so the ones evicted here live in the same slot as KEYS.
pub(super) const PUT_CAPPED: &str = r"
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
local length = redis.call('RPUSH', KEYS[1], KEYS[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
while length > tonumber(ARGV[3]) do
  redis.call('DEL', redis.call('LPOP', KEYS[1]))
  length = length - 1
end
return 0
";

/// `delete_capped`: takes KEYS[2] off the index KEYS[1] and deletes it.
pub(super) const DELETE_CAPPED: &str = r"
redis.call('LREM', KEYS[1], 1, KEYS[2])
return redis.call('DEL', KEYS[2])
";

/// Adds ARGV[1] to the sorted set KEYS[1] scored by its end ARGV[2], after dropping the members
/// ended by ARGV[3] (now); the key expires with its last member.
pub(super) const SET_ADD: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local ttl = tonumber(last[2]) - tonumber(ARGV[3])
if ttl < 1 then ttl = 1 end
redis.call('EXPIRE', KEYS[1], ttl)
return 1
";
