//! Remembered consent: the scopes a person approved for a client, so the consent page appears
//! only for scopes not approved before (or when the client asks with `prompt=consent`).

use std::time::Duration;

use crate::context::Context;
use crate::store::{self, keyspace, StoreError};

/// Whether `user_id` approved every scope in `scopes` for `client_id`.
pub async fn covers(
    ctx: &Context,
    user_id: &str,
    client_id: &str,
    scopes: &[String],
) -> Result<bool, StoreError> {
    let granted: Vec<String> = store::get_json(ctx.store(), &keyspace::consent(user_id, client_id))
        .await?
        .unwrap_or_default();
    Ok(scopes.iter().all(|scope| granted.contains(scope)))
}

/// Adds `scopes` to what `user_id` approved for `client_id`.
pub async fn remember(
    ctx: &Context,
    user_id: &str,
    client_id: &str,
    scopes: &[String],
) -> Result<(), StoreError> {
    let key = keyspace::consent(user_id, client_id);
    let mut granted: Vec<String> = store::get_json(ctx.store(), &key)
        .await?
        .unwrap_or_default();
    for scope in scopes {
        if !granted.contains(scope) {
            granted.push(scope.clone());
        }
    }
    let ttl = Duration::from_secs(ctx.settings().sessions.consent_ttl_secs);
    store::put_json(ctx.store(), &key, &granted, Some(ttl)).await
}
