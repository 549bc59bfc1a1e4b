//! Scope parsing and granting (RFC 6749 §3.3): a request's `scope` is a space-separated list of
//! tokens; every one must be among the client's allowed scopes, and an absent or empty `scope`
//! means the client's default scopes. Order is kept and duplicates dropped, so the granted scope
//! echoed back reads like the request.

use crate::error::{ErrorCode, OAuthError};
use crate::oauth::clients::Client;

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_valid_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// The scopes to grant `client` for a requested `scope` parameter.
pub fn grant(client: &Client, requested: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let requested = requested.map(str::trim).filter(|s| !s.is_empty());
    let Some(requested) = requested else {
        return Ok(client.default_scopes.clone());
    };
    let mut granted: Vec<String> = Vec::new();
    for token in requested.split(' ').filter(|t| !t.is_empty()) {
        if !is_valid_token(token) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "scope contains characters RFC 6749 section 3.3 does not allow",
            ));
        }
        if !client.scopes.iter().any(|allowed| allowed == token) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                format!(
                    "scope `{token}` is not allowed for client `{}`",
                    client.client_id
                ),
            ));
        }
        if !granted.iter().any(|g| g == token) {
            granted.push(token.to_owned());
        }
    }
    Ok(granted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientConfig;

    fn client() -> Client {
        ClientConfig {
            id: "c".into(),
            secret: Some("s".to_owned().into()),
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["a".into(), "b".into(), "c".into()],
            default_scopes: Some(vec!["a".into()]),
            ..ClientConfig::default()
        }
        .to_client_alone()
        .unwrap()
    }

    #[test]
    fn absent_or_empty_scope_means_the_default() {
        assert_eq!(grant(&client(), None).unwrap(), ["a"]);
        assert_eq!(grant(&client(), Some("  ")).unwrap(), ["a"]);
    }

    #[test]
    fn requested_scopes_keep_order_without_duplicates() {
        assert_eq!(grant(&client(), Some("c  a c")).unwrap(), ["c", "a"]);
    }

    #[test]
    fn scopes_outside_the_client_are_invalid_scope() {
        let err = grant(&client(), Some("a admin")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidScope);
        assert!(err.description().unwrap().contains("admin"));
    }

    #[test]
    fn malformed_scope_tokens_are_rejected() {
        assert!(!is_valid_token("a\"b"));
        assert!(!is_valid_token("a\\b"));
        assert!(!is_valid_token("é"));
        assert!(is_valid_token("invoices:read"));
        assert_eq!(
            grant(&client(), Some("a\tb")).unwrap_err().code(),
            ErrorCode::InvalidScope
        );
    }
}
