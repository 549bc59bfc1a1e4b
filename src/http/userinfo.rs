//! The UserInfo endpoint (OIDC Core §5.3), GET and POST: the claims about the person that the
//! access token's scopes release. The token comes as `Authorization: Bearer` or, on POST, as an
//! `access_token` form field (RFC 6750 §2.2) — a POST with the header needs no body at all; errors
//! carry RFC 6750 `WWW-Authenticate`.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::bearer::BearerAuthorization;
use super::errors::{ErrorBody, NO_STORE};
use super::form::OptionalForm;
use super::ApiTags;
use crate::context::Context;
use crate::error::OAuthError;
use crate::oidc::claims::UserClaims;
use crate::oidc::userinfo;

#[derive(ApiResponse)]
#[oai(bad_request_handler = "userinfo_bad_request")]
enum UserinfoResponse {
    /// The claims the token's scopes release.
    #[oai(status = 200)]
    Ok(Json<UserInfo>, #[oai(header = "Cache-Control")] String),
    /// Malformed, expired or revoked token (`invalid_token`); without any token, the challenge is
    /// only `Bearer realm="ferrid"` (RFC 6750 §3.1).
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

/// The UserInfo endpoint.
pub struct UserinfoApi;

#[OpenApi(tag = "ApiTags::OpenIdConnect")]
impl UserinfoApi {
    /// UserInfo endpoint
    ///
    /// The claims about the logged-in person that the access token's scopes release (`profile`:
    /// name, preferred_username; `email`: email, email_verified; `roles`: roles).
    #[oai(path = "/userinfo", method = "get", operation_id = "userinfo")]
    async fn userinfo(
        &self,
        ctx: Data<&Arc<Context>>,
        bearer: BearerAuthorization,
    ) -> UserinfoResponse {
        match bearer.0 {
            Ok(token) => userinfo::userinfo(&ctx, token.as_deref()).await.into(),
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
        form: OptionalForm<UserinfoForm>,
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
        userinfo::userinfo(&ctx, token.as_deref()).await.into()
    }
}
