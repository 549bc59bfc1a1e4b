//! Redis Sentinel: the master is looked up through the sentinels (and confirmed by its own
//! `ROLE`) on first use, then used through one connection manager. When the master stops
//! answering — refused, dropped, timed out — or answers as a replica (`READONLY`, after a
//! failover demoted it), the manager is dropped and the next request asks the sentinels again.
//! Requests during the failover window therefore fail as `Unavailable` (503
//! `temporarily_unavailable`) until the sentinels have promoted a replica, and then reach the
//! new master without a restart.
//!
//! `store.durability`'s `WAIT`s run on connections of their own (they block the connection),
//! which must reach the server that took the writes: a lookup therefore opens the command
//! connection and the waiters' connections together, to the one master it found, and they are
//! held and dropped as one (`Held`). A `SentinelMaster` handle from `waiter(i)` sends through
//! waiter connection `i` of whatever master is held, so writes and `WAIT`s never go to two
//! different servers at the same moment. What remains is a window within one request: if the
//! held master is dropped and a new one looked up between a request's writes and its `WAIT`
//! (a failover in those milliseconds), the `WAIT` confirms the new master's replicas, not the
//! writes the old master took.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisResult, ServerErrorKind, Value};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::topology::SentinelTopology;

/// How long asking the sentinels and confirming the master may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a failed lookup answers for the requests that waited on it, so that during a
/// failover requests fail at once instead of each queueing for a lookup of its own.
const FAILED_LOOKUP_HOLDS: Duration = Duration::from_millis(200);

/// The current master of a sentinel-monitored name, used through the command connection or
/// one of the waiters' connections.
#[derive(Clone)]
pub struct SentinelMaster {
    inner: Arc<Inner>,
    /// Which connection of the held master this handle sends through.
    role: Role,
}

#[derive(Clone, Copy)]
enum Role {
    Commands,
    Waiter(usize),
}

/// One looked-up master's connections, all to the same server: held, swapped and dropped
/// together.
struct Held {
    commands: ConnectionManager,
    waiters: Vec<ConnectionManager>,
}

impl Held {
    fn connection(&self, role: Role) -> ConnectionManager {
        match role {
            Role::Waiter(index) if !self.waiters.is_empty() => {
                self.waiters[index % self.waiters.len()].clone()
            }
            _ => self.commands.clone(),
        }
    }
}

struct Inner {
    sentinels: Mutex<SentinelClient>,
    current: ArcSwapOption<Held>,
    /// How many waiter connections each lookup opens beside the command connection.
    waiters: usize,
    /// The last failed lookup and when it ended.
    failed: std::sync::Mutex<Option<(Instant, RedisError)>>,
    config: ConnectionManagerConfig,
    db: i64,
}

impl SentinelMaster {
    /// A master found through `topology`'s sentinels on first use; `config` shapes the
    /// connections to it, `waiters` is how many connections for `waiter` each lookup opens.
    pub fn new(
        topology: &SentinelTopology,
        config: ConnectionManagerConfig,
        waiters: usize,
    ) -> RedisResult<Self> {
        let mut redis = redis::RedisConnectionInfo::default().set_db(topology.db);
        if let Some(username) = &topology.username {
            redis = redis.set_username(username);
        }
        if let Some(password) = &topology.password {
            redis = redis.set_password(password);
        }
        let node = SentinelNodeConnectionInfo::default().set_redis_connection_info(redis);
        let sentinels = SentinelClient::build(
            topology.sentinels.iter().map(String::as_str).collect(),
            &topology.master_name,
            Some(node),
            SentinelServerType::Master,
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                sentinels: Mutex::new(sentinels),
                current: ArcSwapOption::empty(),
                waiters,
                failed: std::sync::Mutex::new(None),
                config,
                db: topology.db,
            }),
            role: Role::Commands,
        })
    }

    /// A handle that sends through waiter connection `index` of the master held when it is
    /// used (the one the command connection uses too).
    pub fn waiter(&self, index: usize) -> Self {
        Self {
            inner: self.inner.clone(),
            role: Role::Waiter(index),
        }
    }

    /// The database on the master.
    pub fn db(&self) -> i64 {
        self.inner.db
    }

    /// A client for the master as the sentinels name it now (for a pub/sub connection).
    pub async fn client(&self) -> RedisResult<redis::Client> {
        let mut sentinels = self.inner.sentinels.lock().await;
        lookup(&mut sentinels).await
    }

    /// The connections to the current master, looked up when there are none.
    async fn master(&self) -> RedisResult<Arc<Held>> {
        if let Some(master) = self.inner.current.load_full() {
            return Ok(master);
        }
        let Ok(mut sentinels) =
            tokio::time::timeout(LOOKUP_TIMEOUT, self.inner.sentinels.lock()).await
        else {
            return Err(timed_out("the lookup of the master is taking too long"));
        };
        // Another request may have found it, or failed to, while this one waited for the lock.
        if let Some(master) = self.inner.current.load_full() {
            return Ok(master);
        }
        if let Ok(failed) = self.inner.failed.lock() {
            if let Some((at, err)) = failed.as_ref() {
                if at.elapsed() < FAILED_LOOKUP_HOLDS {
                    return Err(err.clone());
                }
            }
        }
        let client = match lookup(&mut sentinels).await {
            Ok(client) => client,
            Err(err) => {
                if let Ok(mut failed) = self.inner.failed.lock() {
                    *failed = Some((Instant::now(), err.clone()));
                }
                return Err(err);
            }
        };
        let connect =
            || ConnectionManager::new_lazy_with_config(client.clone(), self.inner.config.clone());
        let held = Arc::new(Held {
            commands: connect()?,
            waiters: (0..self.inner.waiters)
                .map(|_| connect())
                .collect::<RedisResult<_>>()?,
        });
        self.inner.current.store(Some(held.clone()));
        Ok(held)
    }

    /// After a failed request on `master`: if the failure says the master is gone or demoted,
    /// its connections (commands and waiters alike) are dropped and the next request looks it
    /// up again.
    fn check<T>(&self, master: Arc<Held>, result: &RedisResult<T>) {
        if let Err(err) = result {
            if master_lost(err) {
                tracing::debug!(error = %err, "Redis master lost; asking the sentinels again");
                self.inner.current.compare_and_swap(&Some(master), None);
            }
        }
    }

    pub async fn req_packed_command(&self, cmd: &Cmd) -> RedisResult<Value> {
        let master = self.master().await?;
        let result = master.connection(self.role).req_packed_command(cmd).await;
        self.check(master, &result);
        result
    }

    pub async fn req_packed_commands(
        &self,
        pipeline: &Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        let master = self.master().await?;
        let result = master
            .connection(self.role)
            .req_packed_commands(pipeline, offset, count)
            .await;
        self.check(master, &result);
        result
    }
}

/// Asks the sentinels for the master and confirms it, within `LOOKUP_TIMEOUT`.
async fn lookup(sentinels: &mut SentinelClient) -> RedisResult<redis::Client> {
    match tokio::time::timeout(LOOKUP_TIMEOUT, sentinels.async_get_client()).await {
        Ok(result) => result,
        Err(_) => Err(timed_out(
            "the sentinels did not name a reachable master in time",
        )),
    }
}

/// A timeout, which the store reports as unavailable (503).
fn timed_out(what: &'static str) -> RedisError {
    RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, what))
}

/// Whether `err` means the connected node is no longer a usable master.
fn master_lost(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || matches!(
            err.kind(),
            ErrorKind::Server(ServerErrorKind::ReadOnly | ServerErrorKind::MasterDown)
        )
}
