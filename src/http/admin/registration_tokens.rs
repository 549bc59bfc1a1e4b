//! `/admin/registration-tokens`: minting initial access tokens for dynamic client registration
//! (RFC 7591 §3), each with an expiry and an optional number of uses; the token is in the answer
//! only.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::{admin_response, respond, AdminToken, NO_STORE};
use crate::admin::registration_tokens;
use crate::context::Context;
use crate::http::ApiTags;
use crate::registration::initial_access_token::Minted;

/// What to mint.
#[derive(Debug, Clone, Object)]
#[oai(rename = "RegistrationTokenRequest", example, deny_unknown_fields)]
pub struct RegistrationTokenRequest {
    /// Seconds until the token stops working (1 to 31536000).
    pub expires_in: u64,
    /// Registrations it allows (at least 1); any number until it expires when absent.
    pub uses: Option<u32>,
}

impl poem_openapi::types::Example for RegistrationTokenRequest {
    fn example() -> Self {
        Self {
            expires_in: 86_400,
            uses: Some(1),
        }
    }
}

/// A minted initial access token: send it as `Authorization: Bearer <token>` to `/register`.
/// Shown once — it is stored only as a hash.
// No `Debug`: it holds the token.
#[derive(Clone, Object)]
#[oai(rename = "RegistrationToken")]
pub struct RegistrationTokenView {
    pub initial_access_token: String,
    /// When it stops working (seconds since the epoch).
    pub expires_at: u64,
    /// Registrations it allows; absent: any number until it expires.
    #[oai(skip_serializing_if_is_none)]
    pub uses: Option<u32>,
}

impl From<Minted> for RegistrationTokenView {
    fn from(minted: Minted) -> Self {
        Self {
            initial_access_token: minted.token.expose().to_owned(),
            expires_at: minted.expires_at,
            uses: minted.uses,
        }
    }
}

admin_response! {
    /// Answers to minting a token.
    pub enum RegistrationTokenResponse {
        /// The token, shown this once.
        #[oai(status = 201)]
        Created(Json<RegistrationTokenView>, #[oai(header = "Cache-Control")] String),
    }
}

/// The registration token endpoint.
pub struct AdminRegistrationTokensApi;

#[OpenApi(tag = "ApiTags::Admin")]
impl AdminRegistrationTokensApi {
    /// Mint an initial access token
    ///
    /// A token that lets a developer register a client at `/register` while
    /// `registration.mode` is `initial_access_token`: it expires after `expires_in` seconds and,
    /// with `uses`, after that many registrations. Returned in this answer only.
    #[oai(
        path = "/admin/registration-tokens",
        method = "post",
        operation_id = "admin_create_registration_token"
    )]
    async fn create(
        &self,
        ctx: Data<&Arc<Context>>,
        token: AdminToken,
        body: Json<RegistrationTokenRequest>,
    ) -> RegistrationTokenResponse {
        respond(
            async {
                let actor = token.authorize(&ctx).await?;
                let minted =
                    registration_tokens::create(&ctx, &actor, body.0.expires_in, body.0.uses)
                        .await?;
                Ok(RegistrationTokenResponse::Created(
                    Json(minted.into()),
                    NO_STORE.into(),
                ))
            }
            .await,
        )
    }
}
