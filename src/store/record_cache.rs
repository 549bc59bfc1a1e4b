//! The in-process copy of records every request reads and that hardly ever change (the client
//! records, `store::cached`), kept correct by a notice subscription rather than by a TTL.
//!
//! Every value is filed under the `Stamp` taken *before* it was read from the store: the
//! subscription's `Epoch` (which moves on every notice delivered, and on every loss and
//! re-establishment of the subscription) and a local counter (which moves on every write this
//! process makes). The cache only ever holds values of the current stamp: a lookup that finds
//! the stamp moved drops everything, and an insert whose stamp is no longer current is refused.
//! That closes the race "read from the store → invalidation arrives → the stale value is
//! inserted": the read started under the old stamp, so its value is never served. While the
//! subscription is not established (not yet, or lost), there is no stamp: lookups bypass the
//! cache, nothing is inserted, and the first notice of the re-established subscription moves
//! the epoch past everything read before.
//!
//! Two bounds back this up. Only records found are kept (an unknown id is read from the store
//! every time), and at most `capacity` of them: one arbitrary entry makes room for a new one.
//! And a value is served for at most `max_age` after it was read, so that a notice lost without
//! the subscription noticing (a publish that failed, a connection that hangs instead of closing)
//! delays a change by that much at worst.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::notices::Epoch;

/// Records cached under one stamp, bounded in number and age.
pub struct RecordCache {
    epoch: Epoch,
    local: AtomicU64,
    state: Mutex<State>,
    capacity: usize,
    max_age_ms: u64,
}

/// When a value was read, in the terms that decide whether it may still be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    notices: u64,
    local: u64,
}

/// What a lookup found.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The cached value.
    Hit(Vec<u8>),
    /// Nothing usable: read the store, then `insert` what it returned under this stamp.
    Miss(Stamp),
    /// The cache cannot be trusted now (the subscription is down): read the store, keep nothing.
    Bypass,
}

#[derive(Default)]
struct State {
    stamp: Option<Stamp>,
    entries: HashMap<String, Entry>,
}

struct Entry {
    value: Vec<u8>,
    read_at_ms: u64,
}

impl State {
    /// Moves the cache to `stamp`, dropping what was read under any other.
    fn enter(&mut self, stamp: Stamp) {
        if self.stamp != Some(stamp) {
            self.entries.clear();
            self.stamp = Some(stamp);
        }
    }
}

impl RecordCache {
    /// An empty cache following `epoch`, holding at most `capacity` records, each served for at
    /// most `max_age` after it was read.
    pub fn new(epoch: Epoch, capacity: usize, max_age: Duration) -> Self {
        Self {
            epoch,
            local: AtomicU64::new(0),
            state: Mutex::new(State::default()),
            capacity: capacity.max(1),
            max_age_ms: u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// The current stamp; `None` while the subscription is not established.
    fn stamp(&self) -> Option<Stamp> {
        Some(Stamp {
            notices: self.epoch.current()?,
            local: self.local.load(Ordering::SeqCst),
        })
    }

    /// The value cached under `key` if it is current and younger than the maximum age (`now_ms`
    /// on the caller's clock).
    pub fn lookup(&self, key: &str, now_ms: u64) -> Lookup {
        let Ok(mut state) = self.state.lock() else {
            return Lookup::Bypass;
        };
        // Read under the lock, so stamps are seen in the order the lock is taken.
        let Some(stamp) = self.stamp() else {
            state.entries.clear();
            state.stamp = None;
            return Lookup::Bypass;
        };
        state.enter(stamp);
        match state.entries.get(key) {
            Some(entry) if now_ms.saturating_sub(entry.read_at_ms) < self.max_age_ms => {
                Lookup::Hit(entry.value.clone())
            }
            Some(_) => {
                state.entries.remove(key);
                Lookup::Miss(stamp)
            }
            None => Lookup::Miss(stamp),
        }
    }

    /// Keeps `value`, read from the store under `stamp` at `read_at_ms`, unless the stamp moved
    /// since (a notice or a local write came in meanwhile: the value may be stale); `true` when
    /// kept.
    pub fn insert(&self, key: &str, value: Vec<u8>, stamp: Stamp, read_at_ms: u64) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        if self.stamp() != Some(stamp) {
            return false;
        }
        state.enter(stamp);
        if state.entries.len() >= self.capacity && !state.entries.contains_key(key) {
            // Any entry will do: every one of them can be read again from the store.
            if let Some(victim) = state.entries.keys().next().cloned() {
                state.entries.remove(&victim);
            }
        }
        state
            .entries
            .insert(key.to_owned(), Entry { value, read_at_ms });
        true
    }

    /// Forgets everything cached (and refuses what is being read now): this process changed a
    /// record.
    pub fn invalidate(&self) {
        self.local.fetch_add(1, Ordering::SeqCst);
    }

    /// How many records are cached.
    pub fn len(&self) -> usize {
        self.state.lock().map_or(0, |state| state.entries.len())
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::notices::{self, Notices, Sender};

    const AGE: Duration = Duration::from_secs(10);

    /// A cache on an established subscription, and the store's end of that subscription.
    fn cache(capacity: usize) -> (RecordCache, Sender, Notices) {
        let (sender, notices) = Notices::channel();
        assert!(notices::signal(&sender));
        (
            RecordCache::new(notices.epoch(), capacity, AGE),
            sender,
            notices,
        )
    }

    fn miss(cache: &RecordCache, key: &str) -> Stamp {
        match cache.lookup(key, 0) {
            Lookup::Miss(stamp) => stamp,
            other => panic!("expected a miss, got {other:?}"),
        }
    }

    #[test]
    fn a_value_read_is_served_until_a_notice_arrives() {
        let (cache, sender, _notices) = cache(8);
        let stamp = miss(&cache, "a");
        assert!(cache.insert("a", b"v1".to_vec(), stamp, 0));
        assert_eq!(cache.lookup("a", 1), Lookup::Hit(b"v1".to_vec()));
        notices::signal(&sender);
        miss(&cache, "a");
        assert!(cache.is_empty(), "a notice drops every record");
    }

    #[test]
    fn a_value_read_before_a_notice_is_not_kept() {
        let (cache, sender, _notices) = cache(8);
        // Read from the store under the current stamp …
        let stamp = miss(&cache, "a");
        // … the record changes elsewhere and the notice is delivered before the read returns …
        notices::signal(&sender);
        // … so the old value it returns must not be served to anyone after the notice.
        assert!(!cache.insert("a", b"old".to_vec(), stamp, 0));
        let fresh = miss(&cache, "a");
        assert!(cache.insert("a", b"new".to_vec(), fresh, 0));
        assert_eq!(cache.lookup("a", 0), Lookup::Hit(b"new".to_vec()));
    }

    #[test]
    fn a_value_read_before_a_local_write_is_not_kept() {
        let (cache, _sender, _notices) = cache(8);
        let stamp = miss(&cache, "a");
        cache.invalidate();
        assert!(!cache.insert("a", b"old".to_vec(), stamp, 0));
        let stamp = miss(&cache, "a");
        assert!(cache.insert("a", b"v".to_vec(), stamp, 0));
        cache.invalidate();
        miss(&cache, "a");
    }

    #[test]
    fn nothing_is_served_or_kept_while_the_subscription_is_down() {
        let (sender, notices) = Notices::channel();
        let cache = RecordCache::new(notices.epoch(), 8, AGE);
        assert_eq!(cache.lookup("a", 0), Lookup::Bypass, "not established yet");
        notices::signal(&sender);
        let stamp = miss(&cache, "a");
        assert!(cache.insert("a", b"v".to_vec(), stamp, 0));
        notices::lost(&sender);
        assert_eq!(cache.lookup("a", 0), Lookup::Bypass);
        assert!(!cache.insert("a", b"v".to_vec(), stamp, 0));
        // Back again: what was read before the loss is gone, since notices may have been missed.
        notices::signal(&sender);
        miss(&cache, "a");
    }

    #[test]
    fn the_number_of_records_is_capped() {
        let (cache, _sender, _notices) = cache(3);
        for n in 0..10 {
            let key = format!("k{n}");
            let stamp = miss(&cache, &key);
            assert!(cache.insert(&key, vec![n], stamp, 0));
            assert!(cache.len() <= 3);
        }
        assert_eq!(
            cache.lookup("k9", 0),
            Lookup::Hit(vec![9]),
            "the newest is kept"
        );
    }

    #[test]
    fn a_record_is_served_for_at_most_the_maximum_age() {
        let (cache, _sender, _notices) = cache(8);
        let stamp = miss(&cache, "a");
        assert!(cache.insert("a", b"v".to_vec(), stamp, 1_000));
        assert_eq!(cache.lookup("a", 10_999), Lookup::Hit(b"v".to_vec()));
        assert!(matches!(cache.lookup("a", 11_000), Lookup::Miss(_)));
    }
}
