//! Token introspection (RFC 7662): tells an authenticated client whether a token is active now
//! — signature, issuer and expiry for access tokens, plus the revocation deny-list; the family
//! and rotation state for refresh tokens — and, if so, what it stands for. Anything else is
//! exactly `{"active": false}`. Refresh tokens are described only to the client they belong to.

use crate::app::App;
use crate::error::OAuthError;
use crate::oauth::clients::Client;
use crate::oauth::tokens::{self, Audience};
use crate::oauth::{refresh, revocation};

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
}

/// Introspects `token` for `client`; `None` means inactive.
pub async fn introspect(
    app: &App,
    client: &Client,
    token: &str,
    hint: Option<&str>,
) -> Result<Option<ActiveToken>, OAuthError> {
    // The hint orders the look-ups; it is never trusted to exclude one (RFC 7662 §2.1).
    if hint == Some("refresh_token") {
        if let Some(active) = as_refresh_token(app, client, token).await? {
            return Ok(Some(active));
        }
        return as_access_token(app, token).await;
    }
    if let Some(active) = as_access_token(app, token).await? {
        return Ok(Some(active));
    }
    as_refresh_token(app, client, token).await
}

async fn as_access_token(app: &App, token: &str) -> Result<Option<ActiveToken>, OAuthError> {
    if token.split('.').count() != 3 {
        return Ok(None);
    }
    let ring = app.key_ring()?;
    let Ok(claims) = tokens::verify(
        &ring,
        token,
        app.settings().issuer(),
        app.clock().now_secs(),
    ) else {
        return Ok(None);
    };
    if revocation::is_revoked(app.store(), &claims.jti).await? {
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
    }))
}

async fn as_refresh_token(
    app: &App,
    client: &Client,
    token: &str,
) -> Result<Option<ActiveToken>, OAuthError> {
    let Some((family, current)) = refresh::inspect(app, token).await? else {
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
        iss: app.settings().issuer().to_owned(),
        exp: family.expires_at,
        iat: family.created_at,
        jti: None,
        token_type: "refresh_token",
    }))
}
