//! Token introspection (RFC 7662): tells an authenticated client whether a token is active now
//! — signature, issuer and expiry for access tokens, plus the revocation deny-list; the family
//! and rotation state for refresh tokens — and, if so, what it stands for. Anything else is
//! exactly `{"active": false}`. A DPoP-bound token's answer carries its `cnf` (RFC 9449 §6.2).
//! An access token is described only to the client it was issued to, a client its `aud` names,
//! or a client trusted with `introspect_any_token`; a refresh token only to the client it
//! belongs to.

use crate::context::Context;
use crate::error::OAuthError;
use crate::oauth::access_token::{self, Audience, Confirmation};
use crate::oauth::client_auth::{self, ClientCredentials};
use crate::oauth::clients::{AuthMethod, Client};
use crate::oauth::token_operation::TokenOperation;
use crate::oauth::{deny_list, refresh_family};

/// What an active token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveToken {
    pub scope: String,
    pub client_id: String,
    pub sub: String,
    pub aud: Option<Audience>,
    pub iss: String,
    pub exp: u64,
    pub iat: u64,
    pub jti: Option<String>,
    /// `access_token` or `refresh_token`.
    pub token_type: &'static str,
    /// RFC 9449 §6.2: the DPoP key the token is bound to.
    pub cnf: Option<Confirmation>,
}

/// Handles an introspection request (RFC 7662): only authenticated confidential clients.
pub async fn handle(
    ctx: &Context,
    credentials: ClientCredentials,
    operation: TokenOperation,
) -> Result<Option<ActiveToken>, OAuthError> {
    let client = client_auth::authenticate(ctx, credentials).await?;
    if client.auth_method == AuthMethod::None {
        return Err(OAuthError::invalid_client(
            "introspection requires a confidential client",
        ));
    }
    introspect(
        ctx,
        &client,
        operation.token()?,
        operation.token_type_hint.as_deref(),
    )
    .await
}

/// Introspects `token` for `client`; `None` means inactive.
pub async fn introspect(
    ctx: &Context,
    client: &Client,
    token: &str,
    hint: Option<&str>,
) -> Result<Option<ActiveToken>, OAuthError> {
    // The hint orders the look-ups; it is never trusted to exclude one (RFC 7662 §2.1).
    if hint == Some("refresh_token") {
        if let Some(active) = as_refresh_token(ctx, client, token).await? {
            return Ok(Some(active));
        }
        return as_access_token(ctx, client, token).await;
    }
    if let Some(active) = as_access_token(ctx, client, token).await? {
        return Ok(Some(active));
    }
    as_refresh_token(ctx, client, token).await
}

async fn as_access_token(
    ctx: &Context,
    client: &Client,
    token: &str,
) -> Result<Option<ActiveToken>, OAuthError> {
    if token.split('.').count() != 3 {
        return Ok(None);
    }
    let ring = ctx.key_ring()?;
    let Ok(claims) = access_token::verify(
        &ring,
        token,
        ctx.settings().issuer(),
        ctx.clock().now_secs(),
    ) else {
        return Ok(None);
    };
    // Only the token's own client and the resource servers it is meant for may learn what it
    // stands for; to anyone else it is just inactive (RFC 7662 §4: the server decides what
    // each caller may see). Trusted resource servers opt in with `introspect_any_token`.
    let audience_names_client = match &claims.aud {
        Audience::One(one) => *one == client.client_id,
        Audience::Many(many) => many.contains(&client.client_id),
    };
    if !(client.introspect_any_token
        || claims.client_id == client.client_id
        || audience_names_client)
    {
        return Ok(None);
    }
    if deny_list::is_revoked(ctx.store(), &claims.jti, claims.fid.as_deref()).await? {
        return Ok(None);
    }
    Ok(Some(ActiveToken {
        scope: claims.scope,
        client_id: claims.client_id,
        sub: claims.sub,
        aud: Some(claims.aud),
        iss: claims.iss,
        exp: claims.exp,
        iat: claims.iat,
        jti: Some(claims.jti),
        token_type: "access_token",
        cnf: claims.cnf,
    }))
}

async fn as_refresh_token(
    ctx: &Context,
    client: &Client,
    token: &str,
) -> Result<Option<ActiveToken>, OAuthError> {
    let Some((family, current)) = refresh_family::inspect(ctx, token).await? else {
        return Ok(None);
    };
    if !current || family.client_id != client.client_id {
        return Ok(None);
    }
    Ok(Some(ActiveToken {
        scope: family.scopes.join(" "),
        client_id: family.client_id,
        sub: family.user_id,
        aud: None,
        iss: ctx.settings().issuer().to_owned(),
        exp: family.expires_at,
        iat: family.created_at,
        jti: None,
        token_type: "refresh_token",
        cnf: family.jkt.map(|jkt| Confirmation { jkt }),
    }))
}
