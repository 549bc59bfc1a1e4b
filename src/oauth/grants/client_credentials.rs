//! The client credentials grant (RFC 6749 §4.4): a confidential client gets an access token for
//! itself (`sub` = its client id). No refresh token (§4.4.3). The hot path is one store read
//! (the client, in `client_auth`) and one RSA signature.

use async_trait::async_trait;

use crate::context::Context;
use crate::error::OAuthError;
use crate::oauth::access_token::{self, AccessTokenRequest};
use crate::oauth::clients::Client;
use crate::oauth::dpop::Proof;
use crate::oauth::grants::{self, Grant, GrantType, TokenParameters, TokenSet, TokenType};
use crate::oauth::{audience, scope};
use crate::telemetry::{self, AuditEvent};

/// The client credentials grant.
pub struct ClientCredentialsGrant;

#[async_trait]
impl Grant for ClientCredentialsGrant {
    fn grant_type(&self) -> GrantType {
        GrantType::ClientCredentials
    }

    /// Issues an access token to an authenticated `client`.
    async fn exchange(
        &self,
        ctx: &Context,
        client: &Client,
        params: &TokenParameters,
        dpop: Option<&Proof>,
    ) -> Result<TokenSet, OAuthError> {
        let settings = ctx.settings();
        let scopes = scope::grant(client, params.get("scope"))?;
        let audiences = audience::resolve(
            client,
            params.get("resource"),
            params.get("audience"),
            settings.issuer(),
        )?;
        let ring = ctx.key_ring()?;
        let ttl_secs = settings.tokens.access_token_ttl_secs;
        let token = access_token::mint(
            &ring,
            AccessTokenRequest {
                jti: access_token::new_jti()?,
                issuer: settings.issuer(),
                subject: &client.client_id,
                client_id: &client.client_id,
                audiences,
                scopes: &scopes,
                roles: None,
                issued_at: ctx.clock().now_secs(),
                ttl_secs,
                cnf: grants::confirmation(dpop),
                family: None,
            },
        )?;
        telemetry::record(AuditEvent::TokenIssued {
            grant_type: GrantType::ClientCredentials.as_str(),
            client_id: &client.client_id,
            sub: &client.client_id,
            jti: &token.claims.jti,
        });
        Ok(TokenSet {
            access_token: token.token,
            token_type: TokenType::for_proof(dpop),
            expires_in: ttl_secs,
            scope: scopes.join(" "),
            id_token: None,
            refresh_token: None,
            dpop_nonce: None,
        })
    }
}
