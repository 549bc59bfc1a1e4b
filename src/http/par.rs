//! The pushed authorization request endpoint (RFC 9126): `POST /par`. The client authenticates
//! as at `/token` and sends the authorization request's parameters in the body; the handler
//! extracts them (with the names of repeated ones) and the credentials, calls
//! `oauth::par::push`, and maps the result — 201 with `request_uri` and `expires_in`, or an
//! RFC 6749 §5.2 error.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::authorize::{params_from_pairs, AuthorizeForm};
use super::client_auth::{self, BodyCredentials, ClientAuthorization};
use super::errors::{oauth_response, NO_CACHE, NO_STORE};
use super::form::FormPairs;
use super::{paths, ApiTags};
use crate::context::Context;
use crate::error::OAuthError;
use crate::oauth::par::{self, PushedRequest};

/// A pushed authorization request: the parameters of an authorization request, and the client's
/// credentials when not sent as HTTP Basic.
// No `Debug`: it holds the client secret.
#[derive(Default, Object)]
#[oai(rename = "PushedAuthorizationRequest")]
pub struct ParForm {
    /// The client secret, for `client_secret_post`.
    pub client_secret: Option<String>,
    /// For `private_key_jwt`: `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    pub client_assertion_type: Option<String>,
    /// For `private_key_jwt`: a JWT signed with one of the client's registered keys (RFC 7523
    /// section 3) — `iss` and `sub` the client id, `aud` the issuer, a short `exp`, a unique `jti`.
    pub client_assertion: Option<String>,
    #[oai(flatten)]
    pub authorization: AuthorizeForm,
}

/// RFC 9126 §2.2: where the pushed request waits.
#[derive(Debug, Object)]
#[oai(rename = "PushedAuthorizationResponse")]
pub struct ParBody {
    /// Send the browser to `/authorize?client_id=…&request_uri=…` with this; usable once.
    pub request_uri: String,
    /// Seconds until `request_uri` expires.
    pub expires_in: u64,
}

oauth_response! {
    /// Pushed authorization request responses.
    pub enum ParResponse {
        /// The request is valid and stored.
        #[oai(status = 201)]
        Created(Json<ParBody>, #[oai(header = "Cache-Control")] String, #[oai(header = "Pragma")] String),
    }
}

impl From<Result<PushedRequest, OAuthError>> for ParResponse {
    fn from(result: Result<PushedRequest, OAuthError>) -> Self {
        match result {
            Ok(pushed) => Self::Created(
                Json(ParBody {
                    request_uri: pushed.request_uri,
                    expires_in: pushed.expires_in,
                }),
                NO_STORE.into(),
                NO_CACHE.into(),
            ),
            Err(err) => err.into(),
        }
    }
}

/// The pushed authorization request endpoint.
pub struct ParApi;

#[OpenApi(tag = "ApiTags::OAuth")]
impl ParApi {
    /// Pushed authorization request endpoint
    ///
    /// RFC 9126: the client authenticates as at `/token` and pushes the parameters of an
    /// authorization request, which are validated exactly as `/authorize` would; the answer's
    /// `request_uri` (single use, valid `expires_in` seconds) then goes to
    /// `/authorize?client_id=…&request_uri=…`. Errors follow RFC 6749 §5.2.
    #[oai(path = "/par", method = "post", operation_id = "par")]
    async fn par(
        &self,
        ctx: Data<&Arc<Context>>,
        auth: ClientAuthorization,
        form: FormPairs<ParForm>,
    ) -> ParResponse {
        let params = params_from_pairs(&form.pairs);
        let field = |wanted: &str| {
            form.pairs
                .iter()
                .find(|(name, _)| name == wanted)
                .map(|(_, value)| value.clone())
        };
        let body = BodyCredentials {
            client_id: params.client_id.clone(),
            client_secret: field("client_secret"),
            client_assertion_type: field("client_assertion_type"),
            client_assertion: field("client_assertion"),
        };
        let credentials = client_auth::credentials(&ctx, paths::PAR, auth, body);
        par::push(&ctx, credentials, params).await.into()
    }
}
