//! PKCE (RFC 7636). ferrid accepts only `S256`: `plain` offers no protection against a stolen
//! code and is rejected. A challenge is 43 base64url characters (a SHA-256 digest); a verifier is
//! 43–128 unreserved characters (§4.1). The comparison is constant-time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::secret::sha256;

/// Checks `code_challenge` / `code_challenge_method` from an authorization request.
pub fn check_challenge(challenge: &str, method: Option<&str>) -> Result<(), String> {
    match method {
        None | Some("S256") => {}
        Some("plain") => return Err("code_challenge_method plain is not allowed; use S256".into()),
        Some(other) => {
            return Err(format!(
                "code_challenge_method `{other}` is not supported; use S256"
            ))
        }
    }
    let valid = challenge.len() == 43
        && URL_SAFE_NO_PAD
            .decode(challenge)
            .is_ok_and(|digest| digest.len() == 32);
    if valid {
        Ok(())
    } else {
        Err(
            "code_challenge must be the base64url SHA-256 of the code_verifier (43 characters)"
                .into(),
        )
    }
}

/// Whether `verifier` matches the S256 `challenge`.
pub fn verify(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()));
    subtle::ConstantTimeEq::ct_eq(computed.as_bytes(), challenge.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_example_verifies() {
        assert!(check_challenge(CHALLENGE, Some("S256")).is_ok());
        assert!(check_challenge(CHALLENGE, None).is_ok());
        assert!(verify(VERIFIER, CHALLENGE));
    }

    #[test]
    fn wrong_or_malformed_verifiers_fail() {
        assert!(!verify(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx",
            CHALLENGE
        ));
        assert!(!verify("short", CHALLENGE));
        assert!(!verify(&format!("{VERIFIER}!"), CHALLENGE));
    }

    #[test]
    fn plain_and_malformed_challenges_are_rejected() {
        assert!(check_challenge(CHALLENGE, Some("plain"))
            .unwrap_err()
            .contains("plain"));
        assert!(check_challenge("abc", Some("S256")).is_err());
        assert!(check_challenge(CHALLENGE, Some("S512")).is_err());
    }
}
