//! `/admin/keys`: the signing keys (public facts only, never private material) and the
//! emergency rotation.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::{admin_response, respond, AdminToken, NO_STORE};
use crate::admin::keys::{self, KeyInfo, RingInfo};
use crate::context::Context;
use crate::http::ApiTags;

/// A signing key.
#[derive(Debug, Clone, Object)]
#[oai(rename = "SigningKey")]
pub struct KeyView {
    /// RFC 7638 thumbprint, the `kid` of the tokens it signs.
    pub kid: String,
    /// `RS256`.
    pub alg: String,
    /// `next` (published, not signing yet), `active` (signing) or `retired` (published only).
    pub state: String,
    /// When the key was created and published (seconds since the epoch).
    pub created_at: u64,
    /// When it started signing.
    #[oai(skip_serializing_if_is_none)]
    pub activated_at: Option<u64>,
    /// When it stopped signing.
    #[oai(skip_serializing_if_is_none)]
    pub retired_at: Option<u64>,
    /// Its next scheduled transition: `publish next`, `activate`, `retire` or `remove`.
    #[oai(skip_serializing_if_is_none)]
    pub next_transition: Option<String>,
    /// When that transition is due (seconds since the epoch).
    #[oai(skip_serializing_if_is_none)]
    pub next_transition_at: Option<u64>,
}

impl From<KeyInfo> for KeyView {
    fn from(key: KeyInfo) -> Self {
        Self {
            kid: key.kid,
            alg: key.alg.to_owned(),
            state: key.state.to_owned(),
            created_at: key.created_at,
            activated_at: key.activated_at,
            retired_at: key.retired_at,
            next_transition: key.next_transition.map(|(what, _)| what.to_owned()),
            next_transition_at: key.next_transition.map(|(_, at)| at),
        }
    }
}

/// The key ring.
#[derive(Debug, Clone, Object)]
#[oai(rename = "KeyRing")]
pub struct RingView {
    /// Grows by one with every change of the ring.
    pub revision: u64,
    pub keys: Vec<KeyView>,
}

impl From<RingInfo> for RingView {
    fn from(ring: RingInfo) -> Self {
        Self {
            revision: ring.revision,
            keys: ring.keys.into_iter().map(KeyView::from).collect(),
        }
    }
}

admin_response! {
    /// Answers carrying the key ring.
    pub enum RingResponse {
        /// The key ring.
        #[oai(status = 200)]
        Ok(Json<RingView>, #[oai(header = "Cache-Control")] String),
    }
}

/// The signing key administration endpoints.
pub struct AdminKeysApi;

#[OpenApi(tag = "ApiTags::Admin")]
impl AdminKeysApi {
    /// List signing keys
    ///
    /// Every key of the ring with its state and next scheduled transition.
    #[oai(path = "/admin/keys", method = "get", operation_id = "admin_list_keys")]
    async fn list(&self, ctx: Data<&Arc<Context>>, token: AdminToken) -> RingResponse {
        respond(
            async {
                token.authorize(&ctx).await?;
                Ok(RingResponse::Ok(
                    Json(keys::list(&ctx).await?.into()),
                    NO_STORE.into(),
                ))
            }
            .await,
        )
    }

    /// Rotate the signing key now
    ///
    /// A freshly generated key signs from now on; every instance picks it up within seconds. The
    /// old key stays in the JWKS until its grace ends, unless `withdraw_old` (then tokens it
    /// signed stop verifying at once — for a leaked key).
    #[oai(
        path = "/admin/keys",
        method = "post",
        operation_id = "admin_rotate_keys"
    )]
    async fn rotate(
        &self,
        ctx: Data<&Arc<Context>>,
        token: AdminToken,
        /// Also remove every older key from the JWKS at once.
        withdraw_old: Query<Option<bool>>,
    ) -> RingResponse {
        respond(
            async {
                let actor = token.authorize(&ctx).await?;
                let ring = keys::rotate(&ctx, &actor, withdraw_old.0.unwrap_or(false)).await?;
                Ok(RingResponse::Ok(Json(ring.into()), NO_STORE.into()))
            }
            .await,
        )
    }
}
