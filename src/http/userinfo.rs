//! The UserInfo endpoint (OIDC Core §5.3), GET and POST: the claims about the person that the
//! access token's scopes release. The token comes as `Authorization: Bearer` or, on POST, as an
//! `access_token` form field (RFC 6750 §2.2) — a POST with the header needs no body at all — or,
//! DPoP-bound, as `Authorization: DPoP` with a `DPoP` proof header (RFC 9449 §7); errors carry
//! RFC 6750 / RFC 9449 `WWW-Authenticate`.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::bearer::BearerAuthorization;
use super::dpop::DpopProofs;
use super::errors::{ErrorBody, NO_STORE};
use super::form::OptionalForm;
use super::{paths, ApiTags};
use crate::context::Context;
use crate::error::OAuthError;
use crate::oauth::access_token::{Presented, Scheme};
use crate::oauth::dpop::DpopRequest;
use crate::oidc::claims::UserClaims;
use crate::oidc::userinfo::{self, Userinfo};

#[derive(ApiResponse)]
#[oai(bad_request_handler = "userinfo_bad_request")]
enum UserinfoResponse {
    /// The claims the token's scopes release.
    #[oai(status = 200)]
    Ok(
        Json<UserInfo>,
        #[oai(header = "Cache-Control")] String,
        /// When DPoP nonces are required: the nonce for the next proof (RFC 9449 §8.2).
        #[oai(header = "DPoP-Nonce")]
        Option<String>,
    ),
    /// Malformed, expired or revoked token (`invalid_token`), a DPoP proof that does not verify
    /// (`invalid_dpop_proof`) or lacks the server nonce (`use_dpop_nonce`), or a DPoP-bound token
    /// sent as Bearer; without any token, the challenge names no error (RFC 6750 §3.1) and
    /// offers both the Bearer and the DPoP scheme.
    #[oai(status = 401)]
    Unauthorized(
        Json<ErrorBody>,
        #[oai(header = "WWW-Authenticate")] String,
        /// With `use_dpop_nonce`: the nonce the next proof must carry.
        #[oai(header = "DPoP-Nonce")]
        Option<String>,
    ),
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
            401 => Self::Unauthorized(body, challenge, err.dpop_nonce().map(str::to_owned)),
            403 => Self::Forbidden(body, challenge),
            500 => Self::ServerError(body),
            503 => Self::Unavailable(body, "1".into()),
            _ => Self::BadRequest(body),
        }
    }
}

impl From<Result<Userinfo, OAuthError>> for UserinfoResponse {
    fn from(result: Result<Userinfo, OAuthError>) -> Self {
        match result {
            Ok(answer) => Self::Ok(
                Json(answer.claims.into()),
                NO_STORE.into(),
                answer.dpop_nonce,
            ),
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

/// The UserInfo endpoint.
pub struct UserinfoApi;

#[OpenApi(tag = "ApiTags::OpenIdConnect")]
impl UserinfoApi {
    /// UserInfo endpoint
    ///
    /// The claims about the logged-in person that the access token's scopes release (`profile`:
    /// name, preferred_username; `email`: email, email_verified; `roles`: roles). A DPoP-bound
    /// token is sent as `Authorization: DPoP <token>` with a `DPoP` proof for this request.
    #[oai(path = "/userinfo", method = "get", operation_id = "userinfo")]
    async fn userinfo(
        &self,
        ctx: Data<&Arc<Context>>,
        bearer: BearerAuthorization,
        /// A DPoP proof JWT (RFC 9449 §7.1) for `GET` to this endpoint, with `ath`; at most one.
        #[oai(name = "DPoP")]
        dpop: DpopProofs,
    ) -> UserinfoResponse {
        match bearer.0 {
            Ok(token) => answer(&ctx, token, &dpop.0, "GET").await,
            Err(reason) => OAuthError::invalid_token(reason).into(),
        }
    }

    /// UserInfo endpoint (POST)
    ///
    /// The same as `GET /userinfo`; the token may also be sent as `access_token` in a form body
    /// (RFC 6750 §2.2), but not in both places. With the token in the header, the body may be
    /// left out.
    #[oai(path = "/userinfo", method = "post", operation_id = "userinfo_post")]
    async fn userinfo_post(
        &self,
        ctx: Data<&Arc<Context>>,
        bearer: BearerAuthorization,
        /// A DPoP proof JWT (RFC 9449 §7.1) for `POST` to this endpoint, with `ath`; at most one.
        #[oai(name = "DPoP")]
        dpop: DpopProofs,
        form: OptionalForm<UserinfoForm>,
    ) -> UserinfoResponse {
        let token = match (bearer.0, form.0.access_token.filter(|t| !t.is_empty())) {
            (Ok(Some(_)), Some(_)) => {
                return OAuthError::invalid_request(
                    "send the access token in the header or the body, not both",
                )
                .into()
            }
            // RFC 6750 §2.2: a token in the body is a bearer token.
            (Ok(header), body) => header.or(body.map(|token| Presented {
                scheme: Scheme::Bearer,
                token,
            })),
            (Err(reason), _) => return OAuthError::invalid_token(reason).into(),
        };
        answer(&ctx, token, &dpop.0, "POST").await
    }
}

/// Serves a userinfo request presenting `token` with `method`.
async fn answer(
    ctx: &Context,
    token: Option<Presented>,
    proofs: &[String],
    method: &str,
) -> UserinfoResponse {
    let url = format!("{}{}", ctx.settings().issuer(), paths::USERINFO);
    let dpop = DpopRequest {
        proofs,
        method,
        url: &url,
    };
    userinfo::userinfo(ctx, token, &dpop).await.into()
}
