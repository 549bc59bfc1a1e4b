//! Which browser origins may call ferrid for a client (CORS), decided without HTTP: a preflight
//! names only an origin, so it is answered for an origin that some client lists in
//! `allowed_cors_origins` (one read of the origin index); an actual response may be read by an
//! origin only when the client the request speaks for lists it — the client named by its
//! credentials, or the client an access token was issued to. So a page on one client's origin
//! cannot read answers meant for another client, even though its preflights succeed.

use crate::context::Context;
use crate::error::OAuthError;
use crate::oauth::access_token;
use crate::oauth::clients::cors_origins;

/// Who a request speaks for, as far as CORS is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller<'a> {
    /// A client by its `client_id` (HTTP Basic or the body), at the token and revocation
    /// endpoints.
    Client(&'a str),
    /// A presented access token, at protected resources: the client it was issued to.
    AccessToken(&'a str),
}

/// Whether a preflight from `origin` is answered: some client lists it.
pub async fn is_registered_origin(ctx: &Context, origin: &str) -> Result<bool, OAuthError> {
    Ok(cors_origins::is_listed(ctx.store(), origin).await?)
}

/// Whether `origin` may read the answer to a request from `caller`: the client exists and lists
/// `origin`. An access token counts when ferrid signed it, even expired or revoked (who it was
/// issued to does not change), so the app can read the `invalid_token` answer and refresh. A
/// token that does not verify, an unknown client, or a store that cannot be read: no.
pub async fn may_read(ctx: &Context, origin: &str, caller: Caller<'_>) -> bool {
    let client_id = match caller {
        Caller::Client(client_id) => client_id.to_owned(),
        Caller::AccessToken(token) => {
            let Some(ring) = ctx.key_ring_if_loaded() else {
                return false;
            };
            match access_token::verify_signature(&ring, token, ctx.settings().issuer()) {
                Ok(claims) => claims.client_id,
                Err(_) => return false,
            }
        }
    };
    match cors_origins::client_lists(ctx.store(), &client_id, origin).await {
        Ok(lists) => lists,
        Err(err) => {
            tracing::warn!(%err, "cannot read the client for a cross-origin answer");
            false
        }
    }
}
