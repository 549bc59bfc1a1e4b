//! The refresh token grant (RFC 6749 §6): once the request is known to be valid, rotate the
//! presented refresh token (see `oauth::refresh_family`), then issue a new access token — for the
//! family's scopes or a subset the request narrows to, never more — and, for OpenID grants, a
//! new ID token.

use async_trait::async_trait;

use crate::context::Context;
use crate::error::{ErrorCode, OAuthError};
use crate::oauth::clients::Client;
use crate::oauth::dpop::Proof;
use crate::oauth::grants::user_tokens::{self, Authentication};
use crate::oauth::grants::{self, Grant, GrantType, TokenParameters, TokenSet, TokenType};
use crate::oauth::refresh_family;
use crate::oauth::{access_token, audience};
use crate::telemetry::{self, AuditEvent};
use crate::users;

/// The refresh token grant.
pub struct RefreshTokenGrant;

#[async_trait]
impl Grant for RefreshTokenGrant {
    fn grant_type(&self) -> GrantType {
        GrantType::RefreshToken
    }

    /// Exchanges a refresh token for fresh tokens.
    async fn exchange(
        &self,
        ctx: &Context,
        client: &Client,
        params: &TokenParameters,
        dpop: Option<&Proof>,
    ) -> Result<TokenSet, OAuthError> {
        let presented = params.require("refresh_token")?;
        let ring = ctx.key_ring()?;
        // RFC 6749 §6: the request is checked against the grant before the token rotates, so a
        // bad `scope` or `resource` never uses the refresh token up.
        let (refreshed, (scopes, audiences)) =
            refresh_family::refresh(ctx, client, presented, |family| {
                check_binding(family.jkt.as_deref(), dpop)?;
                let scopes = narrow(&family.scopes, params.get("scope"))?;
                let audiences = audience::resolve(
                    client,
                    params.get("resource"),
                    params.get("audience"),
                    ctx.settings().issuer(),
                )?;
                Ok((scopes, audiences))
            })
            .await?;
        let family = &refreshed.family;
        let user = users::find_by_id(ctx.store(), &family.user_id)
            .await?
            .ok_or_else(|| OAuthError::invalid_grant("the user of this grant no longer exists"))?;
        let authentication = Authentication {
            auth_time: family.auth_time,
            amr: &family.amr,
            sid: &family.sid,
            nonce: None,
        };
        let issued = user_tokens::mint(
            ctx,
            &ring,
            client,
            &user,
            &scopes,
            audiences,
            access_token::new_jti()?,
            authentication,
            grants::confirmation(dpop),
            Some(&family.id),
        )?;
        let claims = &issued.access.claims;
        telemetry::record(AuditEvent::TokenIssued {
            grant_type: GrantType::RefreshToken.as_str(),
            client_id: &client.client_id,
            sub: &user.id,
            jti: &claims.jti,
        });
        Ok(TokenSet {
            access_token: issued.access.token,
            token_type: TokenType::for_proof(dpop),
            expires_in: ctx.settings().tokens.access_token_ttl_secs,
            scope: scopes.join(" "),
            id_token: issued.id_token,
            refresh_token: Some(refreshed.refresh_token),
            dpop_nonce: None,
        })
    }
}

/// RFC 9449 §5: a refresh token bound to a DPoP key (a public client's) is refreshed only with
/// a proof by that key. Without a proof the request lacks what it needs (`invalid_dpop_proof`);
/// with another key's, the grant is not this key's (`invalid_grant`). Either way nothing rotates.
fn check_binding(bound: Option<&str>, dpop: Option<&Proof>) -> Result<(), OAuthError> {
    match (bound, dpop) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(OAuthError::invalid_dpop_proof(
            "the refresh token is bound to a DPoP key: send a DPoP proof signed with it",
        )),
        (Some(jkt), Some(proof)) if proof.jkt == jkt => Ok(()),
        (Some(_), Some(_)) => Err(OAuthError::invalid_grant(
            "the refresh token is bound to another DPoP key than the proof's",
        )),
    }
}

/// RFC 6749 §6: a refresh may ask for fewer scopes than granted, never more.
fn narrow(granted: &[String], requested: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let Some(requested) = requested.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(granted.to_vec());
    };
    let mut scopes: Vec<String> = Vec::new();
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        if !granted.iter().any(|g| g == scope) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                format!("scope `{scope}` was not granted; a refresh can only narrow the scope"),
            ));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::narrow;

    #[test]
    fn scopes_narrow_but_never_widen() {
        let granted = vec!["openid".to_owned(), "email".to_owned()];
        assert_eq!(narrow(&granted, None).unwrap(), granted);
        assert_eq!(narrow(&granted, Some("email")).unwrap(), ["email"]);
        assert!(narrow(&granted, Some("email admin")).is_err());
    }
}
