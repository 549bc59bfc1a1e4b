//! The access-token deny-list: a revoked token's `jti` is kept in the store until the token
//! would have expired anyway, so the entry's TTL is exactly the token's remaining lifetime.
//! Endpoints that must honour revocation at once (userinfo, introspection) check it with one
//! store read; resource servers verifying offline rely on short token lifetimes.

use std::time::Duration;

use crate::store::{keyspace, Store, StoreError};

/// Revokes the access token `jti` that expires at `exp` (seconds); a no-op once expired.
pub async fn revoke_access_token(
    store: &dyn Store,
    jti: &str,
    exp: u64,
    now: u64,
) -> Result<(), StoreError> {
    if exp <= now {
        return Ok(());
    }
    store
        .put(
            &keyspace::revoked_jti(jti),
            b"1".to_vec(),
            Some(Duration::from_secs(exp - now)),
        )
        .await
}

/// Whether the access token `jti` was revoked.
pub async fn is_revoked(store: &dyn Store, jti: &str) -> Result<bool, StoreError> {
    Ok(store.get(&keyspace::revoked_jti(jti)).await?.is_some())
}
