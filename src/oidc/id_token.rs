//! ID tokens (OIDC Core §2, §3.1.3.6): RS256 JWTs (`typ: JWT`) for the client (`aud` = `azp` =
//! client id) naming the user by stable id, with `auth_time`, `amr`, the session's `sid`, the
//! request's `nonce`, and `at_hash` binding the access token issued beside it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::OAuthError;
use crate::keys::{KeyRing, TokenType};
use crate::secret::sha256;

/// ID token claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub azp: String,
    pub exp: u64,
    pub iat: u64,
    pub auth_time: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub at_hash: String,
    pub amr: Vec<String>,
    pub sid: String,
}

/// OIDC Core §3.1.3.6: base64url of the left half of SHA-256 over the access token's ASCII.
pub fn at_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(&sha256(access_token.as_bytes())[..16])
}

/// Signs an ID token with the ring's active key.
pub fn mint(ring: &KeyRing, claims: &IdTokenClaims) -> Result<String, OAuthError> {
    ring.sign(TokenType::IdToken, claims)
        .map_err(OAuthError::server_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_sha256() {
        // OIDC Core Appendix A.3 example.
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
