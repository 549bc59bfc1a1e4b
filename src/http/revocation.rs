//! The revocation endpoint (RFC 7009): a client revokes one of its own tokens. The handler
//! extracts credentials and the form, calls `oauth::revocation::handle`, and maps the result.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Form;
use poem_openapi::OpenApi;

use super::client_auth::ClientAuthorization;
use super::errors::{oauth_response, NO_CACHE, NO_STORE};
use super::token_operation::TokenOperationForm;
use super::{paths, ApiTags};
use crate::context::Context;
use crate::oauth::revocation;

oauth_response! {
    /// Revocation endpoint responses.
    pub enum RevokeResponse {
        /// The token is revoked, or was not one of this client's active tokens (RFC 7009 §2.2).
        #[oai(status = 200)]
        Ok(#[oai(header = "Cache-Control")] String, #[oai(header = "Pragma")] String),
    }
}

/// The revocation endpoint.
pub struct RevocationApi;

#[OpenApi(tag = "ApiTags::OAuth")]
impl RevocationApi {
    /// Revocation endpoint
    ///
    /// Revokes one of the authenticated client's tokens (RFC 7009): a refresh token ends its
    /// whole grant, an access token stops being active at introspection and userinfo at once.
    /// Unknown tokens and tokens of other clients are answered 200 as well.
    #[oai(path = "/revoke", method = "post", operation_id = "revoke")]
    async fn revoke(
        &self,
        ctx: Data<&Arc<Context>>,
        auth: ClientAuthorization,
        form: Form<TokenOperationForm>,
    ) -> RevokeResponse {
        let (credentials, operation) = form.0.split(&ctx, paths::REVOKE, auth);
        match revocation::handle(&ctx, credentials, operation).await {
            Ok(()) => RevokeResponse::Ok(NO_STORE.into(), NO_CACHE.into()),
            Err(err) => err.into(),
        }
    }
}
