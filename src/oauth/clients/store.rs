//! Client records in the store: each under `keyspace::client`, every id listed in
//! `keyspace::CLIENT_INDEX` (`store::registry` keeps the two in step). A client is created only
//! if its id is free (`create`: a duplicate is a conflict, never an overwrite); config clients
//! are written over at every start (`upsert`) and marked `from_config`. Every write keeps the
//! origin index (`cors_origins`) in step with the client's `allowed_cors_origins`.

use super::{cors_origins, Client};
use crate::store::registry::{self, Page};
use crate::store::{self, keyspace, Store, StoreError};

/// Writes (or replaces) a client and lists it.
pub async fn upsert(store: &dyn Store, client: &Client) -> Result<(), StoreError> {
    let key = keyspace::client(&client.client_id);
    // A record this version cannot read is written over, as before; its origins stay listed.
    let previous = match find(store, &client.client_id).await {
        Err(StoreError::Corrupt(_)) => None,
        found => found?,
    };
    cors_origins::list(store, client).await?;
    registry::put(
        store,
        keyspace::CLIENT_INDEX,
        &client.client_id,
        &key,
        store::encode(client)?,
    )
    .await?;
    cors_origins::list(store, client).await?;
    if let Some(previous) = previous {
        let dropped = cors_origins::dropped(&previous, Some(client));
        cors_origins::unlist(store, &client.client_id, &dropped).await?;
    }
    Ok(())
}

/// Registers a new client; `false` (and nothing written) when its id is taken.
pub async fn create(store: &dyn Store, client: &Client) -> Result<bool, StoreError> {
    let key = keyspace::client(&client.client_id);
    cors_origins::list(store, client).await?;
    let created = registry::create(
        store,
        keyspace::CLIENT_INDEX,
        &client.client_id,
        &key,
        store::encode(client)?,
    )
    .await?;
    if created {
        cors_origins::list(store, client).await?;
    } else {
        // Listed for nothing: the client already there keeps what it has.
        cors_origins::unlist(store, &client.client_id, &client.allowed_cors_origins).await?;
    }
    Ok(created)
}

/// Why a client could not be replaced.
#[derive(Debug, thiserror::Error)]
pub enum ReplaceError {
    #[error("no client is registered as `{0}`")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Replaces client `client_id` by `change(current)`, unless another writer changed it since it
/// was read (then `change` runs again on the fresh record). `change` may refuse with `Err`,
/// which is returned as it is. Returns the client written.
pub async fn replace<E: From<ReplaceError>>(
    store: &dyn Store,
    client_id: &str,
    mut change: impl FnMut(Client) -> Result<Client, E>,
) -> Result<Client, E> {
    let key = keyspace::client(client_id);
    let mut refused = None;
    let mut replaced = None;
    let written = store::update_json(
        store,
        &key,
        |_: &Client| None,
        |current: Option<Client>| {
            let Some(current) = current else {
                refused = Some(Err(ReplaceError::NotFound(client_id.to_owned()).into()));
                return None;
            };
            replaced = Some(current.clone());
            match change(current) {
                Ok(next) => Some(next),
                Err(err) => {
                    refused = Some(Err(err));
                    None
                }
            }
        },
    )
    .await
    .map_err(|err| E::from(ReplaceError::Store(err)))?;
    match (written, refused) {
        (Some(client), _) => {
            // The new origins are known only once `change` ran: listed right after the write.
            let origins = |err| E::from(ReplaceError::Store(err));
            cors_origins::list(store, &client).await.map_err(origins)?;
            if let Some(previous) = replaced {
                let dropped = cors_origins::dropped(&previous, Some(&client));
                cors_origins::unlist(store, client_id, &dropped)
                    .await
                    .map_err(origins)?;
            }
            Ok(client)
        }
        (None, Some(refusal)) => refusal,
        (None, None) => Err(ReplaceError::NotFound(client_id.to_owned()).into()),
    }
}

/// Deletes client `client_id` and unlists it; returns the record deleted.
pub async fn take(store: &dyn Store, client_id: &str) -> Result<Option<Client>, StoreError> {
    let key = keyspace::client(client_id);
    let Some(raw) = registry::take(store, keyspace::CLIENT_INDEX, client_id, &key).await? else {
        return Ok(None);
    };
    let client: Client = store::decode(&key, &raw)?;
    let dropped = cors_origins::dropped(&client, None);
    cors_origins::unlist(store, client_id, &dropped).await?;
    Ok(Some(client))
}

/// Deletes client `client_id` and unlists it, only if `still` holds for the record as it is when
/// deleted: a record changed after it was read is read and judged again. `None` when there is no
/// such client or `still` refused it.
pub async fn take_if(
    store: &dyn Store,
    client_id: &str,
    still: impl Fn(&Client) -> bool,
) -> Result<Option<Client>, StoreError> {
    let key = keyspace::client(client_id);
    loop {
        let Some(raw) = store.get(&key).await? else {
            return Ok(None);
        };
        let client: Client = store::decode(&key, &raw)?;
        if !still(&client) {
            return Ok(None);
        }
        if store.delete_if(&key, &raw).await? {
            store
                .index_remove(keyspace::CLIENT_INDEX, client_id)
                .await?;
            let dropped = cors_origins::dropped(&client, None);
            cors_origins::unlist(store, client_id, &dropped).await?;
            return Ok(Some(client));
        }
    }
}

/// A page of clients in id order, after `after`.
pub async fn list(
    store: &dyn Store,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Client>, StoreError> {
    registry::page(
        store,
        keyspace::CLIENT_INDEX,
        after,
        limit,
        keyspace::client,
    )
    .await
}

/// The ids of the clients the config provisioned at the last start.
pub async fn provisioned_ids(store: &dyn Store) -> Result<Vec<String>, StoreError> {
    Ok(store::get_json(store, keyspace::BOOTSTRAP_CLIENTS)
        .await?
        .unwrap_or_default())
}

/// Records the ids of the clients the config provisions now, so that a later start can tell
/// the clients the config removed from clients created any other way.
pub async fn record_provisioned_ids(store: &dyn Store, ids: &[String]) -> Result<(), StoreError> {
    store::put_json(store, keyspace::BOOTSTRAP_CLIENTS, &ids, None).await
}

/// Looks a client up by id.
pub async fn find(store: &dyn Store, client_id: &str) -> Result<Option<Client>, StoreError> {
    store::get_json(store, &keyspace::client(client_id)).await
}
