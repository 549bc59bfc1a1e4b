//! The authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.6, OIDC Core §3.1.3): redeem the
//! code exactly once, check it was issued to this client for this redirect URI and that the PKCE
//! verifier matches, then issue an access token for the user — an ID token when the grant is
//! OpenID, and a refresh token (a new family) when the client gets them.

use async_trait::async_trait;

use crate::context::Context;
use crate::error::OAuthError;
use crate::oauth::clients::{AuthMethod, Client};
use crate::oauth::codes::{self, Issuing};
use crate::oauth::dpop::Proof;
use crate::oauth::grants::user_tokens::{self, Authentication};
use crate::oauth::grants::{self, Grant, GrantType, TokenParameters, TokenSet, TokenType};
use crate::oauth::refresh_family::{self, NewFamily};
use crate::oauth::{access_token, audience, pkce};
use crate::telemetry::{self, AuditEvent};
use crate::users;

/// The authorization code grant.
pub struct AuthorizationCodeGrant;

#[async_trait]
impl Grant for AuthorizationCodeGrant {
    fn grant_type(&self) -> GrantType {
        GrantType::AuthorizationCode
    }

    /// Exchanges an authorization code for tokens.
    async fn exchange(
        &self,
        ctx: &Context,
        client: &Client,
        params: &TokenParameters,
        dpop: Option<&Proof>,
    ) -> Result<TokenSet, OAuthError> {
        let code = params.require("code")?;
        let ring = ctx.key_ring()?;
        let now = ctx.clock().now_secs();
        let ttl_secs = ctx.settings().tokens.access_token_ttl_secs;
        let jti = access_token::new_jti()?;
        let family_id = refresh_family::new_family_id()?;
        let issuing = Issuing {
            client_id: &client.client_id,
            jti: &jti,
            exp: now + ttl_secs,
            now,
            family: Some(&family_id),
        };
        let grant = codes::redeem(ctx, code, issuing).await?;

        if grant.client_id != client.client_id {
            return Err(OAuthError::invalid_grant(
                "the authorization code was issued to another client",
            ));
        }
        match params.get("redirect_uri") {
            Some(uri) if uri == grant.redirect_uri => {}
            None if client.redirect_uris.len() == 1 => {}
            Some(_) => {
                return Err(OAuthError::invalid_grant(
                    "redirect_uri differs from the one in the authorization request",
                ))
            }
            None => return Err(OAuthError::invalid_request("redirect_uri is required")),
        }
        let verifier = params.get("code_verifier");
        match (&grant.code_challenge, verifier) {
            (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => {}
            (Some(_), Some(_)) => {
                return Err(OAuthError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                ))
            }
            (Some(_), None) => {
                return Err(OAuthError::invalid_grant(
                    "code_verifier is required: the authorization request used PKCE",
                ))
            }
            (None, Some(_)) => {
                return Err(OAuthError::invalid_grant(
                    "code_verifier was sent but the authorization request had no code_challenge",
                ))
            }
            (None, None) => {}
        }

        let user = users::find_by_id(ctx.store(), &grant.user_id)
            .await?
            .ok_or_else(|| {
                OAuthError::invalid_grant("the user of this authorization no longer exists")
            })?;
        let audiences = audience::resolve(
            client,
            params.get("resource"),
            params.get("audience"),
            ctx.settings().issuer(),
        )?;
        let authentication = Authentication {
            auth_time: grant.auth_time,
            amr: &grant.amr,
            sid: &grant.sid,
            nonce: grant.nonce.as_deref(),
        };
        let starts_family = client.gets_refresh_token(&grant.scopes);
        let issued = user_tokens::mint(
            ctx,
            &ring,
            client,
            &user,
            &grant.scopes,
            audiences,
            jti,
            authentication,
            grants::confirmation(dpop),
            starts_family.then_some(family_id.as_str()),
        )?;
        let refresh_token = if starts_family {
            let family = NewFamily {
                id: family_id,
                client_id: &client.client_id,
                user_id: &user.id,
                scopes: &grant.scopes,
                auth_time: grant.auth_time,
                amr: &grant.amr,
                sid: &grant.sid,
                // RFC 9449 §5: a public client's refresh tokens are bound to its DPoP key; a
                // confidential client's are already bound to it by client authentication.
                jkt: dpop
                    .filter(|_| client.auth_method == AuthMethod::None)
                    .map(|proof| proof.jkt.as_str()),
            };
            Some(refresh_family::start_family(ctx, family).await?)
        } else {
            None
        };
        // With `store.durability = "replicated"`, nothing is handed out before a replica has the
        // redemption. If none does, the code stays used: the client starts again, and its retry
        // with this code revokes only tokens it never received.
        ctx.acknowledge_writes().await?;
        telemetry::record(AuditEvent::TokenIssued {
            grant_type: GrantType::AuthorizationCode.as_str(),
            client_id: &client.client_id,
            sub: &user.id,
            jti: &issued.access.claims.jti,
        });
        Ok(TokenSet {
            access_token: issued.access.token,
            token_type: TokenType::for_proof(dpop),
            expires_in: ttl_secs,
            scope: grant.scopes.join(" "),
            id_token: issued.id_token,
            refresh_token,
            dpop_nonce: None,
        })
    }
}
