//! The OAuth 2.0 token endpoint (RFC 6749 §3.2). The handler extracts client credentials and the
//! form, calls `oauth::token::exchange`, and maps the result; every extractor failure reaches
//! `errors::bad_request` and leaves as RFC 6749 §5.2 JSON.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;

use super::client_auth::ClientAuthorization;
use super::errors::{oauth_response, NO_CACHE, NO_STORE};
use super::ApiTags;
use crate::app::App;
use crate::error::OAuthError;
use crate::oauth::client_auth::ClientCredentials;
use crate::oauth::introspect::ActiveToken;
use crate::oauth::token::{self, TokenOperation, TokenRequest, TokenSet};
use crate::oauth::tokens::Audience;
use crate::secret::SecretString;

/// Token request parameters (`application/x-www-form-urlencoded`). A parameter sent twice is
/// `invalid_request`; unknown parameters are ignored (RFC 6749 §3.2).
#[derive(Debug, Deserialize, Object)]
#[oai(rename = "TokenRequest", example)]
pub struct TokenForm {
    /// The grant type: `authorization_code` or `client_credentials`.
    pub grant_type: String,
    /// Space-separated scopes; absent or empty means the client's default scopes.
    pub scope: Option<String>,
    /// RFC 8707 resource indicator: the audience the token is for (must be registered).
    pub resource: Option<String>,
    /// The audience the token is for; an alternative spelling of `resource`.
    pub audience: Option<String>,
    /// The client id, for `client_secret_post` and public clients.
    pub client_id: Option<String>,
    /// The client secret, for `client_secret_post`.
    pub client_secret: Option<String>,
    /// `authorization_code`: the code from the authorization response.
    pub code: Option<String>,
    /// `authorization_code`: the `redirect_uri` of the authorization request.
    pub redirect_uri: Option<String>,
    /// `authorization_code`: the PKCE code verifier.
    pub code_verifier: Option<String>,
    /// `refresh_token`: the refresh token.
    pub refresh_token: Option<String>,
}

impl poem_openapi::types::Example for TokenForm {
    fn example() -> Self {
        Self {
            grant_type: "client_credentials".into(),
            scope: Some("read".into()),
            resource: None,
            audience: None,
            client_id: None,
            client_secret: None,
            code: None,
            redirect_uri: None,
            code_verifier: None,
            refresh_token: None,
        }
    }
}

/// Successful token response (RFC 6749 §5.1).
#[derive(Debug, Object)]
#[oai(rename = "TokenResponse")]
pub struct TokenBody {
    /// An RFC 9068 JWT access token, RS256-signed; verify it with the JWKS.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// An OpenID Connect ID token, when the `openid` scope was granted.
    #[oai(skip_serializing_if_is_none)]
    pub id_token: Option<String>,
    /// A refresh token, when the grant gets one (`offline_access`); it rotates on every use.
    #[oai(skip_serializing_if_is_none)]
    pub refresh_token: Option<String>,
}

oauth_response! {
    /// Token endpoint responses.
    pub enum TokenResponse {
        /// Tokens issued.
        #[oai(status = 200)]
        Ok(Json<TokenBody>, #[oai(header = "Cache-Control")] String, #[oai(header = "Pragma")] String),
    }
}

impl From<Result<TokenSet, OAuthError>> for TokenResponse {
    fn from(result: Result<TokenSet, OAuthError>) -> Self {
        match result {
            Ok(set) => Self::Ok(
                Json(TokenBody {
                    access_token: set.access_token,
                    token_type: set.token_type.to_owned(),
                    expires_in: set.expires_in,
                    scope: set.scope,
                    id_token: set.id_token,
                    refresh_token: set.refresh_token,
                }),
                NO_STORE.into(),
                NO_CACHE.into(),
            ),
            Err(err) => err.into(),
        }
    }
}

/// Revocation and introspection parameters (`application/x-www-form-urlencoded`).
#[derive(Debug, Deserialize, Object)]
pub struct TokenOperationForm {
    /// The token to revoke or introspect.
    pub token: Option<String>,
    /// `access_token` or `refresh_token`: where to look first (never trusted to exclude).
    pub token_type_hint: Option<String>,
    /// The client id, for `client_secret_post` and public clients.
    pub client_id: Option<String>,
    /// The client secret, for `client_secret_post`.
    pub client_secret: Option<String>,
}

impl TokenOperationForm {
    fn split(self, auth: ClientAuthorization) -> (ClientCredentials, TokenOperation) {
        let credentials = ClientCredentials {
            basic: auth.0,
            client_id: self.client_id,
            client_secret: self.client_secret.map(SecretString::new),
        };
        (
            credentials,
            TokenOperation {
                token: self.token,
                token_type_hint: self.token_type_hint,
            },
        )
    }
}

oauth_response! {
    /// Revocation endpoint responses.
    pub enum RevokeResponse {
        /// The token is revoked, or was not one of this client's active tokens (RFC 7009 §2.2).
        #[oai(status = 200)]
        Ok(#[oai(header = "Cache-Control")] String, #[oai(header = "Pragma")] String),
    }
}

/// An introspection answer (RFC 7662 §2.2); inactive tokens get only `active: false`.
#[derive(Debug, Default, Object)]
pub struct IntrospectionBody {
    /// Whether the token is active now.
    pub active: bool,
    /// Granted scopes, space-separated.
    #[oai(skip_serializing_if_is_none)]
    pub scope: Option<String>,
    /// The client the token was issued to.
    #[oai(skip_serializing_if_is_none)]
    pub client_id: Option<String>,
    /// Subject: the user's stable id, or the client id for client credentials.
    #[oai(skip_serializing_if_is_none)]
    pub sub: Option<String>,
    /// Audiences of an access token.
    #[oai(skip_serializing_if_is_none)]
    pub aud: Option<Vec<String>>,
    /// Issuer.
    #[oai(skip_serializing_if_is_none)]
    pub iss: Option<String>,
    /// Expiry, seconds since the epoch.
    #[oai(skip_serializing_if_is_none)]
    pub exp: Option<u64>,
    /// Issue time, seconds since the epoch.
    #[oai(skip_serializing_if_is_none)]
    pub iat: Option<u64>,
    /// Token id of an access token.
    #[oai(skip_serializing_if_is_none)]
    pub jti: Option<String>,
    /// `access_token` or `refresh_token`.
    #[oai(skip_serializing_if_is_none)]
    pub token_type: Option<String>,
}

impl From<Option<ActiveToken>> for IntrospectionBody {
    fn from(active: Option<ActiveToken>) -> Self {
        let Some(token) = active else {
            return Self::default();
        };
        Self {
            active: true,
            scope: Some(token.scope),
            client_id: Some(token.client_id),
            sub: Some(token.sub),
            aud: token.aud.map(|aud| match aud {
                Audience::One(one) => vec![one],
                Audience::Many(many) => many,
            }),
            iss: Some(token.iss),
            exp: Some(token.exp),
            iat: Some(token.iat),
            jti: token.jti,
            token_type: Some(token.token_type.to_owned()),
        }
    }
}

oauth_response! {
    /// Introspection endpoint responses.
    pub enum IntrospectResponse {
        /// Whether the token is active, and what it stands for if so.
        #[oai(status = 200)]
        Ok(Json<IntrospectionBody>, #[oai(header = "Cache-Control")] String, #[oai(header = "Pragma")] String),
    }
}

/// OAuth 2.0 endpoints.
pub struct OAuthApi;

#[OpenApi(tag = "ApiTags::OAuth")]
impl OAuthApi {
    /// Token endpoint
    ///
    /// Issues access tokens (RFC 6749 §3.2). Authenticate the client with HTTP Basic
    /// (`client_secret_basic`, the default) or `client_id` + `client_secret` in the body
    /// (`client_secret_post`), as the client is registered. Errors follow RFC 6749 §5.2 with an
    /// `error_description` that says what to fix.
    #[oai(path = "/token", method = "post", operation_id = "token")]
    async fn token(
        &self,
        app: Data<&Arc<App>>,
        auth: ClientAuthorization,
        form: Form<TokenForm>,
    ) -> TokenResponse {
        let form = form.0;
        let credentials = ClientCredentials {
            basic: auth.0,
            client_id: form.client_id,
            client_secret: form.client_secret.map(SecretString::new),
        };
        let request = TokenRequest {
            grant_type: form.grant_type,
            scope: form.scope,
            resource: form.resource,
            audience: form.audience,
            code: form.code,
            redirect_uri: form.redirect_uri,
            code_verifier: form.code_verifier,
            refresh_token: form.refresh_token,
        };
        token::exchange(&app, credentials, request).await.into()
    }

    /// Revocation endpoint
    ///
    /// Revokes one of the authenticated client's tokens (RFC 7009): a refresh token ends its
    /// whole grant, an access token stops being active at introspection and userinfo at once.
    /// Unknown tokens and tokens of other clients are answered 200 as well.
    #[oai(path = "/revoke", method = "post", operation_id = "revoke")]
    async fn revoke(
        &self,
        app: Data<&Arc<App>>,
        auth: ClientAuthorization,
        form: Form<TokenOperationForm>,
    ) -> RevokeResponse {
        let (credentials, operation) = form.0.split(auth);
        match token::revoke(&app, credentials, operation).await {
            Ok(()) => RevokeResponse::Ok(NO_STORE.into(), NO_CACHE.into()),
            Err(err) => err.into(),
        }
    }

    /// Introspection endpoint
    ///
    /// Tells an authenticated client whether a token is active and what it stands for (RFC
    /// 7662). Expired, revoked, rotated, malformed and unknown tokens are exactly
    /// `{"active": false}`.
    #[oai(path = "/introspect", method = "post", operation_id = "introspect")]
    async fn introspect(
        &self,
        app: Data<&Arc<App>>,
        auth: ClientAuthorization,
        form: Form<TokenOperationForm>,
    ) -> IntrospectResponse {
        let (credentials, operation) = form.0.split(auth);
        match token::introspect(&app, credentials, operation).await {
            Ok(active) => {
                IntrospectResponse::Ok(Json(active.into()), NO_STORE.into(), NO_CACHE.into())
            }
            Err(err) => err.into(),
        }
    }
}
