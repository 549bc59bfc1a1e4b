//! The client credentials grant (RFC 6749 §4.4): a confidential client gets an access token for
//! itself (`sub` = its client id). No refresh token (§4.4.3). The hot path is one store read
//! (the client, in `client_auth`) and one RSA signature.

use crate::app::App;
use crate::error::OAuthError;
use crate::oauth::clients::Client;
use crate::oauth::token::{TokenRequest, TokenSet};
use crate::oauth::tokens::{self, AccessTokenRequest};
use crate::oauth::{audience, scope};

/// Issues an access token to an authenticated `client`.
pub fn grant(app: &App, client: &Client, request: &TokenRequest) -> Result<TokenSet, OAuthError> {
    let settings = app.settings();
    let scopes = scope::grant(client, request.scope.as_deref())?;
    let audiences = audience::resolve(
        client,
        request.resource.as_deref(),
        request.audience.as_deref(),
        settings.issuer(),
    )?;
    let ring = app.key_ring()?;
    let ttl_secs = settings.tokens.access_token_ttl_secs;
    let token = tokens::mint(
        &ring,
        AccessTokenRequest {
            jti: tokens::new_jti()?,
            issuer: settings.issuer(),
            subject: &client.client_id,
            client_id: &client.client_id,
            audiences,
            scopes: &scopes,
            roles: None,
            issued_at: app.clock().now_secs(),
            ttl_secs,
        },
    )?;
    tracing::info!(
        target: "ferrid::audit",
        event = "token_issued",
        grant_type = "client_credentials",
        client_id = %client.client_id,
        jti = %token.claims.jti,
        "access token issued"
    );
    Ok(TokenSet {
        access_token: token.token,
        token_type: "Bearer",
        expires_in: ttl_secs,
        scope: scopes.join(" "),
        id_token: None,
        refresh_token: None,
    })
}
