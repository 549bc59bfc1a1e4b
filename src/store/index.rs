//! Per-owner indexes: the ids of one owner's records (a user's sessions, a user's refresh-token
//! families) under one key, each with the time its record ends, so that all of them can be found
//! without scanning the keyspace. Adding an id drops the entries already past their end, and the
//! key expires with the last record it names, so an index never outlives what it indexes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Store, StoreError};

/// One indexed record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The record's id, as the owner's module names it.
    pub id: String,
    /// When the record ends, seconds since the epoch.
    pub expires_at: u64,
}

fn ttl(entries: &[Entry], now: u64) -> Option<Duration> {
    let last = entries.iter().map(|entry| entry.expires_at).max()?;
    Some(Duration::from_secs(last.saturating_sub(now).max(1)))
}

/// Adds `id`, whose record ends at `expires_at`, to the index under `key`.
pub async fn add(
    store: &dyn Store,
    key: &str,
    id: &str,
    expires_at: u64,
    now: u64,
) -> Result<(), StoreError> {
    super::update_json(
        store,
        key,
        |entries: &Vec<Entry>| ttl(entries, now),
        |entries: Option<Vec<Entry>>| {
            let mut entries = entries.unwrap_or_default();
            entries.retain(|entry| entry.expires_at > now && entry.id != id);
            entries.push(Entry {
                id: id.to_owned(),
                expires_at,
            });
            Some(entries)
        },
    )
    .await?;
    Ok(())
}

/// The ids in the index under `key` whose records have not ended by `now`. Whoever ends them all
/// deletes the index afterwards, so that an interrupted run finds them again.
pub async fn ids(store: &dyn Store, key: &str, now: u64) -> Result<Vec<String>, StoreError> {
    let entries: Vec<Entry> = super::get_json(store, key).await?.unwrap_or_default();
    Ok(entries
        .into_iter()
        .filter(|entry| entry.expires_at > now)
        .map(|entry| entry.id)
        .collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::store::memory::MemoryStore;

    #[tokio::test]
    async fn an_index_drops_ended_records_and_expires_with_the_last() {
        let clock = ManualClock::at_millis(1_000_000);
        let store = MemoryStore::new(Arc::new(clock.clone()));
        add(&store, "i", "a", 1_100, 1_000).await.unwrap();
        add(&store, "i", "b", 1_500, 1_000).await.unwrap();
        add(&store, "i", "c", 1_200, 1_150).await.unwrap();
        assert_eq!(ids(&store, "i", 1_150).await.unwrap(), ["b", "c"]);
        store.delete("i").await.unwrap();
        assert!(ids(&store, "i", 1_150).await.unwrap().is_empty());

        add(&store, "i", "d", 1_010, 1_000).await.unwrap();
        clock.advance(Duration::from_secs(11));
        assert_eq!(
            store.get("i").await.unwrap(),
            None,
            "expired with its record"
        );
    }
}
