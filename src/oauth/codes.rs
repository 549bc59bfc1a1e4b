//! Authorization codes (RFC 6749 §4.1.2): 256-bit random, stored by SHA-256 under a 60-second
//! TTL with everything the token request must match (client, redirect URI, PKCE challenge) and
//! everything the tokens need (user, scopes, nonce, `auth_time`, session). Redemption is one
//! atomic `swap` that replaces the code with a marker naming the access token it issues: of
//! concurrent redemptions exactly one succeeds, and a later replay finds the marker and revokes
//! that token and any refresh-token family it started (§4.1.2: a code used twice is evidence
//! of theft).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::error::OAuthError;
use crate::oauth::{deny_list, refresh_family};
use crate::secret::random_token;
use crate::store::{self, keyspace, StoreError};
use crate::telemetry::{self, AuditEvent};

/// Lifetime of a code (the DESIGN's upper bound).
pub const CODE_TTL: Duration = Duration::from_secs(60);

/// What a code stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub user_id: String,
    pub auth_time: u64,
    pub amr: Vec<String>,
    /// The public id of the browser session the code was issued in.
    pub sid: String,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum CodeEntry {
    Issued(AuthorizationCode),
    Redeemed {
        jti: String,
        exp: u64,
        family: Option<String>,
    },
}

/// Stores `grant` and returns the code to hand to the client. The client's code set keeps
/// the code's digest for as long as the code or its redemption marker can live, so that
/// deleting the client revokes it (`revoke_all_of_client`).
pub async fn issue(ctx: &Context, grant: &AuthorizationCode) -> Result<String, OAuthError> {
    let store = ctx.store();
    let code = random_token().map_err(OAuthError::server_error)?;
    let entry = store::encode(&CodeEntry::Issued(grant.clone()))?;
    store
        .put(&keyspace::code(&code), entry, Some(CODE_TTL))
        .await?;
    let now = ctx.clock().now_secs();
    let marker_end = now + CODE_TTL.as_secs() + ctx.settings().tokens.access_token_ttl_secs;
    store
        .set_add(
            &keyspace::client_codes(&grant.client_id),
            &keyspace::digest(&code),
            marker_end,
            now,
        )
        .await?;
    ctx.acknowledge_writes().await?;
    Ok(code)
}

/// Revokes every outstanding code of `client_id` (a deleted client): an unredeemed code is
/// deleted, a redeemed one's access token is deny-listed. Returns how many codes it found.
pub async fn revoke_all_of_client(ctx: &Context, client_id: &str) -> Result<usize, StoreError> {
    let store = ctx.store();
    let now = ctx.clock().now_secs();
    let key = keyspace::client_codes(client_id);
    let digests = store.set_members(&key, now).await?;
    let mut found = 0;
    for digest in &digests {
        let code_key = keyspace::code_by_digest(digest);
        let Some(raw) = store.take(&code_key).await? else {
            continue;
        };
        found += 1;
        if let CodeEntry::Redeemed { jti, exp, .. } = store::decode(&code_key, &raw)? {
            deny_list::revoke_access_token(store, &jti, exp, now).await?;
        }
    }
    store.delete(&key).await?;
    Ok(found)
}

/// The access token a redemption will issue, recorded so a replay can revoke it.
pub struct Issuing<'a> {
    /// The client redeeming the code.
    pub client_id: &'a str,
    pub jti: &'a str,
    pub exp: u64,
    pub now: u64,
    /// The refresh-token family the redemption may start.
    pub family: Option<&'a str>,
}

/// Redeems `code` once; a replay revokes what the first redemption issued.
pub async fn redeem(
    ctx: &Context,
    code: &str,
    issuing: Issuing<'_>,
) -> Result<AuthorizationCode, OAuthError> {
    let store = ctx.store();
    let key = keyspace::code(code);
    let marker = store::encode(&CodeEntry::Redeemed {
        jti: issuing.jti.to_owned(),
        exp: issuing.exp,
        family: issuing.family.map(str::to_owned),
    })?;
    let ttl = Duration::from_secs(issuing.exp.saturating_sub(issuing.now).max(1));
    match store.swap(&key, marker, Some(ttl)).await? {
        Some(previous) => match store::decode::<CodeEntry>(&key, &previous)? {
            CodeEntry::Issued(grant) => Ok(grant),
            CodeEntry::Redeemed { jti, exp, family } => {
                deny_list::revoke_access_token(store, &jti, exp, issuing.now).await?;
                if let Some(family) = family {
                    refresh_family::revoke_family(ctx, &family).await?;
                }
                ctx.acknowledge_writes().await?;
                telemetry::record(AuditEvent::CodeReplayed {
                    client_id: issuing.client_id,
                    jti: &jti,
                });
                Err(OAuthError::invalid_grant(
                    "the authorization code was already used; the tokens it issued are revoked",
                ))
            }
        },
        None => {
            // Unknown or expired: drop the marker this call wrote.
            store.delete(&key).await?;
            Err(OAuthError::invalid_grant(
                "the authorization code is unknown or expired",
            ))
        }
    }
}

#[cfg(test)]
mod tests;
