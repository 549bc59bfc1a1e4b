//! The authorization endpoint a client app sends the person to: `/authorize` (GET and POST,
//! RFC 6749 §4.1.1 / OIDC Core §3.1.2). It answers 303 — to the login or consent page, or back to
//! the client — or an HTML error page when the client or redirect URI cannot be trusted; `pages`
//! builds those responses.

use std::sync::Arc;

use poem::web::Data;
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Html;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::form::{self, FormPairs};
use super::page_response::{PageDoc, PageResponse};
use super::{pages, ApiTags};
use crate::context::Context;
use crate::oauth::authorize::AuthorizeParams;

/// Authorization request parameters sent as a form (POST /authorize); each at most once.
#[derive(Debug, Default, Object)]
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
    /// `query` (default) or `form_post`: the response comes back as a form POSTed to
    /// `redirect_uri`.
    pub response_mode: Option<String>,
    /// RFC 9126, at `/authorize` only: the `request_uri` `/par` returned; every other
    /// parameter except `client_id` is then ignored. Never pushed to `/par` itself.
    pub request_uri: Option<String>,
}

/// The authorization parameters of a form body: the first value of each, and the names of all
/// parameters that came more than once, for the domain to judge (RFC 6749 §3.1).
pub fn params_from_pairs(pairs: &[(String, String)]) -> AuthorizeParams {
    let mut params = AuthorizeParams {
        repeated: form::repeated_names(pairs),
        ..AuthorizeParams::default()
    };
    for (name, value) in pairs {
        let field = match name.as_str() {
            "response_type" => &mut params.response_type,
            "client_id" => &mut params.client_id,
            "redirect_uri" => &mut params.redirect_uri,
            "scope" => &mut params.scope,
            "state" => &mut params.state,
            "nonce" => &mut params.nonce,
            "code_challenge" => &mut params.code_challenge,
            "code_challenge_method" => &mut params.code_challenge_method,
            "prompt" => &mut params.prompt,
            "max_age" => &mut params.max_age,
            "login_hint" => &mut params.login_hint,
            "response_mode" => &mut params.response_mode,
            "request_uri" => &mut params.request_uri,
            _ => continue,
        };
        if field.is_none() {
            *field = Some(value.clone());
        }
    }
    params
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
    /// The client is unknown, the redirect URI is not registered, either was sent more than
    /// once, or the `request_uri` is unknown, expired, used or another client's: an HTML page,
    /// never a redirect.
    #[oai(status = 400)]
    BadRequest(Html<String>),
    /// The store is unreachable: an HTML page; retry later.
    #[oai(status = 503)]
    Unavailable(Html<String>),
}

impl PageDoc for AuthorizeDoc {
    const REQUEST: &'static str = "authorization request";
}

/// A response from `pages`, documented as `AuthorizeDoc`.
type AuthorizeResponse = PageResponse<AuthorizeDoc>;

/// The authorization endpoint.
pub struct AuthorizeApi;

#[OpenApi(tag = "ApiTags::OpenIdConnect")]
impl AuthorizeApi {
    /// Authorization endpoint
    ///
    /// Starts the authorization code flow (with PKCE S256): the person logs in and approves the
    /// requested scopes on ferrid's pages, then is sent back to `redirect_uri` with a `code`.
    /// Each parameter may be sent once (RFC 6749 §3.1): a repeated one is `invalid_request`.
    /// With `client_id` and a `request_uri` from `/par` (RFC 9126), the pushed request is used
    /// (once) and every other parameter is ignored.
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
        /// `query` (default) or `form_post`: the response comes back as a form POSTed to
        /// `redirect_uri`.
        response_mode: Query<Option<String>>,
        /// RFC 9126: the `request_uri` `/par` returned; every other parameter except
        /// `client_id` is then ignored.
        request_uri: Query<Option<String>>,
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
            request_uri: request_uri.0,
            // Query<…> takes the first of repeated values; the raw query tells which repeated.
            repeated: form::repeated_names(&form::pairs(
                request.uri().query().unwrap_or_default().as_bytes(),
            )),
        };
        AuthorizeResponse::new(pages::authorize(&ctx, request, params).await)
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
        form: FormPairs<AuthorizeForm>,
    ) -> AuthorizeResponse {
        let params = params_from_pairs(&form.pairs);
        AuthorizeResponse::new(pages::authorize(&ctx, request, params).await)
    }
}
