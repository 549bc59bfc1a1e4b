//! The audience (`aud`) of an access token. A client may ask for one with RFC 8707 `resource`
//! or the widely used `audience` parameter; either must be among the client's registered
//! `audiences` (otherwise `invalid_target`), so no client can mint tokens for a resource server
//! it was not registered for. Without a request the token is for all of the client's audiences,
//! or for ferrid itself (the issuer) when it has none.

use crate::error::{ErrorCode, OAuthError};
use crate::oauth::clients::Client;

/// The audiences of a token for `client`.
pub fn resolve(
    client: &Client,
    resource: Option<&str>,
    audience: Option<&str>,
    issuer: &str,
) -> Result<Vec<String>, OAuthError> {
    let resource = resource.map(str::trim).filter(|s| !s.is_empty());
    let audience = audience.map(str::trim).filter(|s| !s.is_empty());
    let requested = match (resource, audience) {
        (Some(resource), Some(audience)) if resource != audience => {
            return Err(OAuthError::invalid_request(
                "`resource` and `audience` name different targets; send one of them",
            ))
        }
        (Some(target), _) | (None, Some(target)) => Some(target),
        (None, None) => None,
    };
    match requested {
        Some(target) if client.audiences.iter().any(|a| a == target) => Ok(vec![target.to_owned()]),
        Some(target) => Err(OAuthError::new(
            ErrorCode::InvalidTarget,
            format!(
                "client `{}` may not request tokens for `{target}`; register it in the client's audiences",
                client.client_id
            ),
        )),
        None if client.audiences.is_empty() => Ok(vec![issuer.to_owned()]),
        None => Ok(client.audiences.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientConfig;

    fn client(audiences: &[&str]) -> Client {
        ClientConfig {
            id: "c".into(),
            secret: Some("s".to_owned().into()),
            audiences: audiences.iter().map(|a| a.to_string()).collect(),
            ..ClientConfig::default()
        }
        .to_client_alone()
        .unwrap()
    }

    const ISSUER: &str = "https://auth.example.com";

    #[test]
    fn defaults() {
        assert_eq!(resolve(&client(&[]), None, None, ISSUER).unwrap(), [ISSUER]);
        assert_eq!(
            resolve(&client(&["https://a", "https://b"]), None, None, ISSUER).unwrap(),
            ["https://a", "https://b"]
        );
    }

    #[test]
    fn requested_targets_must_be_registered() {
        let c = client(&["https://api.example.com"]);
        assert_eq!(
            resolve(&c, Some("https://api.example.com"), None, ISSUER).unwrap(),
            ["https://api.example.com"]
        );
        assert_eq!(
            resolve(&c, None, Some("https://api.example.com"), ISSUER).unwrap(),
            ["https://api.example.com"]
        );
        let err = resolve(&c, Some("https://evil.example.com"), None, ISSUER).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidTarget);
        let err = resolve(&c, Some("https://api.example.com"), Some("x"), ISSUER).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
    }
}
