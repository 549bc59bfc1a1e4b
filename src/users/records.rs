//! User records in the store: each under `keyspace::user` (by stable id), its username claimed
//! under `keyspace::username`, every id listed in `keyspace::USER_INDEX` (`store::registry`).
//!
//! A username belongs to one user: it is claimed with `put_new` before the record is written,
//! and a claim is only taken over when it is stale — its user is gone, or was renamed and the
//! rename stopped before freeing the old name. A creation that lost its claim to such a takeover
//! while it was writing (the takeover saw no record yet) notices afterwards, removes what it
//! wrote and reports the name as taken, so two users never end up with one username.

use super::User;
use crate::store::registry::{self, Page};
use crate::store::{self, keyspace, Store, StoreError};

/// How often a username claim or a replacement is retried against concurrent writers.
const ATTEMPTS: usize = 16;

/// Why a user could not be created or changed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the username `{0}` is taken")]
    UsernameTaken(String),
    #[error("no user has the id `{0}`")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Writes (or replaces) a user record and lists it; the username claim is the caller's.
pub async fn put(store: &dyn Store, user: &User) -> Result<(), StoreError> {
    let key = keyspace::user(&user.id);
    registry::put(
        store,
        keyspace::USER_INDEX,
        &user.id,
        &key,
        store::encode(user)?,
    )
    .await
}

/// Creates `user` (a fresh id) if its username is free.
pub async fn create(store: &dyn Store, user: &User) -> Result<(), WriteError> {
    let key = keyspace::user(&user.id);
    store.index_add(keyspace::USER_INDEX, &user.id).await?;
    if !claim(store, &user.username, &user.id).await? {
        store.index_remove(keyspace::USER_INDEX, &user.id).await?;
        return Err(WriteError::UsernameTaken(user.username.clone()));
    }
    registry::create(
        store,
        keyspace::USER_INDEX,
        &user.id,
        &key,
        store::encode(user)?,
    )
    .await?;
    if !holds(store, &user.username, &user.id).await? {
        // Taken over between the claim and the write, when it looked stale: back off.
        registry::take(store, keyspace::USER_INDEX, &user.id, &key).await?;
        return Err(WriteError::UsernameTaken(user.username.clone()));
    }
    Ok(())
}

/// Replaces user `id` by `change(current)` — refused with `Err` as `change` decides — claiming
/// a new username first when it changes, and freeing the old one after.
pub async fn replace<E: From<WriteError>>(
    store: &dyn Store,
    id: &str,
    mut change: impl FnMut(User) -> Result<User, E>,
) -> Result<User, E> {
    let key = keyspace::user(id);
    for _ in 0..ATTEMPTS {
        let raw = store
            .get(&key)
            .await
            .map_err(WriteError::from)?
            .ok_or_else(|| WriteError::NotFound(id.to_owned()))?;
        let current: User = store::decode(&key, &raw).map_err(WriteError::from)?;
        let old_username = current.username.clone();
        let next = change(current)?;
        let renamed = next.username != old_username;
        if renamed && !claim(store, &next.username, id).await? {
            return Err(WriteError::UsernameTaken(next.username).into());
        }
        let bytes = store::encode(&next).map_err(WriteError::from)?;
        if store
            .compare_and_swap(&key, &raw, bytes, None)
            .await
            .map_err(WriteError::from)?
        {
            if renamed {
                release(store, &old_username, id)
                    .await
                    .map_err(WriteError::from)?;
            }
            return Ok(next);
        }
        if renamed {
            release(store, &next.username, id)
                .await
                .map_err(WriteError::from)?;
        }
    }
    Err(WriteError::Store(StoreError::Backend(format!("{key}: still changing"))).into())
}

/// A page of users in id order, after `after`.
pub async fn list(
    store: &dyn Store,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<User>, StoreError> {
    registry::page(store, keyspace::USER_INDEX, after, limit, keyspace::user).await
}

/// Claims `username` for user `id`: `true` when it is now `id`'s.
async fn claim(store: &dyn Store, username: &str, id: &str) -> Result<bool, WriteError> {
    let key = keyspace::username(username);
    for _ in 0..ATTEMPTS {
        if store.put_new(&key, id.as_bytes().to_vec(), None).await? {
            return Ok(true);
        }
        let Some(holder) = store.get(&key).await? else {
            continue;
        };
        if holder == id.as_bytes() {
            return Ok(true);
        }
        let holder_id = String::from_utf8_lossy(&holder).into_owned();
        let holder_user = super::find_by_id(store, &holder_id).await?;
        if holder_user.is_some_and(|user| user.username == username) {
            return Ok(false);
        }
        // Stale: its user is gone or now has another name.
        if store
            .compare_and_swap(&key, &holder, id.as_bytes().to_vec(), None)
            .await?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether `username` is still claimed by `id`.
async fn holds(store: &dyn Store, username: &str, id: &str) -> Result<bool, StoreError> {
    Ok(store
        .get(&keyspace::username(username))
        .await?
        .is_some_and(|holder| holder == id.as_bytes()))
}

/// Frees `username` if `id` holds it.
async fn release(store: &dyn Store, username: &str, id: &str) -> Result<(), StoreError> {
    store
        .delete_if(&keyspace::username(username), id.as_bytes())
        .await?;
    Ok(())
}
