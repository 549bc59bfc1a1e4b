//! The userinfo endpoint's logic (OIDC Core §5.3): a valid, unrevoked access token with the
//! `openid` scope returns the claims its scopes release. Errors are RFC 6750: `invalid_token`
//! (401) for a malformed, expired or revoked token — and for none at all, whose challenge then
//! names no error (§3.1) — and `insufficient_scope` (403) without `openid`.

use crate::context::Context;
use crate::error::{ErrorCode, OAuthError};
use crate::oauth::{access_token, deny_list};
use crate::oidc::claims::{self, UserClaims};
use crate::users;

/// The claims for the bearer `token`.
pub async fn userinfo(ctx: &Context, token: Option<&str>) -> Result<UserClaims, OAuthError> {
    let token = token
        .ok_or_else(|| OAuthError::bearer_token_required("a bearer access token is required"))?;
    let ring = ctx.key_ring()?;
    let access = access_token::verify(
        &ring,
        token,
        ctx.settings().issuer(),
        ctx.clock().now_secs(),
    )?;
    if deny_list::is_revoked(ctx.store(), &access.jti).await? {
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
    Ok(claims::for_scopes(&user, &scopes))
}
