//! Records that can be listed: each under its own key (`client:{id}`, `user:{id}`), and its id
//! in one sorted index per kind (`clients:{index}`, `users:{index}`), so that an admin listing
//! pages through the index instead of scanning the keyspace.
//!
//! A record and the index cannot be written in one atomic step: each record's key carries its
//! own id as Redis Cluster hash tag (so records spread over the cluster), while the index is one
//! key, and no script or `MULTI` may span two slots. Instead every write keeps one invariant —
//! every record is listed; the index may briefly list an id whose record is gone — by ordering
//! single-key steps: a record is listed before it is written and again after (`create`, `put`),
//! and unlisted only after it is deleted (`take`). A crash between two steps leaves at worst a
//! stale id, which a listing skips and repairs (`repair`). Both backends run this same code.

use serde::de::DeserializeOwned;

use super::{decode, Store, StoreError};

/// Most records one page may hold.
pub const MAX_PAGE: usize = 200;

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts (the last id of this one); `None` on the last page.
    pub next: Option<String>,
}

/// Writes `value` under `key` unless a record is there, listing `id` in `index` before and
/// after; `true` when this call created it. A duplicate stays listed: its record exists.
pub async fn create(
    store: &dyn Store,
    index: &str,
    id: &str,
    key: &str,
    value: Vec<u8>,
) -> Result<bool, StoreError> {
    store.index_add(index, id).await?;
    let created = store.put_new(key, value, None).await?;
    if created {
        // A listing may have found the id without a record between the two steps and
        // unlisted it (`repair`): list it again now that the record exists.
        store.index_add(index, id).await?;
    }
    Ok(created)
}

/// Writes (or replaces) the record of `id`, listing it before and after.
pub async fn put(
    store: &dyn Store,
    index: &str,
    id: &str,
    key: &str,
    value: Vec<u8>,
) -> Result<(), StoreError> {
    store.index_add(index, id).await?;
    store.put(key, value, None).await?;
    store.index_add(index, id).await
}

/// Deletes the record under `key`, then unlists `id`; returns the record it deleted.
pub async fn take(
    store: &dyn Store,
    index: &str,
    id: &str,
    key: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    let taken = store.take(key).await?;
    store.index_remove(index, id).await?;
    Ok(taken)
}

/// Up to `limit` (at most `MAX_PAGE`) records listed in `index` after `after`, decoded; `key_of`
/// names the record of an id. Stale ids are skipped and repaired, and the page is filled from
/// further ids, so a page is short only at the end of the listing.
pub async fn page<T: DeserializeOwned>(
    store: &dyn Store,
    index: &str,
    after: Option<&str>,
    limit: usize,
    key_of: impl Fn(&str) -> String,
) -> Result<Page<T>, StoreError> {
    let limit = limit.clamp(1, MAX_PAGE);
    let mut items = Vec::with_capacity(limit);
    let mut cursor = after.map(str::to_owned);
    loop {
        let wanted = limit - items.len();
        let ids = store.index_range(index, cursor.as_deref(), wanted).await?;
        let exhausted = ids.len() < wanted;
        for id in ids {
            let key = key_of(&id);
            match store.get(&key).await? {
                Some(bytes) => items.push(decode(&key, &bytes)?),
                None => repair(store, index, &id, &key).await?,
            }
            cursor = Some(id);
        }
        if exhausted {
            return Ok(Page { items, next: None });
        }
        if items.len() == limit {
            return Ok(Page {
                items,
                next: cursor,
            });
        }
    }
}

/// Unlists `id`, whose record was just found missing, unless it exists after all. Against a
/// creation of `id` running meanwhile (list, write, list again): either the second read here
/// sees its record and lists it back, or the record was written after that read, hence after
/// the unlisting, and the creation's second listing comes later still. Either way the id ends
/// up listed; a deletion running meanwhile may leave it listed, stale, for the next repair.
async fn repair(store: &dyn Store, index: &str, id: &str, key: &str) -> Result<(), StoreError> {
    store.index_remove(index, id).await?;
    if store.get(key).await?.is_some() {
        store.index_add(index, id).await?;
    }
    Ok(())
}
