//! The token endpoint's domain entry (RFC 6749 §3.2): authenticate the client, check it may use
//! the requested grant, and dispatch to that grant. Every rejection is logged once, with its
//! reason, inside the request's span (which carries the request id).

use crate::app::App;
use crate::error::{ErrorCode, OAuthError};
use crate::oauth::client_auth::{self, ClientCredentials};
use crate::oauth::clients::{AuthMethod, GrantType};
use crate::oauth::grants;
use crate::oauth::introspect::{self, ActiveToken};
use crate::oauth::revoke;

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
    /// `refresh_token`: the refresh token.
    pub refresh_token: Option<String>,
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
    /// A refresh token, for grants that get one.
    pub refresh_token: Option<String>,
}

/// The parameters of a revocation or introspection request.
#[derive(Debug, Clone, Default)]
pub struct TokenOperation {
    pub token: Option<String>,
    pub token_type_hint: Option<String>,
}

impl TokenOperation {
    fn token(&self) -> Result<&str, OAuthError> {
        self.token
            .as_deref()
            .filter(|token| !token.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("token is required"))
    }
}

/// Handles a revocation request (RFC 7009): authenticate, then revoke if the client owns it.
pub async fn revoke(
    app: &App,
    credentials: ClientCredentials,
    operation: TokenOperation,
) -> Result<(), OAuthError> {
    let client = client_auth::authenticate(app.store(), credentials).await?;
    revoke::revoke(
        app,
        &client,
        operation.token()?,
        operation.token_type_hint.as_deref(),
    )
    .await
}

/// Handles an introspection request (RFC 7662): only authenticated confidential clients.
pub async fn introspect(
    app: &App,
    credentials: ClientCredentials,
    operation: TokenOperation,
) -> Result<Option<ActiveToken>, OAuthError> {
    let client = client_auth::authenticate(app.store(), credentials).await?;
    if client.auth_method == AuthMethod::None {
        return Err(OAuthError::invalid_client(
            "introspection requires a confidential client",
        ));
    }
    introspect::introspect(
        app,
        &client,
        operation.token()?,
        operation.token_type_hint.as_deref(),
    )
    .await
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
        GrantType::RefreshToken => grants::refresh_token::grant(app, &client, request).await,
    }
}
