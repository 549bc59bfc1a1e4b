//! Refresh tokens (RFC 6749 §6, OAuth 2.0 Security BCP §4.14). A refresh token is 256 random
//! bits, stored only by SHA-256. Every token belongs to a family — one per original grant —
//! holding the user, client, scopes, `auth_time`, session and an absolute expiry; each token
//! also expires when idle. Rotation swaps the presented token's record from `active` to
//! `rotated` with one compare-and-swap, so of concurrent refreshes exactly one rotates. The
//! successor is an HMAC of the presented token, so a replay within the grace window (a lost
//! response, two tabs) is handed the same successor; any other reuse revokes the whole family
//! and the access tokens it issued — and nothing else of that user or client. Each user's and
//! each client's families are indexed, so that removing the user or client revokes them all.
//!
//! A family's state is bounded: its access tokens carry the family id (`fid`) instead of being
//! listed in it, and revoking the family writes one marker (`deny_list::revoke_family_tokens`)
//! that refuses them all. A rotation writes the successor and swaps the presented token's
//! record and never touches the family record, so the thousandth refresh costs what the first
//! did.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::error::OAuthError;
use crate::oauth::clients::{Client, RotationPolicy};
use crate::oauth::deny_list;
use crate::secret::random_token;
use crate::store::{self, index, keyspace, StoreError};
use crate::telemetry::{self, AuditEvent};

/// A grant's refresh-token family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Family {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub auth_time: u64,
    pub amr: Vec<String>,
    pub sid: String,
    pub created_at: u64,
    /// Absolute end of the family, seconds since the epoch.
    pub expires_at: u64,
    pub revoked: bool,
    /// Access tokens listed by ferrid versions whose tokens did not carry `fid`; read only, so
    /// that a family revoked after an upgrade still revokes them. New tokens are never listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_tokens: Vec<IssuedAccessToken>,
    /// RFC 9449 §5: the thumbprint of the DPoP key the family's refresh tokens are bound to (a
    /// public client's that used DPoP); a refresh needs a proof by that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
}

/// An access token a family listed (before access tokens carried `fid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedAccessToken {
    pub jti: String,
    pub exp: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum TokenRecord {
    Active {
        family: String,
    },
    Rotated {
        family: String,
        at_ms: u64,
        successor: String,
    },
}

impl TokenRecord {
    fn family(&self) -> &str {
        match self {
            Self::Active { family } | Self::Rotated { family, .. } => family,
        }
    }
}

/// What a new family starts from.
pub struct NewFamily<'a> {
    /// From `new_family_id`, known before the code is redeemed.
    pub id: String,
    pub client_id: &'a str,
    pub user_id: &'a str,
    pub scopes: &'a [String],
    pub auth_time: u64,
    pub amr: &'a [String],
    pub sid: &'a str,
    /// The DPoP key to bind the refresh tokens to.
    pub jkt: Option<&'a str>,
}

/// A fresh family id.
pub fn new_family_id() -> Result<String, OAuthError> {
    random_token().map_err(OAuthError::server_error)
}

/// Seconds left until `at`, at least one.
fn until(at: u64, now: u64) -> Duration {
    Duration::from_secs(at.saturating_sub(now).max(1))
}

fn idle_ttl(ctx: &Context, family: &Family, now: u64) -> Duration {
    let idle = ctx.settings().tokens.refresh_token_idle_ttl_secs;
    Duration::from_secs(idle.min(family.expires_at.saturating_sub(now)).max(1))
}

/// Starts a family and returns its first refresh token.
pub async fn start_family(ctx: &Context, new: NewFamily<'_>) -> Result<String, OAuthError> {
    let now = ctx.clock().now_secs();
    let family = Family {
        id: new.id,
        client_id: new.client_id.to_owned(),
        user_id: new.user_id.to_owned(),
        scopes: new.scopes.to_vec(),
        auth_time: new.auth_time,
        amr: new.amr.to_vec(),
        sid: new.sid.to_owned(),
        created_at: now,
        expires_at: now + ctx.settings().tokens.refresh_token_absolute_ttl_secs,
        revoked: false,
        access_tokens: Vec::new(),
        jkt: new.jkt.map(str::to_owned),
    };
    let token = random_token().map_err(OAuthError::server_error)?;
    let store = ctx.store();
    store::put_json(
        store,
        &keyspace::refresh_family(&family.id),
        &family,
        Some(until(family.expires_at, now)),
    )
    .await?;
    let record = TokenRecord::Active {
        family: family.id.clone(),
    };
    store::put_json(
        store,
        &keyspace::refresh_token(&token),
        &record,
        Some(idle_ttl(ctx, &family, now)),
    )
    .await?;
    remember_in_session(ctx, &family, now).await?;
    index::add(
        store,
        &keyspace::user_families(&family.user_id),
        &family.id,
        family.expires_at,
        now,
    )
    .await?;
    store
        .set_add(
            &keyspace::client_families(&family.client_id),
            &family.id,
            family.expires_at,
            now,
        )
        .await?;
    Ok(token)
}

async fn remember_in_session(ctx: &Context, family: &Family, now: u64) -> Result<(), StoreError> {
    let ttl = Some(until(family.expires_at, now));
    store::update_json(
        ctx.store(),
        &keyspace::session_families(&family.sid),
        |_: &Vec<String>| ttl,
        |ids| {
            let mut ids = ids.unwrap_or_default();
            ids.push(family.id.clone());
            Some(ids)
        },
    )
    .await?;
    Ok(())
}

/// The outcome of presenting a refresh token.
pub struct Refreshed {
    pub family: Family,
    /// The refresh token to return: the successor, or the same one under `reuse`.
    pub refresh_token: String,
}

fn invalid() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is unknown, expired or revoked")
}

/// Rotates (or, under `reuse`, renews) the refresh token `presented` for `client`, once
/// `validate` accepts the request against the token's family. Everything the request itself can
/// get wrong (scope, audience) goes into `validate`, which runs before anything is written: a
/// rejected refresh leaves the token and its family untouched.
pub async fn refresh<T>(
    ctx: &Context,
    client: &Client,
    presented: &str,
    validate: impl FnOnce(&Family) -> Result<T, OAuthError>,
) -> Result<(Refreshed, T), OAuthError> {
    let store = ctx.store();
    let key = keyspace::refresh_token(presented);
    let now = ctx.clock().now_secs();
    let Some(raw) = store.get(&key).await? else {
        return Err(invalid());
    };
    let record: TokenRecord = store::decode(&key, &raw)?;
    let family = store::get_json::<Family>(store, &keyspace::refresh_family(record.family()))
        .await?
        .filter(|family| !family.revoked && family.expires_at > now)
        .ok_or_else(invalid)?;
    if family.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    let validated = validate(&family)?;
    if client.refresh_token_rotation == RotationPolicy::Reuse {
        if matches!(record, TokenRecord::Rotated { .. }) {
            return Err(invalid());
        }
        store
            .put(&key, raw, Some(idle_ttl(ctx, &family, now)))
            .await?;
        ctx.acknowledge_writes().await?;
        let refreshed = Refreshed {
            family,
            refresh_token: presented.to_owned(),
        };
        return Ok((refreshed, validated));
    }
    let successor = ctx.derived_keys().refresh_successor(presented);
    let successor_key = keyspace::refresh_token(&successor);
    if let TokenRecord::Active { .. } = record {
        // The successor first: it is the same for every concurrent caller, so writing it twice
        // is harmless, and it exists before any caller can hand it out.
        let active = TokenRecord::Active {
            family: family.id.clone(),
        };
        store::put_json(
            store,
            &successor_key,
            &active,
            Some(idle_ttl(ctx, &family, now)),
        )
        .await?;
        let rotated = TokenRecord::Rotated {
            family: family.id.clone(),
            at_ms: ctx.clock().now_millis(),
            successor: successor_key.clone(),
        };
        let rotated = store::encode(&rotated)?;
        if store
            .compare_and_swap(
                &key,
                &raw,
                rotated.clone(),
                Some(until(family.expires_at, now)),
            )
            .await?
        {
            if let Err(err) = ctx.acknowledge_writes().await {
                undo_rotation(ctx, &key, &raw, &rotated, &successor_key, &family, now).await;
                return Err(err.into());
            }
            telemetry::record(AuditEvent::RefreshRotated {
                client_id: &family.client_id,
                sub: &family.user_id,
            });
            let refreshed = Refreshed {
                family,
                refresh_token: successor,
            };
            return Ok((refreshed, validated));
        }
    }
    // Already rotated, by an earlier request or a concurrent one.
    let current = store.get(&key).await?.ok_or_else(invalid)?;
    if let TokenRecord::Rotated {
        at_ms,
        successor: recorded,
        ..
    } = store::decode(&key, &current)?
    {
        let grace_ms = ctx.settings().tokens.refresh_token_reuse_grace_secs * 1000;
        let within_grace =
            ctx.clock().now_millis().saturating_sub(at_ms) <= grace_ms && grace_ms > 0;
        let successor_unused = matches!(
            store::get_json::<TokenRecord>(store, &successor_key).await?,
            Some(TokenRecord::Active { .. })
        );
        if within_grace && recorded == successor_key && successor_unused {
            // The rotation this replay repeats may itself not be acknowledged yet.
            ctx.acknowledge_writes().await?;
            let refreshed = Refreshed {
                family,
                refresh_token: successor,
            };
            return Ok((refreshed, validated));
        }
    }
    revoke_family(ctx, &family.id).await?;
    telemetry::record(AuditEvent::RefreshReuseDetected {
        client_id: &family.client_id,
        sub: &family.user_id,
    });
    Err(OAuthError::invalid_grant(
        "the refresh token was already used; every token of this grant is now revoked",
    ))
}

/// Takes back a rotation no replica acknowledged (`store.durability = "replicated"`), so that
/// nothing unacknowledged is handed out and the presented token, which the client still holds,
/// works again exactly once: the presented token's record goes back to `active` and the
/// successor is deleted, each only while it is still what this rotation wrote. Best effort: on
/// failure the client's retry within the grace window gets the successor, later it is a reuse.
async fn undo_rotation(
    ctx: &Context,
    key: &str,
    active: &[u8],
    rotated: &[u8],
    successor_key: &str,
    family: &Family,
    now: u64,
) {
    let store = ctx.store();
    let ttl = Some(idle_ttl(ctx, family, now));
    let restored = store
        .compare_and_swap(key, rotated, active.to_vec(), ttl)
        .await;
    let successor = TokenRecord::Active {
        family: family.id.clone(),
    };
    let deleted = match store::encode(&successor) {
        Ok(successor) => store.delete_if(successor_key, &successor).await,
        Err(err) => Err(err),
    };
    if let Err(err) = restored.and(deleted) {
        tracing::warn!(error = %err, "could not take back an unacknowledged refresh rotation");
    }
}

/// Revokes every token of family `id` and every access token it issued: the family record
/// is marked revoked (no refresh token of it works again) and then the family's revocation
/// marker is written, which refuses its access tokens wherever they are checked. Both are one
/// write whatever the family issued; revoking again renews the marker.
pub async fn revoke_family(ctx: &Context, id: &str) -> Result<(), StoreError> {
    let now = ctx.clock().now_secs();
    let mut listed = Vec::new();
    store::update_json(
        ctx.store(),
        &keyspace::refresh_family(id),
        |family: &Family| Some(until(family.expires_at, now)),
        |current: Option<Family>| {
            let mut family = current?;
            listed.clone_from(&family.access_tokens);
            if family.revoked {
                return None;
            }
            family.revoked = true;
            Some(family)
        },
    )
    .await?;
    // Written even when the family record is gone (it reached its absolute end): an access
    // token it issued just before may still be live.
    let access_token_ttl = Duration::from_secs(ctx.settings().tokens.access_token_ttl_secs);
    deny_list::revoke_family_tokens(ctx.store(), id, access_token_ttl).await?;
    for token in &listed {
        deny_list::revoke_access_token(ctx.store(), &token.jti, token.exp, now).await?;
    }
    ctx.acknowledge_writes().await?;
    Ok(())
}

/// Revokes every family of `user_id` (a user removed from the config) and the access tokens
/// they issued; returns how many families it went through.
pub async fn revoke_all_of_user(ctx: &Context, user_id: &str) -> Result<usize, StoreError> {
    let now = ctx.clock().now_secs();
    let key = keyspace::user_families(user_id);
    let ids = index::ids(ctx.store(), &key, now).await?;
    for id in &ids {
        revoke_family(ctx, id).await?;
    }
    ctx.store().delete(&key).await?;
    Ok(ids.len())
}

/// Revokes every family of `client_id` (a deleted client) and the access tokens they issued;
/// returns how many families it went through.
pub async fn revoke_all_of_client(ctx: &Context, client_id: &str) -> Result<usize, StoreError> {
    let now = ctx.clock().now_secs();
    let key = keyspace::client_families(client_id);
    let ids = ctx.store().set_members(&key, now).await?;
    for id in &ids {
        revoke_family(ctx, id).await?;
    }
    ctx.store().delete(&key).await?;
    Ok(ids.len())
}

/// The live family of refresh token `token`, and whether the token itself is the current one.
pub async fn inspect(ctx: &Context, token: &str) -> Result<Option<(Family, bool)>, StoreError> {
    let key = keyspace::refresh_token(token);
    let Some(record) = store::get_json::<TokenRecord>(ctx.store(), &key).await? else {
        return Ok(None);
    };
    let now = ctx.clock().now_secs();
    let family = store::get_json::<Family>(ctx.store(), &keyspace::refresh_family(record.family()))
        .await?
        .filter(|family| !family.revoked && family.expires_at > now);
    Ok(family.map(|family| (family, matches!(record, TokenRecord::Active { .. }))))
}

/// The families started in browser session `sid`.
pub async fn families_of_session(ctx: &Context, sid: &str) -> Result<Vec<Family>, StoreError> {
    let ids: Vec<String> = store::get_json(ctx.store(), &keyspace::session_families(sid))
        .await?
        .unwrap_or_default();
    let mut families = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(family) =
            store::get_json::<Family>(ctx.store(), &keyspace::refresh_family(&id)).await?
        {
            families.push(family);
        }
    }
    Ok(families)
}

#[cfg(test)]
mod tests;
