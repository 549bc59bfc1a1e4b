//! The admin API (`/admin/...`): clients, users and signing keys managed while ferrid runs, as
//! JSON, one `#[OpenApi]` struct per resource (`clients`, `users`, `keys`). Every operation
//! needs a bearer access token issued by this ferrid with the `admin` scope
//! (`admin::auth::authorize`); handlers authorize, call one `admin` function and map its result.
//! Errors are `{"error", "error_description"}` with the status `AdminError` gives — RFC 6750
//! challenges on 401/403, RFC 7591 codes for refused client metadata — and every answer is
//! `Cache-Control: no-store`, as some carry a secret shown once.

pub mod client_body;
pub mod clients;
pub mod keys;
pub mod registration_tokens;
pub mod user_body;
pub mod users;

use poem::{Request, RequestBody};
use poem_openapi::registry::Registry;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, Object};

use super::bearer;
use crate::admin::{self, Actor, AdminError};
use crate::context::Context;
use crate::error::{sanitize_description, OAuthError};

/// The bearer token of an admin request (`Authorization: Bearer <access token>`), documented as
/// the `BearerToken` scheme: in Swagger UI, paste a token obtained with client credentials.
pub struct AdminToken(Result<Option<String>, &'static str>);

impl<'a> ApiExtractor<'a> for AdminToken {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        bearer::register_bearer_scheme(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![bearer::SCHEME_NAME]
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let Some(header) = request.headers().get(poem::http::header::AUTHORIZATION) else {
            return Ok(Self(Ok(None)));
        };
        Ok(Self(bearer::parse_bearer(
            header.to_str().unwrap_or_default(),
        )))
    }
}

impl AdminToken {
    /// Who is acting, if the token may administer this ferrid.
    pub async fn authorize(self, ctx: &Context) -> Result<Actor, AdminError> {
        match self.0 {
            Ok(token) => admin::auth::authorize(ctx, token.as_deref()).await,
            Err(reason) => Err(OAuthError::invalid_token(reason).into()),
        }
    }
}

/// An admin API error: `error` is `invalid_request`, `invalid_redirect_uri`,
/// `invalid_client_metadata`, `invalid_token`, `insufficient_scope`, `not_found`, `conflict`,
/// `temporarily_unavailable` or `server_error`.
#[derive(Debug, Clone, Object)]
#[oai(rename = "AdminError", example)]
pub struct AdminErrorBody {
    /// Error code.
    pub error: String,
    /// What went wrong; for refused client metadata it starts with the field's name.
    pub error_description: String,
}

impl poem_openapi::types::Example for AdminErrorBody {
    fn example() -> Self {
        Self {
            error: "invalid_redirect_uri".into(),
            error_description: "redirect_uris: `http://app.example.com/cb` is plain http: use \
                                https, or for a native app a loopback IP literal"
                .into(),
        }
    }
}

impl From<&AdminError> for AdminErrorBody {
    fn from(err: &AdminError) -> Self {
        Self {
            error: err.code().to_owned(),
            error_description: err.description(),
        }
    }
}

/// Maps an extractor failure (malformed JSON, a bad query parameter) to `invalid_request`.
pub fn bad_request<R: From<AdminError>>(err: poem::Error) -> R {
    R::from(AdminError::InvalidRequest(sanitize_description(
        &err.to_string(),
    )))
}

/// The response, or the error's response.
pub fn respond<R: From<AdminError>>(result: Result<R, AdminError>) -> R {
    result.unwrap_or_else(R::from)
}

/// `Cache-Control` of every admin answer.
pub const NO_STORE: &str = "no-store";

/// Declares an admin response enum: the caller's success variants plus the shared error
/// variants, and `From<AdminError>` for it.
macro_rules! admin_response {
    ($(#[$attr:meta])* pub enum $name:ident { $($success:tt)* }) => {
        $(#[$attr])*
        #[derive(poem_openapi::ApiResponse)]
        #[oai(bad_request_handler = "crate::http::admin::bad_request")]
        // Built once per request and moved straight into the response: size does not matter.
        #[allow(clippy::large_enum_variant)]
        pub enum $name {
            $($success)*
            /// Malformed request (`invalid_request`) or refused client metadata
            /// (`invalid_redirect_uri`, `invalid_client_metadata`, naming the field).
            #[oai(status = 400)]
            BadRequest(
                poem_openapi::payload::Json<crate::http::admin::AdminErrorBody>,
                #[oai(header = "Cache-Control")] String,
            ),
            /// No bearer token, or an invalid, expired or revoked one (`invalid_token`).
            #[oai(status = 401)]
            Unauthorized(
                poem_openapi::payload::Json<crate::http::admin::AdminErrorBody>,
                #[oai(header = "WWW-Authenticate")] String,
                #[oai(header = "Cache-Control")] String,
            ),
            /// The token lacks the `admin` scope (`insufficient_scope`).
            #[oai(status = 403)]
            Forbidden(
                poem_openapi::payload::Json<crate::http::admin::AdminErrorBody>,
                #[oai(header = "WWW-Authenticate")] String,
                #[oai(header = "Cache-Control")] String,
            ),
            /// No such record (`not_found`).
            #[oai(status = 404)]
            NotFound(
                poem_openapi::payload::Json<crate::http::admin::AdminErrorBody>,
                #[oai(header = "Cache-Control")] String,
            ),
            /// The id or username is taken, or the record is provisioned by the config file
            /// and can only be changed there (`conflict`).
            #[oai(status = 409)]
            Conflict(
                poem_openapi::payload::Json<crate::http::admin::AdminErrorBody>,
                #[oai(header = "Cache-Control")] String,
            ),
            /// An unexpected server fault (`server_error`); details are only in the server log.
            #[oai(status = 500)]
            ServerError(
                poem_openapi::payload::Json<crate::http::admin::AdminErrorBody>,
                #[oai(header = "Cache-Control")] String,
            ),
            /// The store is unreachable (`temporarily_unavailable`); retry.
            #[oai(status = 503)]
            Unavailable(
                poem_openapi::payload::Json<crate::http::admin::AdminErrorBody>,
                #[oai(header = "Retry-After")] String,
                #[oai(header = "Cache-Control")] String,
            ),
        }

        impl From<crate::admin::AdminError> for $name {
            fn from(err: crate::admin::AdminError) -> Self {
                use crate::http::admin::{AdminErrorBody, NO_STORE};
                let body = poem_openapi::payload::Json(AdminErrorBody::from(&err));
                let challenge = err.www_authenticate().unwrap_or_default();
                match err.status() {
                    401 => Self::Unauthorized(body, challenge, NO_STORE.into()),
                    403 => Self::Forbidden(body, challenge, NO_STORE.into()),
                    404 => Self::NotFound(body, NO_STORE.into()),
                    409 => Self::Conflict(body, NO_STORE.into()),
                    500 => Self::ServerError(body, NO_STORE.into()),
                    503 => Self::Unavailable(body, "1".into(), NO_STORE.into()),
                    _ => Self::BadRequest(body, NO_STORE.into()),
                }
            }
        }
    };
}
pub(crate) use admin_response;
