//! The production store: Redis through one multiplexed, self-reconnecting
//! `aio::ConnectionManager`. The manager is created lazily, so ferrid starts (and `/readyz`
//! reports why it is not ready) while Redis is still down. Every key is namespaced under the
//! configured prefix. `take` is `GETDEL`, `swap` is `SET … GET` and `put_new` is `SET NX`, each a
//! single atomic command; `compare_and_swap`, `delete_if`, the counters, `put_capped` and the
//! expiring sets are Lua scripts (EVALSHA: read, decide and write in one step, so every instance
//! sharing the Redis sees one count); TTLs are `PX` in milliseconds. Connection failures and
//! timeouts map to `StoreError::Unavailable`, which requests answer as 503
//! `temporarily_unavailable`. Sorted indexes are sorted sets whose members all score 0, listed
//! with `ZRANGEBYLEX`; expiring sets are sorted sets scored by each member's end.
//!
//! A `rediss://` URL connects over TLS (rustls): verified against the system's roots, or
//! against `redis.tls_ca`, presenting `redis.tls_cert` when Redis asks for a client certificate.
//!
//! `wait_for_replicas` runs `WAIT` on a small pool of connections of its own, after a replicated
//! `PUBLISH` on the same connection: `WAIT` covers the writes of its connection up to its last
//! one, and the `PUBLISH` makes that "now", so it covers every write any request finished before;
//! and a `WAIT` blocks its connection, so it never holds up the shared one.
//!
//! Notices are Redis pub/sub on the prefixed channel name. Each subscription owns one dedicated
//! pub/sub connection in a background task that reconnects with backoff and signals a notice
//! after every (re)subscription, since anything published while it was away is lost; while it
//! is away, the subscription's epoch says so (`notices::lost`).
//!
//! The same store runs on Redis Cluster (`cluster`: sharded pub/sub for notices) and on a master
//! found through Redis Sentinel (`sentinel`); `topology` reads which one the URL names, and
//! `connection` hides the difference from every command below.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, Script, ServerErrorKind};

use self::cluster::LazyCluster;
use self::connection::Connection;
use self::sentinel::SentinelMaster;
use self::topology::Topology;

use super::lua::{
    COMPARE_AND_SWAP, COUNT_BELOW_LIMITS, DELETE_CAPPED, DELETE_IF, PUT_CAPPED, SET_ADD, UNCOUNT,
};
use super::notices::{self, Notices};
use super::{Count, Store, StoreError};

mod cluster;
mod connection;
mod sentinel;
pub mod topology;

/// How long one command may take before the request gives up with 503.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Connections `wait_for_replicas` spreads its `WAIT`s over (each blocks its connection).
const REPLICA_WAITERS: usize = 4;
/// Longest pause between attempts to re-establish a pub/sub subscription.
const MAX_RESUBSCRIBE_DELAY: Duration = Duration::from_secs(10);

/// Redis-backed store.
pub struct RedisStore {
    connection: Connection,
    /// Where `wait_for_replicas` sends its `WAIT`s: connections of their own to the same
    /// server, or on Sentinel the waiter connections of the master `connection` holds (see
    /// `sentinel`); none on a cluster (which `store.durability` refuses).
    replica_waiters: Vec<Connection>,
    next_waiter: AtomicUsize,
    prefix: String,
    compare_and_swap: Script,
    delete_if: Script,
    count_below_limits: Script,
    uncount: Script,
    put_capped: Script,
    delete_capped: Script,
    set_add: Script,
}

impl RedisStore {
    /// A store for `url`; connects on first use and reconnects by itself.
    pub fn connect_lazily(url: &str, prefix: &str) -> Result<Self, StoreError> {
        Self::connect_lazily_with_tls(url, prefix, None)
    }

    /// Like `connect_lazily`; a `rediss://` URL trusts the CA and presents the client
    /// certificate in `tls` when given, else trusts the system's roots.
    pub fn connect_lazily_with_tls(
        url: &str,
        prefix: &str,
        tls: Option<redis::TlsCertificates>,
    ) -> Result<Self, StoreError> {
        // The redis crate builds its rustls configuration on the process's default provider;
        // ferrid uses aws-lc-rs everywhere (a no-op when a default is already installed).
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let topology = Topology::parse(url)
            .map_err(|err| StoreError::Backend(format!("invalid Redis URL: {err}")))?;
        let (connection, replica_waiters) = match topology {
            Topology::Single(url) => {
                let client = match tls {
                    Some(certificates) => redis::Client::build_with_tls(url, certificates),
                    None => redis::Client::open(url),
                }
                .map_err(map_error)?;
                let client = std::sync::Arc::new(client);
                let single = || -> Result<Connection, StoreError> {
                    let manager =
                        ConnectionManager::new_lazy_with_config((*client).clone(), config.clone())
                            .map_err(map_error)?;
                    Ok(Connection::Single(manager, client.clone()))
                };
                let waiters = (0..REPLICA_WAITERS)
                    .map(|_| single())
                    .collect::<Result<_, _>>()?;
                (single()?, waiters)
            }
            Topology::Cluster { nodes, tls: true } => (
                Connection::Cluster(LazyCluster::new(&nodes, tls).map_err(map_error)?),
                Vec::new(),
            ),
            Topology::Cluster { nodes, tls: false } => (
                Connection::Cluster(LazyCluster::new(&nodes, None).map_err(map_error)?),
                Vec::new(),
            ),
            Topology::Sentinel(sentinel) => {
                // The waiters send through connections of the master the command connection
                // holds, never a master they looked up on their own.
                let master =
                    SentinelMaster::new(&sentinel, config, REPLICA_WAITERS).map_err(map_error)?;
                let waiters = (0..REPLICA_WAITERS)
                    .map(|index| Connection::Sentinel(master.waiter(index)))
                    .collect();
                (Connection::Sentinel(master), waiters)
            }
        };
        Ok(Self {
            connection,
            replica_waiters,
            next_waiter: AtomicUsize::new(0),
            prefix: prefix.to_owned(),
            compare_and_swap: Script::new(COMPARE_AND_SWAP),
            delete_if: Script::new(DELETE_IF),
            count_below_limits: Script::new(COUNT_BELOW_LIMITS),
            uncount: Script::new(UNCOUNT),
            put_capped: Script::new(PUT_CAPPED),
            delete_capped: Script::new(DELETE_CAPPED),
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
async fn forward_notices(source: Connection, channel: String, sender: notices::Sender) {
    let mut delay = Duration::from_millis(100);
    loop {
        let subscribed = async {
            // On Sentinel, the master as the sentinels name it now: after a failover, the new one.
            let client = match &source {
                Connection::Single(_, client) => (**client).clone(),
                Connection::Sentinel(master) => master.client().await?,
                Connection::Cluster(_) => {
                    return Err(RedisError::from((
                        ErrorKind::Client,
                        "classic pub/sub on a cluster",
                    )))
                }
            };
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
                // Notices may go missing from now on: readers stop trusting what they cached.
                notices::lost(&sender);
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

    async fn count_below_limits(
        &self,
        counters: &[(&str, u64)],
        window: Duration,
        now_ms: u64,
    ) -> Result<Count, StoreError> {
        let mut invocation = self.count_below_limits.prepare_invoke();
        invocation.arg(now_ms).arg(millis(window));
        for &(key, limit) in counters {
            invocation.key(self.key(key)).arg(limit);
        }
        let mut connection = self.connection.clone();
        let wait_ms: i64 = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(map_error)?;
        Ok(match u64::try_from(wait_ms) {
            Ok(ms) => Count::Full {
                retry_after: Duration::from_millis(ms),
            },
            Err(_) => Count::Counted,
        })
    }

    async fn uncount(&self, keys: &[&str]) -> Result<(), StoreError> {
        let mut invocation = self.uncount.prepare_invoke();
        for key in keys {
            invocation.key(self.key(key));
        }
        let mut connection = self.connection.clone();
        invocation
            .invoke_async::<i64>(&mut connection)
            .await
            .map(|_| ())
            .map_err(map_error)
    }

    async fn put_capped(
        &self,
        index: &str,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
        cap: usize,
    ) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        self.put_capped
            .key(self.key(index))
            .key(self.key(key))
            .arg(value)
            .arg(millis(ttl))
            .arg(cap)
            .invoke_async::<i64>(&mut connection)
            .await
            .map(|_| ())
            .map_err(map_error)
    }

    async fn delete_capped(&self, index: &str, key: &str) -> Result<bool, StoreError> {
        let mut connection = self.connection.clone();
        let deleted: u64 = self
            .delete_capped
            .key(self.key(index))
            .key(self.key(key))
            .invoke_async(&mut connection)
            .await
            .map_err(map_error)?;
        Ok(deleted > 0)
    }

    async fn publish(&self, channel: &str) -> Result<(), StoreError> {
        // Sharded pub/sub on a cluster: the channel's shard only, not a cluster-wide broadcast.
        let command = match self.connection {
            Connection::Cluster(_) => "SPUBLISH",
            _ => "PUBLISH",
        };
        self.run::<u64>(redis::cmd(command).arg(self.key(channel)).arg("changed"))
            .await
            .map(|_| ())
    }

    fn subscribe(&self, channel: &str) -> Notices {
        let (sender, notices) = Notices::channel();
        let channel = self.key(channel);
        match &self.connection {
            Connection::Cluster(cluster) => {
                tokio::spawn(cluster.clone().forward_notices(channel, sender));
            }
            connection => {
                tokio::spawn(forward_notices(connection.clone(), channel, sender));
            }
        }
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

    async fn wait_for_replicas(
        &self,
        replicas: usize,
        timeout: Duration,
    ) -> Result<usize, StoreError> {
        let waiter = self.next_waiter.fetch_add(1, Ordering::Relaxed) % REPLICA_WAITERS;
        // No waiters (a cluster): nothing can be confirmed, so nothing is handed out.
        let Some(connection) = self.replica_waiters.get(waiter) else {
            return Ok(0);
        };
        let mut connection = connection.clone();
        let (_, acknowledged): (u64, usize) = redis::pipe()
            .cmd("PUBLISH")
            .arg(self.key("replication-fence"))
            .arg("")
            .cmd("WAIT")
            .arg(replicas)
            .arg(millis(timeout))
            .query_async(&mut connection)
            .await
            .map_err(map_error)?;
        Ok(acknowledged)
    }
}

/// A duration as Redis milliseconds: at least 1 (`PX 0` is an error).
fn millis(duration: Duration) -> u64 {
    duration.as_millis().max(1) as u64
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
                // The sentinels know no master for the name (yet).
                | ErrorKind::MasterNameNotFoundBySentinel
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        // Redirections still pending after the cluster client's retries.
                        | ServerErrorKind::Moved
                        | ServerErrorKind::Ask
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
