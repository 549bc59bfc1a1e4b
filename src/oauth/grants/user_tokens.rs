//! The tokens a person's grant yields, shared by the authorization code and refresh token
//! grants: an RFC 9068 access token for the user (with `roles` when that scope is granted) and,
//! for OpenID grants, an ID token bound to it by `at_hash`.

use crate::context::Context;
use crate::error::OAuthError;
use crate::keys::KeyRing;
use crate::oauth::access_token::{self, AccessToken, AccessTokenRequest, Confirmation};
use crate::oauth::clients::Client;
use crate::oidc::id_token::{self, IdTokenClaims};
use crate::users::User;

/// How and when the person authenticated, for the ID token.
pub struct Authentication<'a> {
    pub auth_time: u64,
    pub amr: &'a [String],
    pub sid: &'a str,
    pub nonce: Option<&'a str>,
}

/// Access token and, for `openid`, ID token.
pub struct UserTokens {
    pub access: AccessToken,
    pub id_token: Option<String>,
}

/// Mints the tokens for `user` and `client` with `scopes`; the access token names `family`, the
/// refresh-token family it comes from, when the grant has one.
#[allow(clippy::too_many_arguments)]
pub fn mint(
    ctx: &Context,
    ring: &KeyRing,
    client: &Client,
    user: &User,
    scopes: &[String],
    audiences: Vec<String>,
    jti: String,
    authentication: Authentication<'_>,
    cnf: Option<Confirmation>,
    family: Option<&str>,
) -> Result<UserTokens, OAuthError> {
    let settings = ctx.settings();
    let now = ctx.clock().now_secs();
    let ttl_secs = settings.tokens.access_token_ttl_secs;
    let has = |scope: &str| scopes.iter().any(|s| s == scope);
    let access = access_token::mint(
        ring,
        AccessTokenRequest {
            jti,
            issuer: settings.issuer(),
            subject: &user.id,
            client_id: &client.client_id,
            audiences,
            scopes,
            roles: has("roles").then(|| user.roles.clone()),
            issued_at: now,
            ttl_secs,
            cnf,
            family,
        },
    )?;
    let id_token = if has("openid") {
        let claims = IdTokenClaims {
            iss: settings.issuer().to_owned(),
            sub: user.id.clone(),
            aud: client.client_id.clone(),
            azp: client.client_id.clone(),
            exp: now + ttl_secs,
            iat: now,
            auth_time: authentication.auth_time,
            nonce: authentication.nonce.map(str::to_owned),
            at_hash: id_token::at_hash(&access.token),
            amr: authentication.amr.to_vec(),
            sid: authentication.sid.to_owned(),
        };
        Some(id_token::mint(ring, &claims)?)
    } else {
        None
    };
    Ok(UserTokens { access, id_token })
}
