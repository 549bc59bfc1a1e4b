//! The store conformance suite: one set of behaviours, run against the memory store (with a
//! manual clock) and against Redis (a real server). A behaviour this suite does not pin down is
//! one the two backends may disagree on.
//!
//! One file per kind of behaviour; `Subject` is the store under test, and `suite!` runs each
//! behaviour on the memory store, a Redis and the shared Redis Cluster.

use std::sync::Arc;
use std::time::Duration;

use crate::common::RedisTarget;
use ferrid::clock::{Clock, ManualClock, SystemClock};
use ferrid::store::memory::MemoryStore;
use ferrid::store::Store;

/// A store under test and a way to let time pass for it.
struct Subject {
    store: Arc<dyn Store>,
    clock: Option<ManualClock>,
    _redis: Option<RedisTarget>,
}

impl Subject {
    fn memory() -> Self {
        let clock = ManualClock::at_millis(1_700_000_000_000);
        Self {
            store: Arc::new(MemoryStore::new(Arc::new(clock.clone()))),
            clock: Some(clock),
            _redis: None,
        }
    }

    fn redis() -> Self {
        Self::on(RedisTarget::new())
    }

    /// On the run's shared three-master Redis Cluster.
    fn cluster() -> Self {
        Self::on(RedisTarget::cluster())
    }

    fn on(target: RedisTarget) -> Self {
        Self {
            store: target.store(),
            clock: None,
            _redis: Some(target),
        }
    }

    /// Moves the manual clock, or waits for Redis's own.
    async fn pass(&self, duration: Duration) {
        match &self.clock {
            Some(clock) => clock.advance(duration),
            None => tokio::time::sleep(duration).await,
        }
    }

    /// The time a caller passes to the counters: the manual clock, or the system's.
    fn now_ms(&self) -> u64 {
        match &self.clock {
            Some(clock) => clock.now_millis(),
            None => SystemClock.now_millis(),
        }
    }
}

/// Runs each named `async fn(Subject)` on every backend, as `memory::name`, `redis::name` and
/// `cluster::name`.
macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(super::Subject::memory()).await })*
        }
        mod redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(super::Subject::redis()).await })*
        }
        mod cluster {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(super::Subject::cluster()).await })*
        }
    };
}

mod capped;
mod counters;
mod indexes;
mod notices;
mod redis_only;
mod values;
