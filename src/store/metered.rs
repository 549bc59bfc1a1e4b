//! A store that times every operation of the store it wraps and counts its failures
//! (`ferrid_store_op_duration_seconds{op}`, `ferrid_store_errors_total{op,kind}`), whichever
//! backend that is. `bootstrap` wraps the store in it when `metrics.enabled`; the label is the
//! operation's name in the `Store` trait, never a key.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Count, Notices, SharedStore, Store, StoreError};
use crate::telemetry::metrics;

/// Times and counts the operations of the store it wraps.
pub struct MeteredStore {
    inner: SharedStore,
}

impl MeteredStore {
    /// `inner`, metered.
    pub fn wrap(inner: SharedStore) -> SharedStore {
        Arc::new(Self { inner })
    }
}

async fn timed<T>(
    op: &'static str,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let started = Instant::now();
    let result = call.await;
    let kind = result.as_ref().err().map(|err| match err {
        StoreError::Unavailable(_) => "unavailable",
        StoreError::Corrupt(_) => "corrupt",
        StoreError::Backend(_) => "backend",
    });
    metrics::store_op(op, started.elapsed(), kind);
    result
}

#[async_trait]
impl Store for MeteredStore {
    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<(), StoreError> {
        timed("put", self.inner.put(key, value, ttl)).await
    }

    async fn put_new(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        timed("put_new", self.inner.put_new(key, value, ttl)).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        timed("get", self.inner.get(key)).await
    }

    async fn swap(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        timed("swap", self.inner.swap(key, value, ttl)).await
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected: &[u8],
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        timed(
            "compare_and_swap",
            self.inner.compare_and_swap(key, expected, value, ttl),
        )
        .await
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        timed("take", self.inner.take(key)).await
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        timed("delete", self.inner.delete(key)).await
    }

    async fn delete_if(&self, key: &str, expected: &[u8]) -> Result<bool, StoreError> {
        timed("delete_if", self.inner.delete_if(key, expected)).await
    }

    async fn count_below_limits(
        &self,
        counters: &[(&str, u64)],
        window: Duration,
        now_ms: u64,
    ) -> Result<Count, StoreError> {
        timed(
            "count_below_limits",
            self.inner.count_below_limits(counters, window, now_ms),
        )
        .await
    }

    async fn uncount(&self, keys: &[&str]) -> Result<(), StoreError> {
        timed("uncount", self.inner.uncount(keys)).await
    }

    async fn put_capped(
        &self,
        index: &str,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
        cap: usize,
    ) -> Result<(), StoreError> {
        timed(
            "put_capped",
            self.inner.put_capped(index, key, value, ttl, cap),
        )
        .await
    }

    async fn delete_capped(&self, index: &str, key: &str) -> Result<bool, StoreError> {
        timed("delete_capped", self.inner.delete_capped(index, key)).await
    }

    async fn index_add(&self, index: &str, member: &str) -> Result<(), StoreError> {
        timed("index_add", self.inner.index_add(index, member)).await
    }

    async fn index_remove(&self, index: &str, member: &str) -> Result<bool, StoreError> {
        timed("index_remove", self.inner.index_remove(index, member)).await
    }

    async fn index_range(
        &self,
        index: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        timed("index_range", self.inner.index_range(index, after, limit)).await
    }

    async fn set_add(
        &self,
        key: &str,
        member: &str,
        expires_at: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        timed("set_add", self.inner.set_add(key, member, expires_at, now)).await
    }

    async fn set_members(&self, key: &str, now: u64) -> Result<Vec<String>, StoreError> {
        timed("set_members", self.inner.set_members(key, now)).await
    }

    async fn publish(&self, channel: &str) -> Result<(), StoreError> {
        timed("publish", self.inner.publish(channel)).await
    }

    fn subscribe(&self, channel: &str) -> Notices {
        self.inner.subscribe(channel)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        timed("ping", self.inner.ping()).await
    }

    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn wait_for_replicas(
        &self,
        replicas: usize,
        timeout: Duration,
    ) -> Result<usize, StoreError> {
        timed(
            "wait_for_replicas",
            self.inner.wait_for_replicas(replicas, timeout),
        )
        .await
    }
}
