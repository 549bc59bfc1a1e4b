//! The HTTP face of `OAuthError`: the RFC 6749 §5.2 JSON body, the error variants every OAuth
//! JSON endpoint's response enum shares (`oauth_response!`), and the mapping of poem and
//! poem-openapi extractor failures (bad content type, repeated or missing parameters, malformed
//! client authentication) to `invalid_request` / `invalid_client` instead of plain-text
//! 400/415s. Status and challenge come from `OAuthError` itself; only rendering lives here.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::error::{ContentTypeError, ParseRequestPayloadError};
use poem_openapi::Object;
use serde::Serialize;

use super::client_auth::MalformedClientAuthorization;
use crate::error::{sanitize_description, OAuthError};

/// RFC 6749 §5.2 error response.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(example)]
pub struct ErrorBody {
    /// Error code: `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope`, `invalid_target`, `invalid_dpop_proof`,
    /// `use_dpop_nonce`, `temporarily_unavailable` or `server_error`.
    pub error: String,
    /// What went wrong, for the developer of the client.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl poem_openapi::types::Example for ErrorBody {
    fn example() -> Self {
        Self {
            error: "invalid_client".into(),
            error_description: Some(
                "client authentication failed: client_secret_post was used but the client is \
                 registered for client_secret_basic"
                    .into(),
            ),
        }
    }
}

impl From<&OAuthError> for ErrorBody {
    fn from(err: &OAuthError) -> Self {
        Self {
            error: err.code().as_str().to_owned(),
            error_description: err.description().map(str::to_owned),
        }
    }
}

/// `Cache-Control` for every token-endpoint answer (RFC 6749 §5.1).
pub const NO_STORE: &str = "no-store";
/// `Pragma` for every token-endpoint answer (RFC 6749 §5.1).
pub const NO_CACHE: &str = "no-cache";

/// Declares a response enum with the caller's success variants plus the shared OAuth error
/// variants, and `From<OAuthError>` for it. Extractor failures go to `bad_request`, or to the
/// handler named first (`handler = "path::to::fn";`).
macro_rules! oauth_response {
    ($(#[$attr:meta])* pub enum $name:ident { $($success:tt)* }) => {
        crate::http::errors::oauth_response! {
            handler = "crate::http::errors::bad_request";
            $(#[$attr])* pub enum $name { $($success)* }
        }
    };
    (handler = $handler:tt; $(#[$attr:meta])* pub enum $name:ident { $($success:tt)* }) => {
        $(#[$attr])*
        #[derive(poem_openapi::ApiResponse)]
        #[oai(bad_request_handler = $handler)]
        pub enum $name {
            $($success)*
            /// The request is malformed, or the grant, scope or target is not allowed (RFC 6749 §5.2).
            #[oai(status = 400)]
            BadRequest(
                poem_openapi::payload::Json<crate::http::errors::ErrorBody>,
                #[oai(header = "Cache-Control")] String,
                #[oai(header = "Pragma")] String,
                /// With `use_dpop_nonce`: the nonce the next DPoP proof must carry (RFC 9449 §8).
                #[oai(header = "DPoP-Nonce")] Option<String>,
            ),
            /// Client authentication failed (`invalid_client`); the challenge names the Basic scheme.
            #[oai(status = 401)]
            Unauthorized(
                poem_openapi::payload::Json<crate::http::errors::ErrorBody>,
                #[oai(header = "WWW-Authenticate")] String,
                #[oai(header = "Cache-Control")] String,
                #[oai(header = "Pragma")] String,
            ),
            /// The request body is larger than `http.max_body_bytes` (`invalid_request`); the
            /// connection closes after this answer.
            #[oai(status = 413)]
            PayloadTooLarge(
                poem_openapi::payload::Json<crate::http::errors::ErrorBody>,
                #[oai(header = "Cache-Control")] String,
                #[oai(header = "Pragma")] String,
            ),
            /// An unexpected server fault (`server_error`); details are only in the server log.
            #[oai(status = 500)]
            ServerError(
                poem_openapi::payload::Json<crate::http::errors::ErrorBody>,
                #[oai(header = "Cache-Control")] String,
                #[oai(header = "Pragma")] String,
            ),
            /// The store is unreachable or keys are not loaded yet (`temporarily_unavailable`); retry.
            #[oai(status = 503)]
            Unavailable(
                poem_openapi::payload::Json<crate::http::errors::ErrorBody>,
                #[oai(header = "Retry-After")] String,
                #[oai(header = "Cache-Control")] String,
                #[oai(header = "Pragma")] String,
            ),
        }

        impl From<crate::error::OAuthError> for $name {
            fn from(err: crate::error::OAuthError) -> Self {
                use crate::http::errors::{ErrorBody, NO_CACHE, NO_STORE};
                let body = poem_openapi::payload::Json(ErrorBody::from(&err));
                match err.status() {
                    401 => Self::Unauthorized(
                        body,
                        err.www_authenticate().unwrap_or_default(),
                        NO_STORE.into(),
                        NO_CACHE.into(),
                    ),
                    500 => Self::ServerError(body, NO_STORE.into(), NO_CACHE.into()),
                    503 => Self::Unavailable(body, "1".into(), NO_STORE.into(), NO_CACHE.into()),
                    _ => Self::BadRequest(
                        body,
                        NO_STORE.into(),
                        NO_CACHE.into(),
                        err.dpop_nonce().map(str::to_owned),
                    ),
                }
            }
        }
    };
}
pub(crate) use oauth_response;

/// poem-openapi's `bad_request_handler` for every OAuth response enum.
pub fn bad_request<R: From<OAuthError>>(err: poem::Error) -> R {
    R::from(from_extractor_error(&err))
}

/// Maps an extractor failure to the protocol error a client expects.
pub fn from_extractor_error(err: &poem::Error) -> OAuthError {
    if let Some(malformed) = err.downcast_ref::<MalformedClientAuthorization>() {
        return OAuthError::invalid_client(malformed.to_string());
    }
    if err.is::<ContentTypeError>() {
        return OAuthError::invalid_request(
            "the request body must be application/x-www-form-urlencoded",
        );
    }
    if let Some(ParseRequestPayloadError { reason }) =
        err.downcast_ref::<ParseRequestPayloadError>()
    {
        return OAuthError::invalid_request(format!("malformed request body: {reason}"));
    }
    OAuthError::invalid_request(sanitize_description(&err.to_string()))
}

/// Renders an error outside a typed endpoint (body limit, unknown route), with `status`.
pub fn render(status: StatusCode, err: &OAuthError) -> Response {
    let body = serde_json::to_vec(&ErrorBody::from(err)).unwrap_or_default();
    let mut response = Response::builder()
        .status(status)
        .content_type("application/json")
        .header("Cache-Control", NO_STORE)
        .header("Pragma", NO_CACHE);
    if let Some(challenge) = err.www_authenticate() {
        response = response.header("WWW-Authenticate", challenge);
    }
    response.body(body).into_response()
}
