//! The introspection endpoint (RFC 7662): an authenticated client asks whether a token is active
//! and what it stands for. The handler extracts credentials and the form, calls
//! `oauth::introspection::handle`, and maps the result.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{Object, OpenApi};

use super::client_auth::ClientAuthorization;
use super::errors::{oauth_response, NO_CACHE, NO_STORE};
use super::token_operation::TokenOperationForm;
use super::{paths, ApiTags};
use crate::context::Context;
use crate::oauth::access_token::Audience;
use crate::oauth::introspection::{self, ActiveToken};

/// An introspection answer (RFC 7662 §2.2); inactive tokens get only `active: false`.
#[derive(Debug, Default, Object)]
pub struct IntrospectionBody {
    /// Whether the token is active now.
    pub active: bool,
    /// Granted scopes, space-separated.
    #[oai(skip_serializing_if_is_none)]
    pub scope: Option<String>,
    /// The client the token was issued to.
    #[oai(skip_serializing_if_is_none)]
    pub client_id: Option<String>,
    /// Subject: the user's stable id, or the client id for client credentials.
    #[oai(skip_serializing_if_is_none)]
    pub sub: Option<String>,
    /// Audiences of an access token.
    #[oai(skip_serializing_if_is_none)]
    pub aud: Option<Vec<String>>,
    /// Issuer.
    #[oai(skip_serializing_if_is_none)]
    pub iss: Option<String>,
    /// Expiry, seconds since the epoch.
    #[oai(skip_serializing_if_is_none)]
    pub exp: Option<u64>,
    /// Issue time, seconds since the epoch.
    #[oai(skip_serializing_if_is_none)]
    pub iat: Option<u64>,
    /// Token id of an access token.
    #[oai(skip_serializing_if_is_none)]
    pub jti: Option<String>,
    /// `access_token` or `refresh_token`.
    #[oai(skip_serializing_if_is_none)]
    pub token_type: Option<String>,
    /// RFC 9449 §6.2: the DPoP key the token is bound to (`{"jkt": "<thumbprint>"}`).
    #[oai(skip_serializing_if_is_none)]
    pub cnf: Option<ConfirmationBody>,
}

/// The key a sender-constrained token is bound to (RFC 7800 `cnf`).
#[derive(Debug, Object)]
pub struct ConfirmationBody {
    /// The RFC 7638 SHA-256 thumbprint of the DPoP key, base64url.
    pub jkt: String,
}

impl From<Option<ActiveToken>> for IntrospectionBody {
    fn from(active: Option<ActiveToken>) -> Self {
        let Some(token) = active else {
            return Self::default();
        };
        Self {
            active: true,
            scope: Some(token.scope),
            client_id: Some(token.client_id),
            sub: Some(token.sub),
            aud: token.aud.map(|aud| match aud {
                Audience::One(one) => vec![one],
                Audience::Many(many) => many,
            }),
            iss: Some(token.iss),
            exp: Some(token.exp),
            iat: Some(token.iat),
            jti: token.jti,
            token_type: Some(token.token_type.to_owned()),
            cnf: token.cnf.map(|cnf| ConfirmationBody { jkt: cnf.jkt }),
        }
    }
}

oauth_response! {
    /// Introspection endpoint responses.
    pub enum IntrospectResponse {
        /// Whether the token is active, and what it stands for if so.
        #[oai(status = 200)]
        Ok(Json<IntrospectionBody>, #[oai(header = "Cache-Control")] String, #[oai(header = "Pragma")] String),
    }
}

/// The introspection endpoint.
pub struct IntrospectionApi;

#[OpenApi(tag = "ApiTags::OAuth")]
impl IntrospectionApi {
    /// Introspection endpoint
    ///
    /// Tells an authenticated client whether a token is active and what it stands for (RFC
    /// 7662). Expired, revoked, rotated, malformed and unknown tokens are exactly
    /// `{"active": false}`.
    #[oai(path = "/introspect", method = "post", operation_id = "introspect")]
    async fn introspect(
        &self,
        ctx: Data<&Arc<Context>>,
        auth: ClientAuthorization,
        form: Form<TokenOperationForm>,
    ) -> IntrospectResponse {
        let (credentials, operation) = form.0.split(&ctx, paths::INTROSPECT, auth);
        match introspection::handle(&ctx, credentials, operation).await {
            Ok(active) => {
                IntrospectResponse::Ok(Json(active.into()), NO_STORE.into(), NO_CACHE.into())
            }
            Err(err) => err.into(),
        }
    }
}
