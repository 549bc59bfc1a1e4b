//! The OpenID Connect endpoints a client app drives: `/authorize` (GET and POST, RFC 6749
//! §4.1.1 / OIDC Core §3.1.2) and `/userinfo` (GET and POST, OIDC Core §5.3). `/authorize`
//! answers 303 — to the login or consent page, or back to the client — or an HTML error page
//! when the client or redirect URI cannot be trusted; `pages` builds those responses.

use std::sync::Arc;

use poem::web::Data;
use poem::{IntoResponse, Request, Response};
use poem_openapi::param::Query;
use poem_openapi::payload::{Form, Html, Json};
use poem_openapi::registry::{MetaResponses, Registry};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::bearer::BearerAuthorization;
use super::errors::{ErrorBody, NO_STORE};
use super::{pages, ApiTags};
use crate::app::App;
use crate::error::OAuthError;
use crate::oauth::authorize::AuthorizeParams;
use crate::oidc::claims::UserClaims;
use crate::oidc::userinfo;

/// Authorization request parameters sent as a form (POST /authorize).
#[derive(Debug, Default, Deserialize, Object)]
pub struct AuthorizeForm {
    /// Must be `code`.
    pub response_type: Option<String>,
    /// The client's id.
    pub client_id: Option<String>,
    /// One of the client's registered redirect URIs, exactly.
    pub redirect_uri: Option<String>,
    /// Space-separated scopes; include `openid` for an ID token.
    pub scope: Option<String>,
    /// Opaque value echoed back to the client.
    pub state: Option<String>,
    /// Echoed in the ID token.
    pub nonce: Option<String>,
    /// PKCE: base64url SHA-256 of the code verifier (required for public clients).
    pub code_challenge: Option<String>,
    /// PKCE: must be `S256`.
    pub code_challenge_method: Option<String>,
    /// `none`, `login` or `consent`.
    pub prompt: Option<String>,
    /// Maximum seconds since the person last logged in.
    pub max_age: Option<String>,
    /// Pre-fills the username.
    pub login_hint: Option<String>,
    /// Must be `query` when given.
    pub response_mode: Option<String>,
}

impl From<AuthorizeForm> for AuthorizeParams {
    fn from(form: AuthorizeForm) -> Self {
        Self {
            response_type: form.response_type,
            client_id: form.client_id,
            redirect_uri: form.redirect_uri,
            scope: form.scope,
            state: form.state,
            nonce: form.nonce,
            code_challenge: form.code_challenge,
            code_challenge_method: form.code_challenge_method,
            prompt: form.prompt,
            max_age: form.max_age,
            login_hint: form.login_hint,
            response_mode: form.response_mode,
        }
    }
}

/// The documented responses of `/authorize`; the real ones come from `pages`.
#[allow(dead_code)]
#[derive(ApiResponse)]
enum AuthorizeDoc {
    /// Onward: to the login or consent page, or back to the client's redirect URI with `code`,
    /// `state` and `iss` — or with `error`, `error_description`, `state` and `iss` (RFC 9207).
    #[oai(status = 303)]
    SeeOther(
        #[oai(header = "Location")] String,
        #[oai(header = "Set-Cookie")] Option<String>,
    ),
    /// The client is unknown or the redirect URI is not registered: an HTML page, never a redirect.
    #[oai(status = 400)]
    BadRequest(Html<String>),
    /// The store is unreachable: an HTML page; retry later.
    #[oai(status = 503)]
    Unavailable(Html<String>),
}

/// A response from `pages`, documented as `AuthorizeDoc`.
pub struct AuthorizeResponse(Response);

impl ApiResponse for AuthorizeResponse {
    const BAD_REQUEST_HANDLER: bool = true;

    fn meta() -> MetaResponses {
        AuthorizeDoc::meta()
    }

    fn register(registry: &mut Registry) {
        AuthorizeDoc::register(registry);
    }

    fn from_parse_request_error(err: poem::Error) -> Self {
        let message = format!("The authorization request is malformed: {err}.");
        Self(pages::error_page(
            400,
            &crate::error::sanitize_description(&message),
        ))
    }
}

impl IntoResponse for AuthorizeResponse {
    fn into_response(self) -> Response {
        self.0
    }
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "userinfo_bad_request")]
enum UserinfoResponse {
    /// The claims the token's scopes release.
    #[oai(status = 200)]
    Ok(Json<UserInfo>, #[oai(header = "Cache-Control")] String),
    /// No, malformed, expired or revoked token (`invalid_token`).
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>, #[oai(header = "WWW-Authenticate")] String),
    /// The token lacks the `openid` scope (`insufficient_scope`).
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>, #[oai(header = "WWW-Authenticate")] String),
    /// The request is malformed (`invalid_request`).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// An unexpected server fault (`server_error`).
    #[oai(status = 500)]
    ServerError(Json<ErrorBody>),
    /// The store is unreachable (`temporarily_unavailable`); retry.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>, #[oai(header = "Retry-After")] String),
}

fn userinfo_bad_request(err: poem::Error) -> UserinfoResponse {
    super::errors::from_extractor_error(&err).into()
}

impl From<OAuthError> for UserinfoResponse {
    fn from(err: OAuthError) -> Self {
        let body = Json(ErrorBody::from(&err));
        let challenge = err.www_authenticate().unwrap_or_default();
        match err.status() {
            401 => Self::Unauthorized(body, challenge),
            403 => Self::Forbidden(body, challenge),
            500 => Self::ServerError(body),
            503 => Self::Unavailable(body, "1".into()),
            _ => Self::BadRequest(body),
        }
    }
}

impl From<Result<UserClaims, OAuthError>> for UserinfoResponse {
    fn from(result: Result<UserClaims, OAuthError>) -> Self {
        match result {
            Ok(claims) => Self::Ok(Json(claims.into()), NO_STORE.into()),
            Err(err) => err.into(),
        }
    }
}

/// Claims about the person (OIDC Core §5.1).
#[derive(Debug, Object)]
pub struct UserInfo {
    /// Stable identifier of the person (not the username).
    pub sub: String,
    /// Full name (`profile` scope).
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    /// Username (`profile` scope).
    #[oai(skip_serializing_if_is_none)]
    pub preferred_username: Option<String>,
    /// Email address (`email` scope).
    #[oai(skip_serializing_if_is_none)]
    pub email: Option<String>,
    /// Whether ferrid verified the email address (`email` scope).
    #[oai(skip_serializing_if_is_none)]
    pub email_verified: Option<bool>,
    /// Roles (`roles` scope).
    #[oai(skip_serializing_if_is_none)]
    pub roles: Option<Vec<String>>,
}

impl From<UserClaims> for UserInfo {
    fn from(claims: UserClaims) -> Self {
        Self {
            sub: claims.sub,
            name: claims.name,
            preferred_username: claims.preferred_username,
            email: claims.email,
            email_verified: claims.email_verified,
            roles: claims.roles,
        }
    }
}

/// Userinfo parameters sent as a form (POST, RFC 6750 §2.2).
#[derive(Debug, Default, Deserialize, Object)]
pub struct UserinfoForm {
    /// The access token, when not sent in the Authorization header.
    pub access_token: Option<String>,
}

/// Authorization and userinfo endpoints.
pub struct AuthorizeApi;

#[OpenApi(tag = "ApiTags::OpenIdConnect")]
impl AuthorizeApi {
    /// Authorization endpoint
    ///
    /// Starts the authorization code flow (with PKCE S256): the person logs in and approves the
    /// requested scopes on ferrid's pages, then is sent back to `redirect_uri` with a `code`.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/authorize", method = "get", operation_id = "authorize")]
    async fn authorize(
        &self,
        app: Data<&Arc<App>>,
        request: &Request,
        /// Must be `code`.
        response_type: Query<Option<String>>,
        /// The client's id.
        client_id: Query<Option<String>>,
        /// One of the client's registered redirect URIs, exactly.
        redirect_uri: Query<Option<String>>,
        /// Space-separated scopes; include `openid` for an ID token.
        scope: Query<Option<String>>,
        /// Opaque value echoed back to the client.
        state: Query<Option<String>>,
        /// Echoed in the ID token.
        nonce: Query<Option<String>>,
        /// PKCE: base64url SHA-256 of the code verifier (required for public clients).
        code_challenge: Query<Option<String>>,
        /// PKCE: must be `S256`.
        code_challenge_method: Query<Option<String>>,
        /// `none`, `login` or `consent`.
        prompt: Query<Option<String>>,
        /// Maximum seconds since the person last logged in.
        max_age: Query<Option<String>>,
        /// Pre-fills the username.
        login_hint: Query<Option<String>>,
        /// Must be `query` when given.
        response_mode: Query<Option<String>>,
    ) -> AuthorizeResponse {
        let params = AuthorizeParams {
            response_type: response_type.0,
            client_id: client_id.0,
            redirect_uri: redirect_uri.0,
            scope: scope.0,
            state: state.0,
            nonce: nonce.0,
            code_challenge: code_challenge.0,
            code_challenge_method: code_challenge_method.0,
            prompt: prompt.0,
            max_age: max_age.0,
            login_hint: login_hint.0,
            response_mode: response_mode.0,
        };
        AuthorizeResponse(pages::authorize(&app, request, params).await)
    }

    /// Authorization endpoint (form post)
    ///
    /// The same as `GET /authorize`, with the parameters in an
    /// `application/x-www-form-urlencoded` body.
    #[oai(path = "/authorize", method = "post", operation_id = "authorize_post")]
    async fn authorize_post(
        &self,
        app: Data<&Arc<App>>,
        request: &Request,
        form: Form<AuthorizeForm>,
    ) -> AuthorizeResponse {
        AuthorizeResponse(pages::authorize(&app, request, form.0.into()).await)
    }

    /// UserInfo endpoint
    ///
    /// The claims about the logged-in person that the access token's scopes release (`profile`:
    /// name, preferred_username; `email`: email, email_verified; `roles`: roles).
    #[oai(path = "/userinfo", method = "get", operation_id = "userinfo")]
    async fn userinfo(
        &self,
        app: Data<&Arc<App>>,
        bearer: BearerAuthorization,
    ) -> UserinfoResponse {
        match bearer.0 {
            Ok(token) => userinfo::userinfo(&app, token.as_deref()).await.into(),
            Err(reason) => OAuthError::invalid_token(reason).into(),
        }
    }

    /// UserInfo endpoint (POST)
    ///
    /// The same as `GET /userinfo`; the token may also be sent as `access_token` in a form body
    /// (RFC 6750 §2.2), but not in both places.
    #[oai(path = "/userinfo", method = "post", operation_id = "userinfo_post")]
    async fn userinfo_post(
        &self,
        app: Data<&Arc<App>>,
        bearer: BearerAuthorization,
        form: Form<UserinfoForm>,
    ) -> UserinfoResponse {
        let token = match (bearer.0, form.0.access_token.filter(|t| !t.is_empty())) {
            (Ok(Some(_)), Some(_)) => {
                return OAuthError::invalid_request(
                    "send the access token in the header or the body, not both",
                )
                .into()
            }
            (Ok(header), body) => header.or(body),
            (Err(reason), _) => return OAuthError::invalid_token(reason).into(),
        };
        userinfo::userinfo(&app, token.as_deref()).await.into()
    }
}
