//! Token revocation (RFC 7009): an authenticated client revokes one of its own tokens. A refresh
//! token revokes its whole family (and the access tokens it issued); an access token's `jti`
//! goes onto the deny-list until it would have expired. A token of another client, an unknown,
//! expired or malformed token revokes nothing and still succeeds (§2.2), so the endpoint reveals
//! nothing about tokens a client does not own.

use crate::app::App;
use crate::error::OAuthError;
use crate::oauth::clients::Client;
use crate::oauth::{refresh, revocation, tokens};

/// Revokes `token` if `client` owns it.
pub async fn revoke(
    app: &App,
    client: &Client,
    token: &str,
    hint: Option<&str>,
) -> Result<(), OAuthError> {
    // The hint only orders the look-ups (RFC 7009 §2.1); both kinds are always tried.
    let refresh_first = hint == Some("refresh_token");
    let mut revoked = false;
    for refresh_turn in [refresh_first, !refresh_first] {
        revoked = if refresh_turn {
            revoke_refresh_token(app, client, token).await?
        } else {
            revoke_access_token(app, client, token).await?
        };
        if revoked {
            break;
        }
    }
    tracing::info!(
        target: "ferrid::audit",
        event = "token_revocation",
        client_id = %client.client_id,
        outcome = if revoked { "revoked" } else { "nothing to revoke" },
        "revocation request"
    );
    Ok(())
}

async fn revoke_access_token(app: &App, client: &Client, token: &str) -> Result<bool, OAuthError> {
    if token.split('.').count() != 3 {
        return Ok(false);
    }
    let ring = app.key_ring()?;
    let now = app.clock().now_secs();
    match tokens::verify(&ring, token, app.settings().issuer(), now) {
        Ok(claims) if claims.client_id == client.client_id => {
            revocation::revoke_access_token(app.store(), &claims.jti, claims.exp, now).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

async fn revoke_refresh_token(app: &App, client: &Client, token: &str) -> Result<bool, OAuthError> {
    match refresh::inspect(app, token).await? {
        Some((family, _)) if family.client_id == client.client_id => {
            refresh::revoke_family(app, &family.id).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}
