//! Redis Cluster: one async cluster client per process (the redis crate's, which follows
//! `MOVED`/`ASK` redirections, refreshes its slot map and reconnects to nodes by itself), made on
//! first use so that ferrid starts while the cluster is still down.
//!
//! Notices use sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`, Redis 7): a channel lives on the shard
//! that owns its slot, and ferrid's channels carry the hash tag of what they announce (the key
//! ring's channel is in `{ring}`), so a notice costs one shard, not a broadcast over the cluster
//! bus. Subscriptions ride on the same multiplexed RESP3 connections as commands. The client
//! resubscribes after a reconnection; when the channel's slot moves to another node, Redis ends
//! the subscription (a server-sent `SUNSUBSCRIBE`) and ferrid subscribes again, now at the new
//! owner. Either way the subscriber gets a notice once subscribed again, as `Store::subscribe`
//! promises.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::cluster::{ClusterClient, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{PushInfo, PushKind, RedisResult, Value};
use tokio::sync::{Notify, OnceCell};

use super::{CONNECT_TIMEOUT, MAX_RESUBSCRIBE_DELAY, RESPONSE_TIMEOUT};
use crate::store::notices;

/// How long one command may take in all, redirections and retries included.
const OVERALL_TIMEOUT: Duration = Duration::from_millis(1500);

/// The cluster connection of one store, created on first use.
#[derive(Clone)]
pub struct LazyCluster {
    // Behind an `Arc`: the handle is cloned for every command, the client's node list is not.
    client: Arc<ClusterClient>,
    connection: Arc<OnceCell<ClusterConnection>>,
    subscribers: Arc<Subscribers>,
}

impl LazyCluster {
    /// A cluster client on `nodes` (seed node URLs); connects on first use.
    pub fn new(nodes: &[String], tls: Option<redis::TlsCertificates>) -> RedisResult<Self> {
        let mut builder = ClusterClient::builder(nodes.iter().map(String::as_str))
            .use_protocol(redis::ProtocolVersion::RESP3)
            .connection_timeout(CONNECT_TIMEOUT)
            .response_timeout(RESPONSE_TIMEOUT)
            .overall_response_timeout(Some(OVERALL_TIMEOUT))
            .retries(6)
            .min_retry_wait(10)
            .max_retry_wait(200);
        if let Some(certificates) = tls {
            builder = builder.certs(certificates);
        }
        Ok(Self {
            client: Arc::new(builder.build()?),
            connection: Arc::new(OnceCell::new()),
            subscribers: Arc::new(Subscribers::default()),
        })
    }

    /// The shared connection (cheap to clone), created the first time it is asked for. Must be
    /// called inside a Tokio runtime.
    pub async fn connection(&self) -> ClusterConnection {
        self.connection
            .get_or_init(|| async {
                let subscribers = self.subscribers.clone();
                let config = ClusterConfig::new()
                    .set_connection_timeout(CONNECT_TIMEOUT)
                    .set_response_timeout(RESPONSE_TIMEOUT)
                    .set_push_sender(move |push: PushInfo| {
                        subscribers.on_push(push);
                        Ok::<(), redis::aio::SendError>(())
                    });
                self.client.get_pending_async_connection_with_config(config)
            })
            .await
            .clone()
    }

    /// Keeps a sharded subscription to `channel` until `sender`'s receiver is dropped.
    pub async fn forward_notices(self, channel: String, sender: notices::Sender) {
        let lost = self.subscribers.add(&channel, &sender);
        let mut delay = Duration::from_millis(100);
        loop {
            let mut connection = self.connection().await;
            let subscribed = tokio::select! {
                () = sender.closed() => break,
                result = connection.ssubscribe(&channel) => result,
            };
            match subscribed {
                Ok(()) => {
                    delay = Duration::from_millis(100);
                    // Whatever was published while unsubscribed is lost: tell the reader to look.
                    if !notices::signal(&sender) {
                        break;
                    }
                    tokio::select! {
                        () = sender.closed() => break,
                        () = lost.notified() => {
                            tracing::debug!(channel = %channel, "shard channel moved; resubscribing");
                            continue;
                        }
                    }
                }
                Err(err) => {
                    tracing::debug!(channel = %channel, error = %err, "cannot subscribe; retrying");
                }
            }
            tokio::select! {
                () = sender.closed() => break,
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(MAX_RESUBSCRIBE_DELAY);
        }
        if self.subscribers.remove(&channel, &lost) {
            let _ = self.connection().await.sunsubscribe(&channel).await;
        }
    }
}

/// The subscribers of each shard channel, told about messages and lost subscriptions by the
/// connection's push messages.
#[derive(Default)]
struct Subscribers {
    channels: Mutex<HashMap<Vec<u8>, Vec<Subscriber>>>,
}

struct Subscriber {
    sender: notices::Sender,
    /// Woken when Redis ends the subscription (its slot moved).
    lost: Arc<Notify>,
}

impl Subscribers {
    fn add(&self, channel: &str, sender: &notices::Sender) -> Arc<Notify> {
        let lost = Arc::new(Notify::new());
        if let Ok(mut channels) = self.channels.lock() {
            channels
                .entry(channel.as_bytes().to_vec())
                .or_default()
                .push(Subscriber {
                    sender: sender.clone(),
                    lost: lost.clone(),
                });
        }
        lost
    }

    /// Forgets one subscriber; `true` when it was the channel's last.
    fn remove(&self, channel: &str, lost: &Arc<Notify>) -> bool {
        let Ok(mut channels) = self.channels.lock() else {
            return false;
        };
        let key = channel.as_bytes();
        let Some(subscribers) = channels.get_mut(key) else {
            return false;
        };
        subscribers.retain(|subscriber| !Arc::ptr_eq(&subscriber.lost, lost));
        if subscribers.is_empty() {
            channels.remove(key);
            true
        } else {
            false
        }
    }

    fn on_push(&self, push: PushInfo) {
        let Some(Value::BulkString(channel)) = push.data.first() else {
            return;
        };
        let Ok(channels) = self.channels.lock() else {
            return;
        };
        let Some(subscribers) = channels.get(channel) else {
            return;
        };
        for subscriber in subscribers {
            match push.kind {
                // A message, or a subscription (re)established after a reconnection.
                PushKind::SMessage | PushKind::SSubscribe => {
                    notices::signal(&subscriber.sender);
                }
                // Notices may go missing until it is re-established: readers stop trusting
                // what they cached.
                PushKind::SUnsubscribe => {
                    notices::lost(&subscriber.sender);
                    subscriber.lost.notify_one();
                }
                _ => {}
            }
        }
    }
}
