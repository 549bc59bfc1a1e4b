//! The provisioning marker. Start-up writes `keyspace::PROVISIONED` last, after the config's
//! clients and users and the key ring, holding a random generation id, and never overwrites
//! one that is there. While it is missing the store has lost what ferrid provisioned — a Redis
//! restarted without persistence, a failover to an empty replica, a `FLUSHALL` — and `bootstrap`
//! provisions it again; a generation other than the one an instance provisioned means another
//! instance provisioned the store again first.
//!
//! Until that is done, a lookup that finds no client or user cannot tell "never registered" from
//! "lost with the rest": `confirm_absent` turns the second into `StoreError::Unavailable`, so a
//! client gets 503 `temporarily_unavailable` for those few seconds, not `invalid_client`.

use super::keyspace::PROVISIONED;
use super::{Store, StoreError};

/// The generation of the last provisioning, or `None` when the store lost it (or never had it).
pub async fn generation(store: &dyn Store) -> Result<Option<String>, StoreError> {
    Ok(store
        .get(PROVISIONED)
        .await?
        .map(|raw| String::from_utf8_lossy(&raw).into_owned()))
}

/// Records that provisioning completed, as `generation` unless the marker is there already
/// (another instance provisioned the same store first). Returns the generation now recorded.
pub async fn mark(store: &dyn Store, generation: &str) -> Result<String, StoreError> {
    loop {
        if store
            .put_new(PROVISIONED, generation.as_bytes().to_vec(), None)
            .await?
        {
            return Ok(generation.to_owned());
        }
        if let Some(current) = self::generation(store).await? {
            return Ok(current);
        }
        // Deleted between the two calls (yet another loss): write it again.
    }
}

/// For a lookup that found nothing: `Ok` when the store is provisioned, so the thing really does
/// not exist; `Unavailable` when the store lost its data and is being provisioned again.
pub async fn confirm_absent(store: &dyn Store) -> Result<(), StoreError> {
    match generation(store).await? {
        Some(_) => Ok(()),
        None => Err(StoreError::Unavailable(
            "the store lost its data; ferrid is provisioning it again".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::SystemClock;
    use crate::store::memory::MemoryStore;

    #[tokio::test]
    async fn the_first_generation_stays_until_the_marker_is_lost() {
        let store = MemoryStore::new(Arc::new(SystemClock));
        assert_eq!(generation(&store).await.unwrap(), None);
        assert!(matches!(
            confirm_absent(&store).await,
            Err(StoreError::Unavailable(_))
        ));
        assert_eq!(mark(&store, "g1").await.unwrap(), "g1");
        assert_eq!(mark(&store, "g2").await.unwrap(), "g1");
        confirm_absent(&store).await.unwrap();
        store.delete(PROVISIONED).await.unwrap();
        assert_eq!(mark(&store, "g3").await.unwrap(), "g3");
    }
}
