//! The parameters revocation (RFC 7009) and introspection (RFC 7662) share: the token and an
//! optional `token_type_hint`, which orders the look-ups but never excludes a kind.

use crate::error::OAuthError;

/// The parameters of a revocation or introspection request.
#[derive(Debug, Clone, Default)]
pub struct TokenOperation {
    pub token: Option<String>,
    pub token_type_hint: Option<String>,
}

impl TokenOperation {
    /// The token, required and non-empty.
    pub fn token(&self) -> Result<&str, OAuthError> {
        self.token
            .as_deref()
            .filter(|token| !token.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("token is required"))
    }
}
