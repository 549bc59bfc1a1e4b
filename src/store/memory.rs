//! The embedded store: a map behind a mutex, for a single instance and for tests. Expiry follows
//! the injected clock, so tests move time instead of sleeping; expired entries are invisible at
//! once and swept on later writes. Every operation holds the lock for its whole
//! read-modify-write, which makes `take`, `put_new`, `compare_and_swap`, `delete_if`, the
//! counters and the capped indexes atomic. Counters are stored as text, as the Redis backend
//! stores them; a capped index as its keys, one per line (keys hold no newline); sorted indexes
//! are `BTreeSet`s, in the same byte order as Redis's; an expiring set disappears with its last
//! member. Notices reach the subscribers in this process (there is no other instance to tell).
//! Nothing survives a restart.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::notices::{self, Notices};
use super::{Count, Store, StoreError};
use crate::clock::SharedClock;

/// Sweep expired entries once every this many writes.
const SWEEP_EVERY: u64 = 1024;

struct Entry {
    value: Vec<u8>,
    expires_at_ms: Option<u64>,
}

impl Entry {
    fn is_live(&self, now_ms: u64) -> bool {
        self.expires_at_ms.is_none_or(|at| now_ms < at)
    }
}

/// In-process store.
pub struct MemoryStore {
    entries: Mutex<HashMap<String, Entry>>,
    clock: SharedClock,
    writes: AtomicU64,
    subscribers: Mutex<HashMap<String, Vec<notices::Sender>>>,
    indexes: Mutex<HashMap<String, BTreeSet<String>>>,
    sets: Mutex<HashMap<String, ExpiringSet>>,
}

/// An expiring set: each member with its end, seconds since the epoch.
type ExpiringSet = HashMap<String, u64>;

impl MemoryStore {
    /// An empty store whose TTLs follow `clock`.
    pub fn new(clock: SharedClock) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            clock,
            writes: AtomicU64::new(0),
            subscribers: Mutex::new(HashMap::new()),
            indexes: Mutex::new(HashMap::new()),
            sets: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Entry>>, StoreError> {
        self.entries
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))
    }

    fn indexes(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, HashMap<String, BTreeSet<String>>>, StoreError> {
        self.indexes
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))
    }

    fn sets(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, ExpiringSet>>, StoreError> {
        self.sets
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))
    }

    fn entry(&self, value: Vec<u8>, ttl: Option<Duration>) -> Entry {
        let expires_at_ms = ttl.map(|ttl| self.clock.now_millis() + ttl.as_millis() as u64);
        Entry {
            value,
            expires_at_ms,
        }
    }

    fn sweep_now_and_then(&self, entries: &mut HashMap<String, Entry>) {
        if self.writes.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            let now = self.clock.now_millis();
            entries.retain(|_, entry| entry.is_live(now));
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<(), StoreError> {
        let entry = self.entry(value, ttl);
        let mut entries = self.lock()?;
        entries.insert(key.to_owned(), entry);
        self.sweep_now_and_then(&mut entries);
        Ok(())
    }

    async fn put_new(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now_millis();
        let entry = self.entry(value, ttl);
        let mut entries = self.lock()?;
        if entries
            .get(key)
            .is_some_and(|existing| existing.is_live(now))
        {
            return Ok(false);
        }
        entries.insert(key.to_owned(), entry);
        self.sweep_now_and_then(&mut entries);
        Ok(true)
    }

    async fn swap(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.clock.now_millis();
        let entry = self.entry(value, ttl);
        let mut entries = self.lock()?;
        let previous = entries.insert(key.to_owned(), entry);
        self.sweep_now_and_then(&mut entries);
        Ok(previous
            .filter(|entry| entry.is_live(now))
            .map(|entry| entry.value))
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected: &[u8],
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now_millis();
        let entry = self.entry(value, ttl);
        let mut entries = self.lock()?;
        let matches = entries
            .get(key)
            .is_some_and(|current| current.is_live(now) && current.value == expected);
        if matches {
            entries.insert(key.to_owned(), entry);
        }
        Ok(matches)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.clock.now_millis();
        let entries = self.lock()?;
        Ok(entries
            .get(key)
            .filter(|entry| entry.is_live(now))
            .map(|entry| entry.value.clone()))
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.clock.now_millis();
        let mut entries = self.lock()?;
        Ok(entries
            .remove(key)
            .filter(|entry| entry.is_live(now))
            .map(|entry| entry.value))
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let now = self.clock.now_millis();
        // Like Redis's DEL, whatever kind of value the key holds.
        let set = self.sets()?.remove(key).is_some();
        let index = self.indexes()?.remove(key).is_some();
        let mut entries = self.lock()?;
        Ok(entries.remove(key).is_some_and(|entry| entry.is_live(now)) || set || index)
    }

    async fn delete_if(&self, key: &str, expected: &[u8]) -> Result<bool, StoreError> {
        let now = self.clock.now_millis();
        let mut entries = self.lock()?;
        let matches = entries
            .get(key)
            .is_some_and(|existing| existing.is_live(now) && existing.value == expected);
        if matches {
            entries.remove(key);
        }
        Ok(matches)
    }

    async fn count_below_limits(
        &self,
        counters: &[(&str, u64)],
        window: Duration,
        now_ms: u64,
    ) -> Result<Count, StoreError> {
        let now = self.clock.now_millis();
        let mut entries = self.lock()?;
        let mut current = Vec::with_capacity(counters.len());
        let mut retry_after_ms = None;
        for &(key, limit) in counters {
            let stored = entries.get(key).filter(|entry| entry.is_live(now));
            let counter = stored.map(|entry| Counter::parse(key, &entry.value));
            let counter = counter.transpose()?.filter(|c| c.window_ends_ms > now_ms);
            if counter.map_or(0, |c| c.count) >= limit {
                let ends = counter.map_or(now_ms + window.as_millis() as u64, |c| c.window_ends_ms);
                retry_after_ms = retry_after_ms.max(Some((ends - now_ms).max(1)));
            }
            current.push((key, counter));
        }
        if let Some(ms) = retry_after_ms {
            return Ok(Count::Full {
                retry_after: Duration::from_millis(ms),
            });
        }
        for (key, counter) in current {
            let next = match counter {
                Some(counter) => Counter {
                    count: counter.count + 1,
                    window_ends_ms: counter.window_ends_ms,
                },
                None => Counter {
                    count: 1,
                    window_ends_ms: now_ms + window.as_millis() as u64,
                },
            };
            let ttl = Duration::from_millis(next.window_ends_ms - now_ms);
            entries.insert(key.to_owned(), self.entry(next.to_bytes(), Some(ttl)));
        }
        self.sweep_now_and_then(&mut entries);
        Ok(Count::Counted)
    }

    async fn uncount(&self, keys: &[&str]) -> Result<(), StoreError> {
        let now = self.clock.now_millis();
        let mut entries = self.lock()?;
        for &key in keys {
            let Some(entry) = entries.get_mut(key).filter(|entry| entry.is_live(now)) else {
                continue;
            };
            let counter = Counter::parse(key, &entry.value)?;
            if counter.count <= 1 {
                entries.remove(key);
            } else {
                let less = Counter {
                    count: counter.count - 1,
                    ..counter
                };
                entry.value = less.to_bytes();
            }
        }
        Ok(())
    }

    async fn put_capped(
        &self,
        index: &str,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
        cap: usize,
    ) -> Result<(), StoreError> {
        let now = self.clock.now_millis();
        let record = self.entry(value, Some(ttl));
        let mut entries = self.lock()?;
        entries.insert(key.to_owned(), record);
        let mut listed = entries
            .remove(index)
            .filter(|entry| entry.is_live(now))
            .map(|entry| entry.value)
            .unwrap_or_default();
        if !listed.is_empty() {
            listed.push(b'\n');
        }
        listed.extend_from_slice(key.as_bytes());
        let mut length = listed.split(|&b| b == b'\n').count();
        let mut start = 0;
        while length > cap {
            let end = listed[start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(listed.len(), |at| start + at);
            if let Ok(oldest) = std::str::from_utf8(&listed[start..end]) {
                entries.remove(oldest);
            }
            start = (end + 1).min(listed.len());
            length -= 1;
        }
        listed.drain(..start);
        let index_entry = self.entry(listed, Some(ttl));
        entries.insert(index.to_owned(), index_entry);
        self.sweep_now_and_then(&mut entries);
        Ok(())
    }

    async fn delete_capped(&self, index: &str, key: &str) -> Result<bool, StoreError> {
        let now = self.clock.now_millis();
        let mut entries = self.lock()?;
        let deleted = entries.remove(key).is_some_and(|entry| entry.is_live(now));
        if let Some(entry) = entries.get_mut(index) {
            let mut kept = Vec::with_capacity(entry.value.len());
            let mut taken = false;
            for line in entry.value.split(|&b| b == b'\n') {
                if !taken && line == key.as_bytes() {
                    taken = true;
                    continue;
                }
                if !kept.is_empty() {
                    kept.push(b'\n');
                }
                kept.extend_from_slice(line);
            }
            entry.value = kept;
        }
        Ok(deleted)
    }

    async fn publish(&self, channel: &str) -> Result<(), StoreError> {
        let mut subscribers = self
            .subscribers
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))?;
        if let Some(senders) = subscribers.get_mut(channel) {
            senders.retain(notices::signal);
        }
        Ok(())
    }

    fn subscribe(&self, channel: &str) -> Notices {
        let (sender, notices) = Notices::channel();
        // Subscribed at once: the first notice says so.
        notices::signal(&sender);
        if let Ok(mut subscribers) = self.subscribers.lock() {
            subscribers
                .entry(channel.to_owned())
                .or_default()
                .push(sender);
        }
        notices
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.lock().map(|_| ())
    }

    fn name(&self) -> &'static str {
        "memory"
    }

    async fn index_add(&self, index: &str, member: &str) -> Result<(), StoreError> {
        self.indexes()?
            .entry(index.to_owned())
            .or_default()
            .insert(member.to_owned());
        Ok(())
    }

    async fn index_remove(&self, index: &str, member: &str) -> Result<bool, StoreError> {
        let mut indexes = self.indexes()?;
        let Some(members) = indexes.get_mut(index) else {
            return Ok(false);
        };
        let removed = members.remove(member);
        if members.is_empty() {
            indexes.remove(index);
        }
        Ok(removed)
    }

    async fn index_range(
        &self,
        index: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        use std::ops::Bound;
        let indexes = self.indexes()?;
        let Some(members) = indexes.get(index) else {
            return Ok(Vec::new());
        };
        let start = match after {
            Some(after) => Bound::Excluded(after.to_owned()),
            None => Bound::Unbounded,
        };
        Ok(members
            .range((start, Bound::Unbounded))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn set_add(
        &self,
        key: &str,
        member: &str,
        expires_at: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        let mut sets = self.sets()?;
        let members = sets.entry(key.to_owned()).or_default();
        members.retain(|_, end| *end > now);
        members.insert(member.to_owned(), expires_at);
        Ok(())
    }

    async fn set_members(&self, key: &str, now: u64) -> Result<Vec<String>, StoreError> {
        let mut sets = self.sets()?;
        let Some(members) = sets.get_mut(key) else {
            return Ok(Vec::new());
        };
        members.retain(|_, end| *end > now);
        let live: Vec<String> = members.keys().cloned().collect();
        if live.is_empty() {
            sets.remove(key);
        }
        Ok(live)
    }

    /// The memory store has no replicas.
    async fn wait_for_replicas(
        &self,
        _replicas: usize,
        _timeout: Duration,
    ) -> Result<usize, StoreError> {
        Ok(0)
    }
}

/// A counter as both backends store it: `<count>:<window end, ms since the epoch>`.
#[derive(Debug, Clone, Copy)]
struct Counter {
    count: u64,
    window_ends_ms: u64,
}

impl Counter {
    fn parse(key: &str, value: &[u8]) -> Result<Self, StoreError> {
        std::str::from_utf8(value)
            .ok()
            .and_then(|text| text.split_once(':'))
            .and_then(|(count, ends)| Some((count.parse().ok()?, ends.parse().ok()?)))
            .map(|(count, window_ends_ms)| Self {
                count,
                window_ends_ms,
            })
            .ok_or_else(|| StoreError::Corrupt(format!("{key}: not a counter")))
    }

    fn to_bytes(self) -> Vec<u8> {
        format!("{}:{}", self.count, self.window_ends_ms).into_bytes()
    }
}
