//! The one connection handle the Redis store sends every command and script through, whatever
//! the deployment: a connection manager on one server, the cluster client, or the master found
//! through the sentinels. Each is multiplexed and cheap to clone.

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::{Cmd, Pipeline, RedisFuture, Value};

use super::cluster::LazyCluster;
use super::sentinel::SentinelMaster;

/// A connection to the store's Redis deployment.
#[derive(Clone)]
pub enum Connection {
    /// One server: its connection manager, and its client for pub/sub connections.
    Single(ConnectionManager, std::sync::Arc<redis::Client>),
    Cluster(LazyCluster),
    Sentinel(SentinelMaster),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(connection, _) => connection.req_packed_command(cmd),
            Self::Cluster(cluster) => {
                Box::pin(async move { cluster.connection().await.req_packed_command(cmd).await })
            }
            Self::Sentinel(master) => Box::pin(master.req_packed_command(cmd)),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(connection, _) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(cluster) => Box::pin(async move {
                cluster
                    .connection()
                    .await
                    .req_packed_commands(pipeline, offset, count)
                    .await
            }),
            Self::Sentinel(master) => Box::pin(master.req_packed_commands(pipeline, offset, count)),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection, _) => connection.get_db(),
            // Redis Cluster has database 0 only.
            Self::Cluster(_) => 0,
            Self::Sentinel(master) => master.db(),
        }
    }
}
