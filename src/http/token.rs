//! The OAuth 2.0 token endpoint (RFC 6749 §3.2). The handler extracts client credentials, the
//! form and any `DPoP` proof header (RFC 9449), calls `oauth::grants::exchange`, and maps the
//! result; every extractor failure reaches `errors::bad_request` and leaves as RFC 6749 §5.2
//! JSON.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;

use super::client_auth::{self, BodyCredentials, ClientAuthorization};
use super::dpop::DpopProofs;
use super::errors::{oauth_response, NO_CACHE, NO_STORE};
use super::{paths, ApiTags};
use crate::context::Context;
use crate::error::OAuthError;
use crate::oauth::dpop::DpopRequest;
use crate::oauth::grants::{self, TokenParameters, TokenSet};

/// Token request parameters (`application/x-www-form-urlencoded`). A parameter sent twice is
/// `invalid_request`; unknown parameters are ignored (RFC 6749 §3.2).
// No `Debug`: it holds codes, verifiers, refresh tokens and client secrets.
#[derive(Deserialize, Object)]
#[oai(rename = "TokenRequest", example)]
pub struct TokenForm {
    /// The grant type: `authorization_code`, `client_credentials` or `refresh_token`.
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
    /// For `private_key_jwt`: `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    pub client_assertion_type: Option<String>,
    /// For `private_key_jwt`: a JWT signed with one of the client's registered keys (RFC 7523
    /// section 3) — `iss` and `sub` the client id, `aud` the issuer, a short `exp`, a unique `jti`.
    pub client_assertion: Option<String>,
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
            client_assertion_type: None,
            client_assertion: None,
            code: None,
            redirect_uri: None,
            code_verifier: None,
            refresh_token: None,
        }
    }
}

/// Successful token response (RFC 6749 §5.1).
// No `Debug`: it holds the tokens.
#[derive(Object)]
#[oai(rename = "TokenResponse")]
pub struct TokenBody {
    /// An RFC 9068 JWT access token, RS256-signed; verify it with the JWKS. Bound to the DPoP
    /// key (`cnf.jkt`) when the request carried a DPoP proof.
    pub access_token: String,
    /// How to present the access token: `Bearer` (RFC 6750), or `DPoP` (RFC 9449) when it is
    /// bound to the request's DPoP key.
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
    handler = "crate::http::token::bad_request";
    /// Token endpoint responses.
    pub enum TokenResponse {
        /// Tokens issued.
        #[oai(status = 200)]
        Ok(
            Json<TokenBody>,
            #[oai(header = "Cache-Control")] String,
            #[oai(header = "Pragma")] String,
            /// When DPoP nonces are required: the nonce for the next proof (RFC 9449 §8.2).
            #[oai(header = "DPoP-Nonce")] Option<String>,
        ),
    }
}

impl From<Result<TokenSet, OAuthError>> for TokenResponse {
    fn from(result: Result<TokenSet, OAuthError>) -> Self {
        match result {
            Ok(set) => Self::Ok(
                Json(TokenBody {
                    access_token: set.access_token,
                    token_type: set.token_type.as_str().to_owned(),
                    expires_in: set.expires_in,
                    scope: set.scope,
                    id_token: set.id_token,
                    refresh_token: set.refresh_token,
                }),
                NO_STORE.into(),
                NO_CACHE.into(),
                set.dpop_nonce,
            ),
            Err(err) => err.into(),
        }
    }
}

/// The token endpoint's extractor failures (a malformed body or Basic header), counted like the
/// errors `grants::exchange` returns, since they never reach it.
pub fn bad_request(err: poem::Error) -> TokenResponse {
    let err = super::errors::from_extractor_error(&err);
    crate::telemetry::metrics::token_error(err.code().as_str());
    err.into()
}

/// The token endpoint.
pub struct TokenApi;

#[OpenApi(tag = "ApiTags::OAuth")]
impl TokenApi {
    /// Token endpoint
    ///
    /// Issues access tokens (RFC 6749 §3.2). Authenticate the client with HTTP Basic
    /// (`client_secret_basic`, the default), `client_id` + `client_secret` in the body
    /// (`client_secret_post`) or a signed JWT in `client_assertion` (`private_key_jwt`, RFC
    /// 7523), as the client is registered. With a `DPoP` proof header (RFC
    /// 9449) the access token is bound to the proof's key and `token_type` is `DPoP`. Errors
    /// follow RFC 6749 §5.2 with an `error_description` that says what to fix.
    #[oai(path = "/token", method = "post", operation_id = "token")]
    async fn token(
        &self,
        ctx: Data<&Arc<Context>>,
        auth: ClientAuthorization,
        /// A DPoP proof JWT (RFC 9449 §4) for `POST` to this endpoint; at most one.
        #[oai(name = "DPoP")]
        dpop: DpopProofs,
        form: Form<TokenForm>,
    ) -> TokenResponse {
        let form = form.0;
        let body = BodyCredentials {
            client_id: form.client_id,
            client_secret: form.client_secret,
            client_assertion_type: form.client_assertion_type,
            client_assertion: form.client_assertion,
        };
        let credentials = client_auth::credentials(&ctx, paths::TOKEN, auth, body);
        let params = TokenParameters::new([
            ("scope", form.scope),
            ("resource", form.resource),
            ("audience", form.audience),
            ("code", form.code),
            ("redirect_uri", form.redirect_uri),
            ("code_verifier", form.code_verifier),
            ("refresh_token", form.refresh_token),
        ]);
        let url = format!("{}{}", ctx.settings().issuer(), paths::TOKEN);
        let dpop = DpopRequest {
            proofs: &dpop.0,
            method: "POST",
            url: &url,
        };
        grants::exchange(&ctx, credentials, &form.grant_type, &params, &dpop)
            .await
            .into()
    }
}
