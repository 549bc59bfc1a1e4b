//! The Redis store with the client records kept in process. Every token request reads its
//! client (`oauth::clients::store::find`); on Redis that was one round trip per request, for
//! records that change only when an operator or a client's registration changes them. This
//! store sits in front of the Redis one (`bootstrap` wraps it; the memory store needs no copy)
//! and answers `get` of a client record (`keyspace::is_client`) from a `RecordCache`; every
//! other key goes straight through.
//!
//! Invalidation happens below every writer, so none can forget it: any write to a client record
//! through this store — `oauth::clients::store` (admin API, registration, start-up
//! reconciliation of the config) and `ferrid client …`, which writes from its own process
//! through the same store — first drops this process's cache, then publishes on
//! `keyspace::CLIENTS_CHANGED`. Every instance subscribes to that channel (lazily, on its first
//! client lookup) and drops its cache when a notice arrives; while the subscription is down,
//! lookups read Redis every time (see `record_cache` for why that is safe, and for the two
//! bounds behind it). A write that fails is treated as a change too: it may have been applied.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;

use super::keyspace::{self, CLIENTS_CHANGED};
use super::notices::Notices;
use super::record_cache::{Lookup, RecordCache};
use super::{Count, SharedStore, Store, StoreError};
use crate::clock::SharedClock;
use crate::telemetry::metrics;

/// Most client records one instance keeps. Only registered clients are cached (an unknown id is
/// never), so this bounds memory when very many clients are registered.
pub const CAPACITY: usize = 4096;
/// Longest time a cached client is served after it was read, in case a notice is lost without
/// the subscription noticing.
pub const MAX_AGE: Duration = Duration::from_secs(10);

/// A store that keeps client records in process, invalidated through pub/sub.
pub struct CachedStore {
    inner: SharedStore,
    clock: SharedClock,
    subscription: OnceLock<Subscription>,
}

struct Subscription {
    // Held for its lifetime: dropping it ends the subscription.
    _notices: Notices,
    records: RecordCache,
}

impl CachedStore {
    /// `inner` with its client records cached; `clock` measures their age.
    pub fn wrap(inner: SharedStore, clock: SharedClock) -> SharedStore {
        Arc::new(Self {
            inner,
            clock,
            subscription: OnceLock::new(),
        })
    }

    /// The cache, subscribing on first use (inside the runtime, as `subscribe` requires).
    fn records(&self) -> &RecordCache {
        &self
            .subscription
            .get_or_init(|| {
                let notices = self.inner.subscribe(CLIENTS_CHANGED);
                let records = RecordCache::new(notices.epoch(), CAPACITY, MAX_AGE);
                Subscription {
                    _notices: notices,
                    records,
                }
            })
            .records
    }

    /// Passes on the `result` of a write to `key`; a client record changed (or may have): drop
    /// this process's copies first, then tell the other instances.
    async fn written<T>(&self, key: &str, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if keyspace::is_client(key) {
            if let Some(subscription) = self.subscription.get() {
                subscription.records.invalidate();
            }
            if let Err(err) = self.inner.publish(CLIENTS_CHANGED).await {
                // The write stands; other instances see it once their copy is `MAX_AGE` old.
                tracing::warn!(error = %err, "a client changed but the other instances could not be told; they may serve the previous record for up to {} s", MAX_AGE.as_secs());
            }
        }
        result
    }

    async fn get_client(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let records = self.records();
        let read_at = self.clock.now_millis();
        let stamp = match records.lookup(key, read_at) {
            Lookup::Hit(value) => {
                metrics::client_cache("hit");
                return Ok(Some(value));
            }
            Lookup::Miss(stamp) => {
                metrics::client_cache("miss");
                Some(stamp)
            }
            Lookup::Bypass => {
                metrics::client_cache("bypass");
                None
            }
        };
        let value = self.inner.get(key).await?;
        if let (Some(stamp), Some(value)) = (stamp, &value) {
            records.insert(key, value.clone(), stamp, read_at);
        }
        Ok(value)
    }
}

#[async_trait]
impl Store for CachedStore {
    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<(), StoreError> {
        let result = self.inner.put(key, value, ttl).await;
        self.written(key, result).await
    }

    async fn put_new(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        let result = self.inner.put_new(key, value, ttl).await;
        self.written(key, result).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if keyspace::is_client(key) {
            self.get_client(key).await
        } else {
            self.inner.get(key).await
        }
    }

    async fn swap(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let result = self.inner.swap(key, value, ttl).await;
        self.written(key, result).await
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected: &[u8],
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        // Also when it fails: the value expected (perhaps read from the cache) is not current.
        let result = self.inner.compare_and_swap(key, expected, value, ttl).await;
        self.written(key, result).await
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let result = self.inner.take(key).await;
        self.written(key, result).await
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let result = self.inner.delete(key).await;
        self.written(key, result).await
    }

    async fn delete_if(&self, key: &str, expected: &[u8]) -> Result<bool, StoreError> {
        let result = self.inner.delete_if(key, expected).await;
        self.written(key, result).await
    }

    async fn count_below_limits(
        &self,
        counters: &[(&str, u64)],
        window: Duration,
        now_ms: u64,
    ) -> Result<Count, StoreError> {
        self.inner
            .count_below_limits(counters, window, now_ms)
            .await
    }

    async fn uncount(&self, keys: &[&str]) -> Result<(), StoreError> {
        self.inner.uncount(keys).await
    }

    async fn put_capped(
        &self,
        index: &str,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
        cap: usize,
    ) -> Result<(), StoreError> {
        let result = self.inner.put_capped(index, key, value, ttl, cap).await;
        self.written(key, result).await
    }

    async fn delete_capped(&self, index: &str, key: &str) -> Result<bool, StoreError> {
        let result = self.inner.delete_capped(index, key).await;
        self.written(key, result).await
    }

    async fn publish(&self, channel: &str) -> Result<(), StoreError> {
        self.inner.publish(channel).await
    }

    fn subscribe(&self, channel: &str) -> Notices {
        self.inner.subscribe(channel)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }

    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn index_add(&self, index: &str, member: &str) -> Result<(), StoreError> {
        self.inner.index_add(index, member).await
    }

    async fn index_remove(&self, index: &str, member: &str) -> Result<bool, StoreError> {
        self.inner.index_remove(index, member).await
    }

    async fn index_range(
        &self,
        index: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        self.inner.index_range(index, after, limit).await
    }

    async fn set_add(
        &self,
        key: &str,
        member: &str,
        expires_at: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        self.inner.set_add(key, member, expires_at, now).await
    }

    async fn set_members(&self, key: &str, now: u64) -> Result<Vec<String>, StoreError> {
        self.inner.set_members(key, now).await
    }

    async fn wait_for_replicas(
        &self,
        replicas: usize,
        timeout: Duration,
    ) -> Result<usize, StoreError> {
        self.inner.wait_for_replicas(replicas, timeout).await
    }
}
