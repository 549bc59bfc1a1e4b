//! Clients managed at runtime: list, show, create, replace, delete, rotate the secret. Every
//! change goes through the one client validator; a client the config provisioned is the
//! config's, and changing it here is a conflict. A confidential client's secret is generated
//! here (256 bits), returned once to the caller, stored only as its SHA-256 and never logged.
//! Deleting a client revokes its refresh-token families (and the access tokens they issued)
//! and its outstanding authorization codes. With `store.durability = "replicated"` every change
//! waits for a replica before it is answered, and a new secret is shown only once one holds it:
//! a rotation lost in a failover would bring the old (perhaps leaked) secret back. A 503 there
//! means "retry": a created client is taken away again, a rotated secret stays rotated (the old
//! one no longer works on the master) and the next rotation shows a fresh one.

use super::{Actor, AdminError, DEFAULT_PAGE};
use crate::context::Context;
use crate::oauth::clients::store::{self as client_store, ReplaceError};
use crate::oauth::clients::{self, AuthMethod, Client, ClientMetadata, Rules};
use crate::oauth::{codes, refresh_family};
use crate::secret::{random_token, sha256, SecretString};
use crate::store::registry::Page;
use crate::store::StoreError;
use crate::telemetry::AdminAction;

/// A client as registered or changed, with its new secret when it got one (shown once).
#[derive(Debug)]
pub struct Registered {
    pub client: Client,
    pub client_secret: Option<SecretString>,
}

/// What deleting a client ended.
#[derive(Debug)]
pub struct Removed {
    pub client: Client,
    pub refresh_families: usize,
    pub codes: usize,
}

impl From<ReplaceError> for AdminError {
    fn from(err: ReplaceError) -> Self {
        match err {
            ReplaceError::NotFound(_) => Self::NotFound(err.to_string()),
            ReplaceError::Store(err) => err.into(),
        }
    }
}

fn owned_by_config(client_id: &str) -> AdminError {
    AdminError::Conflict(format!(
        "client `{client_id}` is provisioned by the config file ([[clients]]); change it there \
         and restart ferrid"
    ))
}

fn not_found(client_id: &str) -> AdminError {
    AdminError::NotFound(format!("no client is registered as `{client_id}`"))
}

fn rules(ctx: &Context) -> Rules<'_> {
    Rules {
        catalog: ctx.scope_catalog(),
        issuer: ctx.settings().issuer(),
    }
}

/// Whether `metadata` registers a client that authenticates with a secret (the default
/// `client_secret_basic` or `client_secret_post`); public and `private_key_jwt` clients have none.
fn uses_secret(metadata: &ClientMetadata) -> bool {
    metadata
        .token_endpoint_auth_method
        .as_deref()
        .and_then(AuthMethod::parse)
        .is_none_or(AuthMethod::uses_secret)
}

fn new_secret() -> Result<SecretString, AdminError> {
    random_token()
        .map(SecretString::new)
        .map_err(AdminError::server)
}

/// A page of clients in id order.
pub async fn list(
    ctx: &Context,
    after: Option<&str>,
    limit: Option<usize>,
) -> Result<Page<Client>, AdminError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    Ok(client_store::list(ctx.store(), after, limit).await?)
}

/// Client `client_id`.
pub async fn get(ctx: &Context, client_id: &str) -> Result<Client, AdminError> {
    clients::find(ctx.store(), client_id)
        .await?
        .ok_or_else(|| not_found(client_id))
}

/// Registers a client under `client_id` (a random one when `None`); a confidential client gets
/// a generated secret. A taken id is a conflict, never an overwrite.
pub async fn create(
    ctx: &Context,
    actor: &Actor,
    client_id: Option<String>,
    metadata: &ClientMetadata,
) -> Result<Registered, AdminError> {
    let client_id = match client_id {
        Some(id) => id,
        None => clients::generate_id().map_err(AdminError::server)?,
    };
    let secret = new_secret()?;
    let digest = uses_secret(metadata).then(|| sha256(secret.expose().as_bytes()));
    let mut client = clients::validate(&client_id, metadata, digest, &rules(ctx))?;
    client.created_at = ctx.clock().now_secs();
    if !client_store::create(ctx.store(), &client).await? {
        return Err(AdminError::Conflict(format!(
            "a client is already registered as `{client_id}`"
        )));
    }
    if let Err(err) = ctx.acknowledge_writes().await {
        // Taken away again (best effort), with anything it was given meanwhile, so that a
        // retry under the same id is no conflict; not if another change got to it first.
        let ours = |current: &Client| current == &client;
        if let Err(cleanup) = remove_if(ctx, &client_id, ours).await {
            tracing::warn!(client_id, error = %cleanup, "unacknowledged client left behind");
        }
        return Err(err.into());
    }
    actor.audit_client(AdminAction::ClientCreated, &client.client_id);
    let client_secret = client.has_secret().then_some(secret);
    Ok(Registered {
        client,
        client_secret,
    })
}

/// Replaces the metadata of client `client_id`. Its secret stays; a public client made
/// confidential gets a new one (returned once), a confidential one made public loses it.
pub async fn replace(
    ctx: &Context,
    actor: &Actor,
    client_id: &str,
    metadata: &ClientMetadata,
) -> Result<Registered, AdminError> {
    let fresh = new_secret()?;
    let fresh_digest = sha256(fresh.expose().as_bytes());
    let mut issued = false;
    let client = client_store::replace(ctx.store(), client_id, |current: Client| {
        if current.from_config {
            return Err(owned_by_config(client_id));
        }
        let with_secret = uses_secret(metadata);
        let secret = match current.secret_sha256() {
            _ if !with_secret => None,
            Some(kept) => Some(kept),
            None => Some(fresh_digest),
        };
        issued = with_secret && current.secret_sha256().is_none();
        let next = clients::validate(client_id, metadata, secret, &rules(ctx))?;
        // A client registered through `/register` stays manageable there.
        let mut next = next.with_registration_token_sha256(current.registration_token_sha256());
        next.created_at = current.created_at;
        Ok(next)
    })
    .await?;
    ctx.acknowledge_writes().await?;
    actor.audit_client(AdminAction::ClientUpdated, &client.client_id);
    Ok(Registered {
        client,
        client_secret: issued.then_some(fresh),
    })
}

/// Gives confidential client `client_id` a new secret (returned once); the old one stops
/// working at once.
pub async fn rotate_secret(
    ctx: &Context,
    actor: &Actor,
    client_id: &str,
) -> Result<Registered, AdminError> {
    let secret = new_secret()?;
    let digest = sha256(secret.expose().as_bytes());
    let client = client_store::replace(ctx.store(), client_id, |current: Client| {
        if current.from_config {
            return Err(owned_by_config(client_id));
        }
        if !current.has_secret() {
            return Err(AdminError::InvalidRequest(format!(
                "client `{client_id}` has no secret to rotate: it authenticates with {}",
                current.auth_method.as_str()
            )));
        }
        Ok(current.with_secret_sha256(Some(digest)))
    })
    .await?;
    ctx.acknowledge_writes().await?;
    actor.audit_client(AdminAction::ClientSecretRotated, &client.client_id);
    Ok(Registered {
        client,
        client_secret: Some(secret),
    })
}

/// Deletes client `client_id`, revoking its refresh tokens and outstanding codes.
pub async fn delete(ctx: &Context, actor: &Actor, client_id: &str) -> Result<Removed, AdminError> {
    if get(ctx, client_id).await?.from_config {
        return Err(owned_by_config(client_id));
    }
    let removed = remove(ctx, client_id)
        .await?
        .ok_or_else(|| not_found(client_id))?;
    ctx.acknowledge_writes().await?;
    actor.audit_client(AdminAction::ClientDeleted, client_id);
    Ok(removed)
}

/// Deletes client `client_id` whoever provisioned it (a client removed from the config, or
/// `delete`), then revokes its refresh-token families and codes. The record goes first, so no
/// new request authenticates as it; the revocations run even when the record is already gone,
/// so running this again finishes what an interrupted run left.
pub async fn remove(ctx: &Context, client_id: &str) -> Result<Option<Removed>, StoreError> {
    let client = client_store::take(ctx.store(), client_id).await?;
    revoke_grants_of(ctx, client_id, client).await
}

/// Like `remove`, only if `still` holds for the client as it is when deleted
/// (`client_store::take_if`); nothing is revoked when it does not.
pub async fn remove_if(
    ctx: &Context,
    client_id: &str,
    still: impl Fn(&Client) -> bool,
) -> Result<Option<Removed>, StoreError> {
    let Some(client) = client_store::take_if(ctx.store(), client_id, still).await? else {
        return Ok(None);
    };
    revoke_grants_of(ctx, client_id, Some(client)).await
}

/// Revokes what a deleted client (`client`, if it existed) was given.
async fn revoke_grants_of(
    ctx: &Context,
    client_id: &str,
    client: Option<Client>,
) -> Result<Option<Removed>, StoreError> {
    let refresh_families = refresh_family::revoke_all_of_client(ctx, client_id).await?;
    let codes = codes::revoke_all_of_client(ctx, client_id).await?;
    Ok(client.map(|client| Removed {
        client,
        refresh_families,
        codes,
    }))
}
