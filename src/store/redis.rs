//! The production store: Redis through one multiplexed, self-reconnecting
//! `aio::ConnectionManager`. The manager is created lazily, so ferrid starts (and `/readyz`
//! reports why it is not ready) while Redis is still down. Every key is namespaced under the
//! configured prefix. `take` is `GETDEL`, `swap` is `SET … GET` and `put_new` is `SET NX`, each a
//! single atomic command; `compare_and_swap` and `delete_if` are Lua scripts (EVALSHA: compare
//! and write in one step); TTLs are `PX` in milliseconds. Connection failures and timeouts map to
//! `StoreError::Unavailable`, which requests answer as 503 `temporarily_unavailable`. Sorted
//! indexes are sorted sets whose members all score 0, listed with `ZRANGEBYLEX`; expiring sets
//! are sorted sets scored by each member's end, trimmed and given the key's TTL by one script.
//!
//! Notices are Redis pub/sub on the prefixed channel name. Each subscription owns one dedicated
//! pub/sub connection in a background task that reconnects with backoff and signals a notice
//! after every (re)subscription, since anything published while it was away is lost.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, Script, ServerErrorKind};
use tokio::sync::mpsc;

use super::notices::{self, Notices};
use super::{Store, StoreError};

/// How long one command may take before the request gives up with 503.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest pause between attempts to re-establish a pub/sub subscription.
const MAX_RESUBSCRIBE_DELAY: Duration = Duration::from_secs(10);

/// `DEL` only while the current value equals `ARGV[1]`.
const DELETE_IF: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Compare-and-swap in one server-side step: SET only if the current value equals ARGV[1].
const COMPARE_AND_SWAP: &str = r#"
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

/// Adds ARGV[1] to the sorted set KEYS[1] scored by its end ARGV[2], after dropping the members
/// ended by ARGV[3] (now); the key expires with its last member.
const SET_ADD: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local ttl = tonumber(last[2]) - tonumber(ARGV[3])
if ttl < 1 then ttl = 1 end
redis.call('EXPIRE', KEYS[1], ttl)
return 1
";

/// Redis-backed store.
pub struct RedisStore {
    client: redis::Client,
    connection: ConnectionManager,
    prefix: String,
    compare_and_swap: Script,
    delete_if: Script,
    set_add: Script,
}

impl RedisStore {
    /// A store for `url`; connects on first use and reconnects by itself.
    pub fn connect_lazily(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(map_error)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let connection =
            ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(map_error)?;
        Ok(Self {
            client,
            connection,
            prefix: prefix.to_owned(),
            compare_and_swap: Script::new(COMPARE_AND_SWAP),
            delete_if: Script::new(DELETE_IF),
            set_add: Script::new(SET_ADD),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn set_command(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> redis::Cmd {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(value);
        if let Some(ttl) = ttl {
            // PX 0 is an error in Redis; a zero TTL means "expires at once" → 1 ms.
            cmd.arg("PX").arg(ttl.as_millis().max(1) as u64);
        }
        cmd
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        let mut connection = self.connection.clone();
        cmd.query_async(&mut connection).await.map_err(map_error)
    }
}

/// Keeps one subscription alive until its receiver is dropped: subscribe, forward messages,
/// and after any failure reconnect with backoff from 100 ms up to `MAX_RESUBSCRIBE_DELAY`.
async fn forward_notices(client: redis::Client, channel: String, sender: mpsc::Sender<()>) {
    let mut delay = Duration::from_millis(100);
    loop {
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, RedisError>(pubsub)
        };
        let pubsub = tokio::select! {
            () = sender.closed() => return,
            result = subscribed => result,
        };
        match pubsub {
            Ok(pubsub) => {
                delay = Duration::from_millis(100);
                // Whatever was published while unsubscribed is lost: tell the reader to look.
                if !notices::signal(&sender) {
                    return;
                }
                let mut messages = pubsub.into_on_message();
                loop {
                    tokio::select! {
                        () = sender.closed() => return,
                        message = messages.next() => match message {
                            Some(_) => {
                                if !notices::signal(&sender) {
                                    return;
                                }
                            }
                            None => break,
                        },
                    }
                }
                tracing::debug!(channel = %channel, "pub/sub connection lost; resubscribing");
            }
            Err(err) => {
                tracing::debug!(channel = %channel, error = %err, "cannot subscribe; retrying");
            }
        }
        tokio::select! {
            () = sender.closed() => return,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(MAX_RESUBSCRIBE_DELAY);
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<(), StoreError> {
        self.run::<()>(&self.set_command(key, value, ttl)).await
    }

    async fn put_new(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        let mut cmd = self.set_command(key, value, ttl);
        cmd.arg("NX");
        let reply: Option<String> = self.run(&cmd).await?;
        Ok(reply.is_some())
    }

    async fn swap(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mut cmd = self.set_command(key, value, ttl);
        cmd.arg("GET");
        self.run(&cmd).await
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected: &[u8],
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        let ttl_ms = ttl.map_or(0, |ttl| ttl.as_millis().max(1) as u64);
        let mut connection = self.connection.clone();
        let swapped: i64 = self
            .compare_and_swap
            .key(self.key(key))
            .arg(expected)
            .arg(value)
            .arg(ttl_ms)
            .invoke_async(&mut connection)
            .await
            .map_err(map_error)?;
        Ok(swapped == 1)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(redis::cmd("GET").arg(self.key(key))).await
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(redis::cmd("GETDEL").arg(self.key(key))).await
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let deleted: u64 = self.run(redis::cmd("DEL").arg(self.key(key))).await?;
        Ok(deleted > 0)
    }

    async fn delete_if(&self, key: &str, expected: &[u8]) -> Result<bool, StoreError> {
        let mut connection = self.connection.clone();
        let deleted: u64 = self
            .delete_if
            .key(self.key(key))
            .arg(expected)
            .invoke_async(&mut connection)
            .await
            .map_err(map_error)?;
        Ok(deleted > 0)
    }

    async fn publish(&self, channel: &str) -> Result<(), StoreError> {
        self.run::<u64>(redis::cmd("PUBLISH").arg(self.key(channel)).arg("changed"))
            .await
            .map(|_| ())
    }

    fn subscribe(&self, channel: &str) -> Notices {
        let (sender, notices) = Notices::channel();
        tokio::spawn(forward_notices(
            self.client.clone(),
            self.key(channel),
            sender,
        ));
        notices
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.run::<String>(&redis::cmd("PING")).await.map(|_| ())
    }

    fn name(&self) -> &'static str {
        "redis"
    }

    async fn index_add(&self, index: &str, member: &str) -> Result<(), StoreError> {
        self.run::<u64>(redis::cmd("ZADD").arg(self.key(index)).arg(0).arg(member))
            .await
            .map(|_| ())
    }

    async fn index_remove(&self, index: &str, member: &str) -> Result<bool, StoreError> {
        let removed: u64 = self
            .run(redis::cmd("ZREM").arg(self.key(index)).arg(member))
            .await?;
        Ok(removed > 0)
    }

    async fn index_range(
        &self,
        index: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        // Every member has score 0, so ZRANGEBYLEX orders them by bytes (memcmp).
        let min = match after {
            Some(after) => format!("({after}"),
            None => "-".to_owned(),
        };
        self.run(
            redis::cmd("ZRANGEBYLEX")
                .arg(self.key(index))
                .arg(min)
                .arg("+")
                .arg("LIMIT")
                .arg(0)
                .arg(limit),
        )
        .await
    }

    async fn set_add(
        &self,
        key: &str,
        member: &str,
        expires_at: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        self.set_add
            .key(self.key(key))
            .arg(member)
            .arg(expires_at)
            .arg(now)
            .invoke_async::<i64>(&mut connection)
            .await
            .map_err(map_error)
            .map(|_| ())
    }

    async fn set_members(&self, key: &str, now: u64) -> Result<Vec<String>, StoreError> {
        self.run(
            redis::cmd("ZRANGEBYSCORE")
                .arg(self.key(key))
                .arg(format!("({now}"))
                .arg("+inf"),
        )
        .await
    }
}

/// Connection trouble is `Unavailable` (retryable, 503); anything else is a backend error.
fn map_error(err: RedisError) -> StoreError {
    let unavailable = err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || matches!(
            err.kind(),
            ErrorKind::AuthenticationFailed
                | ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                )
        );
    if unavailable {
        StoreError::Unavailable(err.to_string())
    } else {
        StoreError::Backend(err.to_string())
    }
}
