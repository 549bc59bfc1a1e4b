//! `POST /register` (RFC 7591 dynamic client registration) and `GET`/`PUT`/`DELETE`
//! `/register/{client_id}` (RFC 7592 client registration management). The bearer token is an
//! initial access token at `/register` (when `registration.mode` is `initial_access_token`) and
//! the client's registration access token at its registration client URI; ferrid reads the
//! header itself so a refusal carries the RFC 6750 challenge. Errors are RFC 7591 §3.2.2 JSON
//! (`invalid_client_metadata` / `invalid_redirect_uri` naming the field, HTTP 400), RFC 6750
//! `invalid_token` (401), `access_denied` (403) while registration is closed; every answer is
//! `Cache-Control: no-store`, as most carry a credential shown once.

use std::sync::Arc;

use poem::web::Data;
use poem::{Request, RequestBody};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, OpenApi};

use super::registration_body::{ClientInformation, RegistrationErrorBody, RegistrationRequest};
use super::{bearer, ApiTags};
use crate::context::Context;
use crate::error::sanitize_description;
use crate::registration::{self, RegistrationError};

/// Name of the security scheme in the OpenAPI document.
pub const SCHEME_NAME: &str = "RegistrationToken";

/// `Cache-Control` of every registration answer.
const NO_STORE: &str = "no-store";

/// The bearer token of a registration request: an initial access token at `/register`
/// (`FALLBACK`: optional, since `open` registration takes none), a registration access token at
/// `/register/{client_id}`. `Err` when the header is not `Bearer <token>`.
pub struct BearerToken<const FALLBACK: bool>(Result<Option<String>, &'static str>);

/// The initial access token of `POST /register` (optional).
pub type InitialAccessToken = BearerToken<true>;
/// The registration access token of `/register/{client_id}` (required).
pub type RegistrationAccessToken = BearerToken<false>;

impl<'a, const FALLBACK: bool> ApiExtractor<'a> for BearerToken<FALLBACK> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            SCHEME_NAME,
            MetaSecurityScheme {
                ty: "http",
                description: Some(
                    "`Bearer <token>`: at `/register`, an initial access token the operator \
                     minted (when `registration.mode` is `initial_access_token`); at \
                     `/register/{client_id}`, the client's registration access token.",
                ),
                name: None,
                key_in: None,
                scheme: Some("bearer"),
                bearer_format: None,
                flows: None,
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![SCHEME_NAME]
    }

    fn has_security_fallback() -> bool {
        FALLBACK
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        // A missing token is the handler's to refuse, with the RFC 6750 challenge.
        let Some(header) = request.headers().get(poem::http::header::AUTHORIZATION) else {
            return Ok(Self(Ok(None)));
        };
        Ok(Self(
            bearer::parse_bearer(header.to_str().unwrap_or_default())
                .map_err(|_| "the Authorization header must be `Bearer <token>`"),
        ))
    }
}

impl<const FALLBACK: bool> BearerToken<FALLBACK> {
    fn token(&self) -> Result<Option<&str>, RegistrationError> {
        match &self.0 {
            Ok(token) => Ok(token.as_deref()),
            Err(reason) => Err(RegistrationError::InvalidToken(reason)),
        }
    }
}

/// Maps an extractor failure (a body that is not JSON client metadata) to
/// `invalid_client_metadata`.
pub fn bad_request<R: From<RegistrationError>>(err: poem::Error) -> R {
    R::from(RegistrationError::metadata(
        "request body",
        sanitize_description(&format!(
            "not RFC 7591 client metadata as application/json: {err}"
        )),
    ))
}

fn respond<R: From<RegistrationError>>(result: Result<R, RegistrationError>) -> R {
    result.unwrap_or_else(R::from)
}

/// Declares a registration response enum: the caller's success variants plus the shared error
/// variants, and `From<RegistrationError>` for it.
macro_rules! registration_response {
    ($(#[$attr:meta])* enum $name:ident { $($success:tt)* } $(register: $forbidden:ident, $throttled:ident)?) => {
        $(#[$attr])*
        #[derive(poem_openapi::ApiResponse)]
        #[oai(bad_request_handler = "bad_request")]
        // Built once per request and moved straight into the response: size does not matter.
        #[allow(clippy::large_enum_variant)]
        enum $name {
            $($success)*
            /// Refused metadata (`invalid_redirect_uri`, `invalid_client_metadata`), naming the
            /// field; also a body that is not JSON client metadata.
            #[oai(status = 400)]
            BadRequest(Json<RegistrationErrorBody>, #[oai(header = "Cache-Control")] String),
            /// No token, or one that is unknown, expired, used up, rotated away or another
            /// client's (`invalid_token`).
            #[oai(status = 401)]
            Unauthorized(
                Json<RegistrationErrorBody>,
                #[oai(header = "WWW-Authenticate")] String,
                #[oai(header = "Cache-Control")] String,
            ),
            $(
                /// Registration is closed on this server (`access_denied`).
                #[oai(status = 403)]
                $forbidden(Json<RegistrationErrorBody>, #[oai(header = "Cache-Control")] String),
                /// Open registration only: too many clients registered from this address in
                /// the last hour (`temporarily_unavailable`); retry after `Retry-After` seconds.
                #[oai(status = 429)]
                $throttled(
                    Json<RegistrationErrorBody>,
                    #[oai(header = "Retry-After")] String,
                    #[oai(header = "Cache-Control")] String,
                ),
            )?
            /// An unexpected server fault (`server_error`); details are only in the server log.
            #[oai(status = 500)]
            ServerError(Json<RegistrationErrorBody>, #[oai(header = "Cache-Control")] String),
            /// The store is unreachable (`temporarily_unavailable`); retry.
            #[oai(status = 503)]
            Unavailable(
                Json<RegistrationErrorBody>,
                #[oai(header = "Retry-After")] String,
                #[oai(header = "Cache-Control")] String,
            ),
        }

        impl From<RegistrationError> for $name {
            fn from(err: RegistrationError) -> Self {
                let body = Json(RegistrationErrorBody::from(&err));
                match err.status() {
                    401 => Self::Unauthorized(
                        body,
                        err.www_authenticate().unwrap_or_default(),
                        NO_STORE.into(),
                    ),
                    $(
                        403 => Self::$forbidden(body, NO_STORE.into()),
                        429 => Self::$throttled(
                            body,
                            err.retry_after().to_string(),
                            NO_STORE.into(),
                        ),
                    )?
                    500 => Self::ServerError(body, NO_STORE.into()),
                    503 => Self::Unavailable(body, err.retry_after().to_string(), NO_STORE.into()),
                    _ => Self::BadRequest(body, NO_STORE.into()),
                }
            }
        }
    };
}

registration_response! {
    /// Answers to a registration.
    enum RegisterResponse {
        /// The client is registered; `client_secret` and `registration_access_token` are shown
        /// this once.
        #[oai(status = 201)]
        Created(Json<ClientInformation>, #[oai(header = "Cache-Control")] String),
    }
    register: Forbidden, TooManyRequests
}

registration_response! {
    /// Answers carrying a registration.
    enum ClientInformationResponse {
        /// The registration; after a replacement with the new registration access token (the
        /// previous one no longer works).
        #[oai(status = 200)]
        Ok(Json<ClientInformation>, #[oai(header = "Cache-Control")] String),
    }
}

registration_response! {
    /// Answers to a deletion.
    enum DeletedResponse {
        /// The client is deleted; its refresh tokens (and the access tokens they issued) and
        /// outstanding authorization codes are revoked.
        #[oai(status = 204)]
        Deleted(#[oai(header = "Cache-Control")] String),
    }
}

/// Dynamic client registration and management.
pub struct RegistrationApi;

#[OpenApi(tag = "ApiTags::Registration")]
impl RegistrationApi {
    /// Register a client (RFC 7591)
    ///
    /// A client app registers itself with RFC 7591 metadata and gets its `client_id`, a
    /// `client_secret` (confidential clients), a `registration_access_token` and its
    /// `registration_client_uri`. Who may register is `registration.mode`: nobody (`closed`,
    /// the default: 403), the bearer of an initial access token from the operator
    /// (`initial_access_token`) or anyone (`open`, at most
    /// `registration.open_registrations_per_hour` clients per client address and hour).
    #[oai(path = "/register", method = "post", operation_id = "register_client")]
    async fn register(
        &self,
        ctx: Data<&Arc<Context>>,
        request: &Request,
        token: InitialAccessToken,
        body: Json<RegistrationRequest>,
    ) -> RegisterResponse {
        respond(
            async {
                let metadata = body.0.into_metadata();
                // The connection's peer: without a trusted-proxy setting, `X-Forwarded-For` is
                // anyone's to write.
                let address = request.remote_addr().as_socket_addr().map(|addr| addr.ip());
                let registration =
                    registration::register(&ctx, token.token()?, address, metadata).await?;
                let information = ClientInformation::issued(&registration, ctx.settings().issuer());
                Ok(RegisterResponse::Created(
                    Json(information),
                    NO_STORE.into(),
                ))
            }
            .await,
        )
    }

    /// Read a registration (RFC 7592)
    ///
    /// The client's registered metadata, with its registration access token as bearer token.
    #[oai(
        path = "/register/:client_id",
        method = "get",
        operation_id = "read_client_registration"
    )]
    async fn read(
        &self,
        ctx: Data<&Arc<Context>>,
        token: RegistrationAccessToken,
        /// The client id.
        client_id: Path<String>,
    ) -> ClientInformationResponse {
        respond(
            async {
                let client = registration::read(&ctx, &client_id, token.token()?).await?;
                let issuer = ctx.settings().issuer();
                let information = ClientInformation::new(&client, issuer, None, None);
                Ok(ClientInformationResponse::Ok(
                    Json(information),
                    NO_STORE.into(),
                ))
            }
            .await,
        )
    }

    /// Replace a registration (RFC 7592)
    ///
    /// Replaces the client's metadata as a whole (absent fields take their defaults); the body
    /// must name the `client_id`. The secret stays; a public client made confidential gets one.
    /// The answer carries a new registration access token, and the one used here stops working.
    #[oai(
        path = "/register/:client_id",
        method = "put",
        operation_id = "replace_client_registration"
    )]
    async fn replace(
        &self,
        ctx: Data<&Arc<Context>>,
        token: RegistrationAccessToken,
        /// The client id.
        client_id: Path<String>,
        body: Json<RegistrationRequest>,
    ) -> ClientInformationResponse {
        respond(
            async {
                let replacement = body.0.into_replacement();
                let registration =
                    registration::replace(&ctx, &client_id, token.token()?, replacement).await?;
                let information = ClientInformation::issued(&registration, ctx.settings().issuer());
                Ok(ClientInformationResponse::Ok(
                    Json(information),
                    NO_STORE.into(),
                ))
            }
            .await,
        )
    }

    /// Delete a registration (RFC 7592)
    ///
    /// Deletes the client and revokes its refresh tokens (and the access tokens they issued)
    /// and outstanding authorization codes.
    #[oai(
        path = "/register/:client_id",
        method = "delete",
        operation_id = "delete_client_registration"
    )]
    async fn delete(
        &self,
        ctx: Data<&Arc<Context>>,
        token: RegistrationAccessToken,
        /// The client id.
        client_id: Path<String>,
    ) -> DeletedResponse {
        respond(
            async {
                registration::delete(&ctx, &client_id, token.token()?).await?;
                Ok(DeletedResponse::Deleted(NO_STORE.into()))
            }
            .await,
        )
    }
}
