//! Client records in the store, under `keyspace::client`.

use super::Client;
use crate::store::{self, keyspace, Store, StoreError};

/// Writes (or replaces) a client.
pub async fn upsert(store: &dyn Store, client: &Client) -> Result<(), StoreError> {
    store::put_json(store, &keyspace::client(&client.client_id), client, None).await
}

/// Makes the store's config-provisioned clients exactly `configured`: upserts each, and deletes
/// those an earlier start provisioned that the config no longer lists (their refresh tokens and
/// sessions then stop working, as the operator meant).
pub async fn sync_bootstrap(store: &dyn Store, configured: &[Client]) -> Result<(), StoreError> {
    let previous: Vec<String> = store::get_json(store, keyspace::BOOTSTRAP_CLIENTS)
        .await?
        .unwrap_or_default();
    for client in configured {
        upsert(store, client).await?;
    }
    for stale in previous
        .iter()
        .filter(|id| !configured.iter().any(|c| &c.client_id == *id))
    {
        store.delete(&keyspace::client(stale)).await?;
        tracing::info!(client_id = %stale, "client removed from the config: deleted");
    }
    let ids: Vec<&str> = configured.iter().map(|c| c.client_id.as_str()).collect();
    store::put_json(store, keyspace::BOOTSTRAP_CLIENTS, &ids, None).await
}

/// Looks a client up by id.
pub async fn find(store: &dyn Store, client_id: &str) -> Result<Option<Client>, StoreError> {
    store::get_json(store, &keyspace::client(client_id)).await
}
