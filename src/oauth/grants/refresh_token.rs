//! The refresh token grant (RFC 6749 §6): rotate the presented refresh token (see
//! `oauth::refresh`), then issue a new access token — for the family's scopes or a subset the
//! request narrows to, never more — and, for OpenID grants, a new ID token.

use crate::app::App;
use crate::error::{ErrorCode, OAuthError};
use crate::oauth::clients::Client;
use crate::oauth::grants::user_tokens::{self, Authentication};
use crate::oauth::refresh::{self, IssuedAccessToken};
use crate::oauth::token::{TokenRequest, TokenSet};
use crate::oauth::{audience, tokens};
use crate::users;

/// Exchanges a refresh token for fresh tokens.
pub async fn grant(
    app: &App,
    client: &Client,
    request: &TokenRequest,
) -> Result<TokenSet, OAuthError> {
    let presented = request
        .refresh_token
        .as_deref()
        .filter(|token| !token.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let ring = app.key_ring()?;
    let refreshed = refresh::refresh(app, client, presented).await?;
    let family = &refreshed.family;
    let scopes = narrow(&family.scopes, request.scope.as_deref())?;
    let user = users::find_by_id(app.store(), &family.user_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the user of this grant no longer exists"))?;
    let audiences = audience::resolve(
        client,
        request.resource.as_deref(),
        request.audience.as_deref(),
        app.settings().issuer(),
    )?;
    let authentication = Authentication {
        auth_time: family.auth_time,
        amr: &family.amr,
        sid: &family.sid,
        nonce: None,
    };
    let issued = user_tokens::mint(
        app,
        &ring,
        client,
        &user,
        &scopes,
        audiences,
        tokens::new_jti()?,
        authentication,
    )?;
    let claims = &issued.access.claims;
    refresh::record_access_token(
        app,
        family,
        IssuedAccessToken {
            jti: claims.jti.clone(),
            exp: claims.exp,
        },
    )
    .await?;
    tracing::info!(
        target: "ferrid::audit",
        event = "token_issued",
        grant_type = "refresh_token",
        client_id = %client.client_id,
        sub = %user.id,
        jti = %claims.jti,
        "access token issued"
    );
    Ok(TokenSet {
        access_token: issued.access.token,
        token_type: "Bearer",
        expires_in: app.settings().tokens.access_token_ttl_secs,
        scope: scopes.join(" "),
        id_token: issued.id_token,
        refresh_token: Some(refreshed.refresh_token),
    })
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
