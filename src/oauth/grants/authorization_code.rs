//! The authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.6, OIDC Core §3.1.3): redeem the
//! code exactly once, check it was issued to this client for this redirect URI and that the PKCE
//! verifier matches, then issue an access token for the user — and an ID token when the grant
//! is OpenID.

use crate::app::App;
use crate::error::OAuthError;
use crate::oauth::clients::Client;
use crate::oauth::codes::{self, Issuing};
use crate::oauth::token::{TokenRequest, TokenSet};
use crate::oauth::tokens::{self, AccessTokenRequest};
use crate::oauth::{audience, pkce};
use crate::oidc::id_token::{self, IdTokenClaims};
use crate::users;

/// Exchanges an authorization code for tokens.
pub async fn grant(
    app: &App,
    client: &Client,
    request: &TokenRequest,
) -> Result<TokenSet, OAuthError> {
    let code = request
        .code
        .as_deref()
        .filter(|code| !code.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let settings = app.settings();
    let ring = app.key_ring()?;
    let now = app.clock().now_secs();
    let ttl_secs = settings.tokens.access_token_ttl_secs;
    let jti = tokens::new_jti()?;
    let grant = codes::redeem(
        app.store(),
        code,
        Issuing {
            jti: &jti,
            exp: now + ttl_secs,
            now,
        },
    )
    .await?;

    if grant.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    match request.redirect_uri.as_deref() {
        Some(uri) if uri == grant.redirect_uri => {}
        None if client.redirect_uris.len() == 1 => {}
        Some(_) => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the one in the authorization request",
            ))
        }
        None => return Err(OAuthError::invalid_request("redirect_uri is required")),
    }
    let verifier = request.code_verifier.as_deref().filter(|v| !v.is_empty());
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

    let user = users::find_by_id(app.store(), &grant.user_id)
        .await?
        .ok_or_else(|| {
            OAuthError::invalid_grant("the user of this authorization no longer exists")
        })?;
    let has = |scope: &str| grant.scopes.iter().any(|s| s == scope);
    let audiences = audience::resolve(
        client,
        request.resource.as_deref(),
        request.audience.as_deref(),
        settings.issuer(),
    )?;
    let access = tokens::mint(
        &ring,
        AccessTokenRequest {
            jti,
            issuer: settings.issuer(),
            subject: &user.id,
            client_id: &client.client_id,
            audiences,
            scopes: &grant.scopes,
            roles: has("roles").then(|| user.roles.clone()),
            issued_at: now,
            ttl_secs,
        },
    )?;
    let id_token = if has("openid") {
        let claims = IdTokenClaims {
            iss: settings.issuer().to_owned(),
            sub: user.id.clone(),
            aud: client.client_id.clone(),
            azp: client.client_id.clone(),
            exp: now + ttl_secs,
            iat: now,
            auth_time: grant.auth_time,
            nonce: grant.nonce.clone(),
            at_hash: id_token::at_hash(&access.token),
            amr: grant.amr.clone(),
            sid: grant.sid.clone(),
        };
        Some(id_token::mint(&ring, &claims)?)
    } else {
        None
    };
    tracing::info!(
        target: "ferrid::audit",
        event = "token_issued",
        grant_type = "authorization_code",
        client_id = %client.client_id,
        sub = %user.id,
        jti = %access.claims.jti,
        "access token issued"
    );
    Ok(TokenSet {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: ttl_secs,
        scope: grant.scopes.join(" "),
        id_token,
    })
}
