//! Token revocation (RFC 7009): an authenticated client revokes one of its own tokens. A refresh
//! token revokes its whole family (and the access tokens it issued); an access token's `jti`
//! goes onto the deny-list until it would have expired. A token of another client, an unknown,
//! expired or malformed token revokes nothing and still succeeds (§2.2), so the endpoint reveals
//! nothing about tokens a client does not own.

use crate::context::Context;
use crate::error::OAuthError;
use crate::oauth::client_auth::{self, ClientCredentials};
use crate::oauth::clients::Client;
use crate::oauth::token_operation::TokenOperation;
use crate::oauth::{access_token, deny_list, refresh_family};
use crate::telemetry::{self, AuditEvent};

/// Handles a revocation request (RFC 7009): authenticate, then revoke if the client owns it.
pub async fn handle(
    ctx: &Context,
    credentials: ClientCredentials,
    operation: TokenOperation,
) -> Result<(), OAuthError> {
    let client = client_auth::authenticate(ctx, credentials).await?;
    revoke(
        ctx,
        &client,
        operation.token()?,
        operation.token_type_hint.as_deref(),
    )
    .await
}

/// Revokes `token` if `client` owns it.
pub async fn revoke(
    ctx: &Context,
    client: &Client,
    token: &str,
    hint: Option<&str>,
) -> Result<(), OAuthError> {
    // The hint only orders the look-ups (RFC 7009 §2.1); both kinds are always tried.
    let refresh_first = hint == Some("refresh_token");
    let mut revoked = false;
    for refresh_turn in [refresh_first, !refresh_first] {
        revoked = if refresh_turn {
            revoke_refresh_token(ctx, client, token).await?
        } else {
            revoke_access_token(ctx, client, token).await?
        };
        if revoked {
            break;
        }
    }
    telemetry::record(AuditEvent::TokenRevoked {
        client_id: &client.client_id,
        revoked,
    });
    Ok(())
}

async fn revoke_access_token(
    ctx: &Context,
    client: &Client,
    token: &str,
) -> Result<bool, OAuthError> {
    if token.split('.').count() != 3 {
        return Ok(false);
    }
    let ring = ctx.key_ring()?;
    let now = ctx.clock().now_secs();
    match access_token::verify(&ring, token, ctx.settings().issuer(), now) {
        Ok(claims) if claims.client_id == client.client_id => {
            deny_list::revoke_access_token(ctx.store(), &claims.jti, claims.exp, now).await?;
            ctx.acknowledge_writes().await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

async fn revoke_refresh_token(
    ctx: &Context,
    client: &Client,
    token: &str,
) -> Result<bool, OAuthError> {
    match refresh_family::inspect(ctx, token).await? {
        Some((family, _)) if family.client_id == client.client_id => {
            refresh_family::revoke_family(ctx, &family.id).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}
