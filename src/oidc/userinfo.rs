//! The userinfo endpoint's logic (OIDC Core §5.3): a valid, unrevoked access token with the
//! `openid` scope returns the claims its scopes release. Errors are RFC 6750: `invalid_token`
//! (401) for a malformed, expired or revoked token — and for none at all, whose challenge then
//! names no error (§3.1) — and `insufficient_scope` (403) without `openid`. A DPoP-bound token
//! needs the DPoP scheme and a proof by its key (RFC 9449 §7); errors of a DPoP request carry
//! the `DPoP` challenge.

use crate::context::Context;
use crate::error::{ErrorCode, OAuthError};
use crate::oauth::access_token::{self, Presented, Scheme};
use crate::oauth::deny_list;
use crate::oauth::dpop::{self, DpopRequest};
use crate::oidc::claims::{self, UserClaims};
use crate::users;

/// A userinfo answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Userinfo {
    pub claims: UserClaims,
    /// RFC 9449 §8.2: the nonce for the client's next DPoP proof, when nonces are required.
    pub dpop_nonce: Option<String>,
}

/// The claims for the access token `presented` (with its DPoP proof, if any, in `dpop`).
pub async fn userinfo(
    ctx: &Context,
    presented: Option<Presented>,
    dpop: &DpopRequest<'_>,
) -> Result<Userinfo, OAuthError> {
    let presented = presented
        .ok_or_else(|| OAuthError::bearer_token_required("an access token is required"))?;
    let result = serve(ctx, &presented, dpop).await;
    match presented.scheme {
        Scheme::DPoP => result.map_err(OAuthError::with_dpop_challenge),
        Scheme::Bearer => result,
    }
}

async fn serve(
    ctx: &Context,
    presented: &Presented,
    dpop: &DpopRequest<'_>,
) -> Result<Userinfo, OAuthError> {
    let ring = ctx.key_ring()?;
    let access = access_token::verify(
        &ring,
        &presented.token,
        ctx.settings().issuer(),
        ctx.clock().now_secs(),
    )?;
    let proof = dpop::confirm(
        ctx,
        presented.scheme,
        &presented.token,
        access.cnf.as_ref(),
        dpop,
    )
    .await?;
    if deny_list::is_revoked(ctx.store(), &access.jti, access.fid.as_deref()).await? {
        return Err(OAuthError::invalid_token("the access token was revoked"));
    }
    let scopes: Vec<String> = access.scope.split(' ').map(str::to_owned).collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "userinfo needs a token with the openid scope",
        ));
    }
    let user = users::find_by_id(ctx.store(), &access.sub)
        .await?
        .ok_or_else(|| OAuthError::invalid_token("the token's user no longer exists"))?;
    Ok(Userinfo {
        claims: claims::for_scopes(&user, &scopes),
        dpop_nonce: dpop::next_nonce(ctx, proof.as_ref()),
    })
}
