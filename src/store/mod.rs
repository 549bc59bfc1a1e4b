//! The storage contract: what ferrid's domain needs from a key–value store, and nothing more.
//! Two backends implement it — `memory` (embedded default, single instance) and `redis`
//! (production, shared by any number of instances) — and both pass the same conformance suite
//! (`tests/it/store.rs`). Every write can carry a TTL derived from what it stores; `take` is an
//! atomic read-and-delete, `swap` an atomic replace-and-read (single-use codes that remember
//! their redemption); `put_new` writes only when absent (locks, first writer wins);
//! `compare_and_swap` / `delete_if` write or delete only while the value is still the one the
//! caller read (refresh-token rotation, fencing a read-modify-write, releasing a lock one still
//! holds). `publish` / `subscribe` carry best-effort change notices between the instances
//! sharing a store. `count_below_limits` / `uncount` keep counters that expire a window after
//! they start (login throttling, shared by every instance on Redis); `put_capped` writes a value
//! and keeps at most N of them per index, evicting the oldest, and `delete_capped` deletes one
//! (pending interactions per client address). `index_add` / `index_remove` / `index_range` keep
//! sorted indexes of ids, so that records can be listed page by page (`registry`); `set_add` /
//! `set_members` keep sets of ids that each end at their own time (a client's codes and refresh
//! families). Values are opaque bytes; `get_json`/`put_json` add serde on top. Every key name
//! comes from `keyspace`; the keys one call touches together share a hash tag.

pub mod cached;
pub mod index;
pub mod keyspace;
mod lua;
pub mod memory;
pub mod metered;
pub mod notices;
pub mod provisioned;
pub mod record_cache;
pub mod redis;
pub mod registry;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use notices::Notices;

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached right now; the operation may succeed later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored value could not be decoded.
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
    /// The store refused the operation.
    #[error("store error: {0}")]
    Backend(String),
}

/// A key–value store with TTLs and atomic single-use reads.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Writes `value` under `key`, replacing any previous value; `ttl` `None` keeps it forever.
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>)
        -> Result<(), StoreError>;

    /// Writes only when `key` is absent; `true` when this call wrote it.
    async fn put_new(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError>;

    /// The live value under `key`.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Replaces the value under `key` and returns the previous live value, in one atomic step:
    /// of many concurrent callers, exactly one sees the original value.
    async fn swap(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// Replaces the value under `key` with `value` only if it currently equals `expected`, in one
    /// atomic step; `true` when replaced. Of concurrent callers expecting the same value, exactly
    /// one wins (refresh-token rotation).
    async fn compare_and_swap(
        &self,
        key: &str,
        expected: &[u8],
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError>;

    /// Reads and deletes `key` in one atomic step: of many concurrent callers, one gets it.
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Deletes `key`; `true` when something was deleted.
    async fn delete(&self, key: &str) -> Result<bool, StoreError>;

    /// Deletes `key` only while the live value is exactly `expected`, in one atomic step; `true`
    /// when it did.
    async fn delete_if(&self, key: &str, expected: &[u8]) -> Result<bool, StoreError>;

    /// Adds one to every counter of `counters` (`(key, limit)`) if each is below its limit, in
    /// one atomic step; otherwise changes nothing. A counter's window opens with its first count
    /// and lasts `window`; once it has passed, the counter starts again from zero. Windows are
    /// measured on the caller's clock (`now_ms`, milliseconds since the epoch), so both backends
    /// and every instance follow the injected `Clock`; a counter's record expires with its
    /// window. The keys must share a hash tag.
    async fn count_below_limits(
        &self,
        counters: &[(&str, u64)],
        window: Duration,
        now_ms: u64,
    ) -> Result<Count, StoreError>;

    /// Takes one off every counter of `keys` that exists, deleting those that reach zero, in
    /// one atomic step; windows stay as they are. The keys must share a hash tag.
    async fn uncount(&self, keys: &[&str]) -> Result<(), StoreError>;

    /// Writes `value` under `key` with `ttl` and appends `key` to the list `index`, in one atomic
    /// step; while the index then lists more than `cap` keys, the oldest is taken off it and
    /// deleted. Keys leave an index through `delete_capped` or by expiring — all with the same
    /// `ttl`, they expire oldest first, so they are the first taken off, and a bounded index
    /// costs the same however long it is. The index expires `ttl` after its latest write.
    /// `index` and `key` must share a hash tag.
    async fn put_capped(
        &self,
        index: &str,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
        cap: usize,
    ) -> Result<(), StoreError>;

    /// Deletes `key` and takes it off the list `index`, in one atomic step; `true` when a live
    /// value was deleted.
    async fn delete_capped(&self, index: &str, key: &str) -> Result<bool, StoreError>;

    /// Tells every subscriber of `channel`, in this process or another instance on the same
    /// store, that something changed. Best effort: a notice can be lost (a subscriber
    /// reconnecting), so subscribers also check periodically.
    async fn publish(&self, channel: &str) -> Result<(), StoreError>;

    /// Notices published on `channel`. The first notice comes as soon as the subscription is
    /// established (and again after every reconnection): look at the current state then, since
    /// what was published before is not replayed. Several notices arriving together may be
    /// delivered as one. Must be called inside a Tokio runtime.
    fn subscribe(&self, channel: &str) -> Notices;

    /// Succeeds when the store answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// `memory` or `redis`, for logs and readiness reports.
    fn name(&self) -> &'static str;

    /// Adds `member` to the sorted index `index` (no TTL); members are kept in byte order.
    async fn index_add(&self, index: &str, member: &str) -> Result<(), StoreError>;

    /// Removes `member` from `index`; `true` when it was there.
    async fn index_remove(&self, index: &str, member: &str) -> Result<bool, StoreError>;

    /// Up to `limit` members of `index` that sort after `after` (all when `None`), in byte
    /// order: a page of a listing, resumed from the last member of the previous page.
    async fn index_range(
        &self,
        index: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;

    /// Adds `member` to the expiring set `key` until `expires_at` (seconds since the epoch, as
    /// is `now`), replacing its previous end. Members already past their end are dropped, and
    /// the key expires with its last member.
    async fn set_add(
        &self,
        key: &str,
        member: &str,
        expires_at: u64,
        now: u64,
    ) -> Result<(), StoreError>;

    /// The members of the expiring set `key` whose end is after `now`.
    async fn set_members(&self, key: &str, now: u64) -> Result<Vec<String>, StoreError>;

    /// Waits up to `timeout` until `replicas` replicas hold every write this store has made so
    /// far (Redis `WAIT`), and returns how many do. A store without replicas answers 0 at once.
    /// No default: a wrapping store that forgot to pass it on would answer 0 for its Redis.
    async fn wait_for_replicas(
        &self,
        replicas: usize,
        timeout: Duration,
    ) -> Result<usize, StoreError>;
}

/// What `count_below_limits` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Every counter was below its limit and now counts one more.
    Counted,
    /// A counter is at its limit; nothing was counted. `retry_after` is the longest time until
    /// the window of a full counter ends.
    Full { retry_after: Duration },
}

/// Shared handle to the store a `Context` uses.
pub type SharedStore = Arc<dyn Store>;

/// Reads and decodes a JSON value.
pub async fn get_json<T: DeserializeOwned>(
    store: &dyn Store,
    key: &str,
) -> Result<Option<T>, StoreError> {
    match store.get(key).await? {
        Some(bytes) => decode(key, &bytes).map(Some),
        None => Ok(None),
    }
}

/// How often `update_json` re-reads a value that others keep changing before it gives up.
const UPDATE_ATTEMPTS: usize = 64;

/// Read-modify-write of the JSON value under `key` without lost updates: `change` gets the
/// current value (`None` when there is none) and returns the new one, or `None` to write
/// nothing. The write happens only if the value is still the one read (compare-and-swap, or
/// create-if-absent), otherwise `change` runs again on the fresh value. Returns the value written.
pub async fn update_json<T, F>(
    store: &dyn Store,
    key: &str,
    ttl: impl Fn(&T) -> Option<Duration>,
    mut change: F,
) -> Result<Option<T>, StoreError>
where
    T: Serialize + DeserializeOwned,
    F: FnMut(Option<T>) -> Option<T>,
{
    for _ in 0..UPDATE_ATTEMPTS {
        let raw = store.get(key).await?;
        let current = raw.as_deref().map(|bytes| decode(key, bytes)).transpose()?;
        let Some(new) = change(current) else {
            return Ok(None);
        };
        let bytes = encode(&new)?;
        let written = match &raw {
            Some(raw) => store.compare_and_swap(key, raw, bytes, ttl(&new)).await?,
            None => store.put_new(key, bytes, ttl(&new)).await?,
        };
        if written {
            return Ok(Some(new));
        }
    }
    Err(StoreError::Backend(format!(
        "{key}: still changing after {UPDATE_ATTEMPTS} attempts"
    )))
}

/// Encodes and writes a JSON value.
pub async fn put_json<T: Serialize>(
    store: &dyn Store,
    key: &str,
    value: &T,
    ttl: Option<Duration>,
) -> Result<(), StoreError> {
    store.put(key, encode(value)?, ttl).await
}

/// JSON-encodes a value for the store.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|err| StoreError::Backend(err.to_string()))
}

/// Decodes a JSON value read from `key`.
pub fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|err| StoreError::Corrupt(format!("{key}: {err}")))
}
