//! The authorization endpoint a client app sends the person to: `/authorize` (GET and POST,
//! RFC 6749 §4.1.1 / OIDC Core §3.1.2). It answers 303 — to the login or consent page, or back to
//! the client — or an HTML error page when the client or redirect URI cannot be trusted; `pages`
//! builds those responses.

use std::sync::Arc;

use poem::web::Data;
use poem::{IntoResponse, Request, Response};
use poem_openapi::param::Query;
use poem_openapi::payload::{Form, Html};
use poem_openapi::registry::{MetaResponses, Registry};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::{pages, ApiTags};
use crate::context::Context;
use crate::oauth::authorize::AuthorizeParams;

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

/// The authorization endpoint.
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
        ctx: Data<&Arc<Context>>,
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
        AuthorizeResponse(pages::authorize(&ctx, request, params).await)
    }

    /// Authorization endpoint (form post)
    ///
    /// The same as `GET /authorize`, with the parameters in an
    /// `application/x-www-form-urlencoded` body.
    #[oai(path = "/authorize", method = "post", operation_id = "authorize_post")]
    async fn authorize_post(
        &self,
        ctx: Data<&Arc<Context>>,
        request: &Request,
        form: Form<AuthorizeForm>,
    ) -> AuthorizeResponse {
        AuthorizeResponse(pages::authorize(&ctx, request, form.0.into()).await)
    }
}
