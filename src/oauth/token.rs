//! The token endpoint's domain entry (RFC 6749 §3.2): authenticate the client, check it may use
//! the requested grant, and dispatch to that grant. Every rejection is logged once, with its
//! reason, inside the request's span (which carries the request id).

use crate::app::App;
use crate::error::{ErrorCode, OAuthError};
use crate::oauth::client_auth::{self, ClientCredentials};
use crate::oauth::clients::GrantType;
use crate::oauth::grants;

/// The token request's parameters, as the client sent them.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub grant_type: String,
    pub scope: Option<String>,
    /// RFC 8707 resource indicator.
    pub resource: Option<String>,
    /// Requested audience (the non-standard but common spelling of a resource).
    pub audience: Option<String>,
    /// `authorization_code`: the code.
    pub code: Option<String>,
    /// `authorization_code`: the redirect URI of the authorization request.
    pub redirect_uri: Option<String>,
    /// `authorization_code`: the PKCE verifier.
    pub code_verifier: Option<String>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSet {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The granted scope, space-separated.
    pub scope: String,
    /// OIDC ID token, for `openid` grants.
    pub id_token: Option<String>,
}

/// Handles one token request.
pub async fn exchange(
    app: &App,
    credentials: ClientCredentials,
    request: TokenRequest,
) -> Result<TokenSet, OAuthError> {
    let result = dispatch(app, credentials, &request).await;
    if let Err(err) = &result {
        tracing::info!(
            grant_type = %request.grant_type,
            error = %err.code(),
            reason = err.description().unwrap_or_default(),
            "token request rejected"
        );
    }
    result
}

async fn dispatch(
    app: &App,
    credentials: ClientCredentials,
    request: &TokenRequest,
) -> Result<TokenSet, OAuthError> {
    let client = client_auth::authenticate(app.store(), credentials).await?;
    let grant = GrantType::parse(&request.grant_type).ok_or_else(|| {
        OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!(
                "grant_type `{}` is not supported; supported: {}",
                request.grant_type,
                GrantType::ALL.map(GrantType::as_str).join(", ")
            ),
        )
    })?;
    if !client.allows_grant(grant) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!(
                "client `{}` is not allowed to use the {} grant",
                client.client_id,
                grant.as_str()
            ),
        ));
    }
    match grant {
        GrantType::AuthorizationCode => {
            grants::authorization_code::grant(app, &client, request).await
        }
        GrantType::ClientCredentials => grants::client_credentials::grant(app, &client, request),
    }
}
