//! Secret values and the primitives around them: a `SecretString` whose `Debug` never prints it,
//! random tokens (256 bits, base64url), SHA-256 digests for client secrets and stored tokens (and
//! the ETags of pre-built documents), constant-time comparison, and the MAC keys derived from the
//! system secret. A fast hash is right here:
//! these inputs are high-entropy and generated, and they sit on the token hot path (user
//! passwords use Argon2id in `users`).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A string that must never reach a log: `Debug` and `Display` print `[redacted]`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `true` when the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// A SHA-256 digest.
pub type Digest256 = [u8; 32];

/// SHA-256 of `value`.
pub fn sha256(value: &[u8]) -> Digest256 {
    Sha256::digest(value).into()
}

/// A strong HTTP `ETag` for `bytes`: the first 132 bits of their SHA-256, base64url, quoted.
pub fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", &URL_SAFE_NO_PAD.encode(sha256(bytes))[..22])
}

/// Compares two digests in constant time.
pub fn digests_equal(a: &Digest256, b: &Digest256) -> bool {
    a.ct_eq(b).into()
}

/// `n` random bytes from the operating system's CSPRNG (`getrandom(2)`). Not aws-lc's generator:
/// aws-lc seeds its process-wide DRBG from CPU-jitter entropy on first use, tens of milliseconds
/// of CPU that would otherwise land on the first request served (its request id) or, without a
/// config file, before ferrid even listens (the demo secret). RSA signing still uses aws-lc's.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut bytes = [0u8; N];
    OsRng.try_fill_bytes(&mut bytes).map_err(|_| RandomError)?;
    Ok(bytes)
}

/// A 256-bit random value, base64url without padding (43 characters): codes, secrets, tokens.
pub fn random_token() -> Result<String, RandomError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// The system random source failed; nothing secret can be made.
#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

/// MAC keys derived from the system secret, one per purpose, the same on every instance that
/// shares the secret.
pub struct DerivedKeys {
    refresh_successor: aws_lc_rs::hmac::Key,
    logout_csrf: aws_lc_rs::hmac::Key,
    client_address: aws_lc_rs::hmac::Key,
    dpop_nonce: aws_lc_rs::hmac::Key,
}

impl DerivedKeys {
    /// The keys for `secret` (`secrets.system`, or a per-process random one on the memory store).
    pub fn from_secret(secret: &str) -> Self {
        let key = |purpose: &str| {
            let material = sha256(format!("ferrid/{purpose}/v1:{secret}").as_bytes());
            aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &material)
        };
        Self {
            refresh_successor: key("refresh-successor"),
            logout_csrf: key("logout-csrf"),
            client_address: key("client-address"),
            dpop_nonce: key("dpop-nonce"),
        }
    }

    /// Derives the successor of a refresh token deterministically, so a replay within the grace
    /// window gets the same successor without ferrid storing any token in plain text.
    pub fn refresh_successor(&self, presented: &str) -> String {
        use base64::Engine;
        let tag = aws_lc_rs::hmac::sign(&self.refresh_successor, presented.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    /// The CSRF token of the logout confirmation form for a session cookie.
    pub fn logout_csrf(&self, session_cookie: &str) -> String {
        use base64::Engine;
        let tag = aws_lc_rs::hmac::sign(&self.logout_csrf, session_cookie.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    /// The MAC of a DPoP server nonce's time window: every instance sharing the system secret
    /// issues and accepts the same nonces without storing any.
    pub fn dpop_nonce_tag(&self, window: u64) -> aws_lc_rs::hmac::Tag {
        aws_lc_rs::hmac::sign(&self.dpop_nonce, &window.to_be_bytes())
    }
}

impl DerivedKeys {
    /// The store's name for a client address: 128 bits of its MAC, base64url (22 characters).
    /// The same on every instance sharing the secret; the address cannot be read back from it.
    pub fn client_address_tag(&self, address: &str) -> String {
        let tag = aws_lc_rs::hmac::sign(&self.client_address, address.as_bytes());
        URL_SAFE_NO_PAD.encode(&tag.as_ref()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_secret() {
        let secret = SecretString::new("hunter2");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn random_tokens_are_256_bit_and_distinct() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn digest_comparison() {
        let a = sha256(b"secret");
        assert!(digests_equal(&a, &sha256(b"secret")));
        assert!(!digests_equal(&a, &sha256(b"Secret")));
    }
}
