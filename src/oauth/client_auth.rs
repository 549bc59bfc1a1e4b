//! Client authentication at the token endpoint (RFC 6749 §2.3): HTTP Basic
//! (`client_secret_basic`), body parameters (`client_secret_post`) or `client_id` alone for
//! public clients (`none`). A client must use the one method it is registered for, and exactly
//! one method per request. Every failure says precisely what went wrong — a bare
//! `invalid_client` is the most common support question about authorization servers.

use crate::error::OAuthError;
use crate::oauth::clients::{self, AuthMethod, Client};
use crate::secret::SecretString;
use crate::store::{provisioned, Store};

/// Credentials from the `Authorization: Basic` header, already percent-decoded.
#[derive(Debug, Clone)]
pub struct BasicCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

/// Everything a request offered to identify its client.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentials {
    /// From the `Authorization` header.
    pub basic: Option<BasicCredentials>,
    /// `client_id` body parameter.
    pub client_id: Option<String>,
    /// `client_secret` body parameter.
    pub client_secret: Option<SecretString>,
}

/// Authenticates the client behind `credentials`.
pub async fn authenticate(
    store: &dyn Store,
    credentials: ClientCredentials,
) -> Result<Client, OAuthError> {
    let ClientCredentials {
        basic,
        client_id,
        client_secret,
    } = credentials;
    let client_id = client_id.filter(|id| !id.is_empty());
    let client_secret = client_secret.filter(|secret| !secret.is_empty());
    let (client_id, secret, used) = match (basic, client_id, client_secret) {
        (Some(_), _, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "client credentials were sent both in the Authorization header and in the \
                 request body; use exactly one method",
            ))
        }
        (Some(basic), Some(body_id), None) if body_id != basic.client_id => {
            return Err(OAuthError::invalid_request(
                "client_id in the body differs from the client in the Authorization header",
            ))
        }
        (Some(basic), _, None) => (
            basic.client_id,
            Some(basic.client_secret),
            AuthMethod::ClientSecretBasic,
        ),
        (None, Some(id), Some(secret)) => (id, Some(secret), AuthMethod::ClientSecretPost),
        (None, Some(id), None) => (id, None, AuthMethod::None),
        (None, None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "client_secret was sent without client_id",
            ))
        }
        (None, None, None) => {
            return Err(OAuthError::invalid_client(
                "client authentication is required: send HTTP Basic credentials, or client_id \
                 and client_secret in the body",
            ))
        }
    };
    let Some(client) = clients::find(store, &client_id).await? else {
        // Unless the store lost its data and the client is on its way back (then 503).
        provisioned::confirm_absent(store).await?;
        return Err(OAuthError::invalid_client(format!(
            "client authentication failed: no client is registered as `{client_id}`"
        )));
    };
    if used != client.auth_method {
        let description = match (used, client.auth_method) {
            (AuthMethod::None, registered) => format!(
                "client authentication failed: no client secret was sent but the client is \
                 registered for {}",
                registered.as_str()
            ),
            (_, AuthMethod::None) => format!(
                "client authentication failed: `{client_id}` is a public client and must not \
                 send a secret"
            ),
            (used, registered) => format!(
                "client authentication failed: {} was used but the client is registered for {}",
                used.as_str(),
                registered.as_str()
            ),
        };
        return Err(OAuthError::invalid_client(description));
    }
    if let Some(secret) = secret {
        if !client.secret_matches(secret.expose()) {
            return Err(OAuthError::invalid_client(
                "client authentication failed: the client secret is wrong",
            ));
        }
    }
    Ok(client)
}

#[cfg(test)]
mod tests;
