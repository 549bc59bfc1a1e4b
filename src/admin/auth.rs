//! Who may call the admin API: the holder of an access token this ferrid issued (RS256 by its
//! key ring, `typ: at+jwt`, its issuer, not expired, not revoked) whose audience is ferrid itself
//! and whose scope includes `admin` — typically a client granted `admin` in the config, through
//! client credentials. The token's client must still exist and still hold `admin`, so removing
//! the scope or the client takes effect at once, not when its tokens expire. No token is 401
//! with a bare `Bearer` challenge, an invalid one 401 `invalid_token`, a token without `admin`
//! 403 `insufficient_scope` (RFC 6750 §3.1).

use super::{Actor, AdminError};
use crate::context::Context;
use crate::error::{ErrorCode, OAuthError};
use crate::oauth::access_token::{self, Audience};
use crate::oauth::scope_catalog::ADMIN_SCOPE;
use crate::oauth::{clients, deny_list};

fn insufficient() -> AdminError {
    AdminError::Auth(OAuthError::new(
        ErrorCode::InsufficientScope,
        format!("the admin API needs an access token with the `{ADMIN_SCOPE}` scope"),
    ))
}

/// The actor behind the bearer `token`, if it may administer this ferrid.
pub async fn authorize(ctx: &Context, token: Option<&str>) -> Result<Actor, AdminError> {
    let token = token.ok_or_else(|| {
        OAuthError::bearer_token_required("the admin API needs a bearer access token")
    })?;
    let ring = ctx.key_ring()?;
    let issuer = ctx.settings().issuer();
    let claims = access_token::verify(&ring, token, issuer, ctx.clock().now_secs())?;
    if deny_list::is_revoked(ctx.store(), &claims.jti, claims.fid.as_deref()).await? {
        return Err(OAuthError::invalid_token("the access token was revoked").into());
    }
    // RFC 9449 §7.2: a DPoP-bound token is never accepted as a plain bearer token, and the admin
    // API takes bearer tokens only, so a bound token is refused here rather than downgraded.
    if claims.cnf.is_some() {
        return Err(OAuthError::invalid_token(
            "the access token is DPoP-bound; the admin API takes unbound bearer tokens only",
        )
        .into());
    }
    // Administration is a client's privilege, granted in its registration: only the client's
    // own token (client credentials, `sub` = `client_id`) may use it. A person logging in
    // through a client that holds `admin` does not become an administrator.
    if claims.sub != claims.client_id {
        return Err(AdminError::Auth(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the admin API takes a client's own token (client credentials), not a person's",
        )));
    }
    // RFC 9068 §4: a resource server accepts only tokens meant for it; ferrid's admin API is
    // the issuer itself.
    let for_ferrid = match &claims.aud {
        Audience::One(one) => one == issuer,
        Audience::Many(many) => many.iter().any(|aud| aud == issuer),
    };
    if !for_ferrid {
        return Err(OAuthError::invalid_token(format!(
            "the access token's audience is not {issuer}"
        ))
        .into());
    }
    if !claims.scope.split(' ').any(|scope| scope == ADMIN_SCOPE) {
        return Err(insufficient());
    }
    let client = clients::find(ctx.store(), &claims.client_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_token("the access token's client no longer exists"))?;
    if !client.scopes.iter().any(|scope| scope == ADMIN_SCOPE) {
        return Err(insufficient());
    }
    Ok(Actor::token(&claims.client_id, &claims.sub))
}
