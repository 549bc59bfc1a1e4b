//! RSA key material: generation and parsing with the `rsa` crate (never used to sign), the
//! public JWK members `n`/`e`, and the RFC 7638 thumbprint that becomes each key's `kid`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use zeroize::Zeroizing;

use super::KeyError;
use crate::secret::sha256;

/// Default modulus size.
pub const DEFAULT_BITS: usize = 2048;
/// Modulus sizes ferrid generates and imports.
pub const ALLOWED_BITS: [usize; 3] = [2048, 3072, 4096];

/// Generates an RSA private key and returns it as PKCS#8 DER. Slow (CPU-bound, up to a second):
/// call from a blocking thread.
pub fn generate_pkcs8(bits: usize) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits)
        .map_err(|err| KeyError::Invalid(format!("RSA key generation failed: {err}")))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|err| KeyError::Invalid(format!("PKCS#8 encoding failed: {err}")))?;
    Ok(Zeroizing::new(der.as_bytes().to_vec()))
}

/// Parses a PEM private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`) into PKCS#8 DER.
pub fn pkcs8_from_pem(pem: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let key = RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
        .map_err(|err| KeyError::Invalid(format!("not an RSA private key in PEM: {err}")))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|err| KeyError::Invalid(format!("PKCS#8 encoding failed: {err}")))?;
    Ok(Zeroizing::new(der.as_bytes().to_vec()))
}

/// The modulus size of a PKCS#8 RSA key, in bits.
pub fn modulus_bits(pkcs8: &[u8]) -> Result<usize, KeyError> {
    let key = RsaPrivateKey::from_pkcs8_der(pkcs8)
        .map_err(|err| KeyError::Invalid(format!("not a PKCS#8 RSA key: {err}")))?;
    Ok(key.n().bits())
}

/// PKCS#8 DER as PEM, for the `keys/` directory.
pub fn pkcs8_to_pem(pkcs8: &[u8]) -> Result<Zeroizing<String>, KeyError> {
    let key = RsaPrivateKey::from_pkcs8_der(pkcs8)
        .map_err(|err| KeyError::Invalid(format!("not a PKCS#8 RSA key: {err}")))?;
    key.to_pkcs8_pem(LineEnding::LF)
        .map_err(|err| KeyError::Invalid(format!("PEM encoding failed: {err}")))
}

/// The public members of an RSA JWK, base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublicJwk {
    /// Modulus.
    pub n: String,
    /// Public exponent.
    pub e: String,
}

impl RsaPublicJwk {
    /// Extracts the public key from PKCS#8 DER.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, KeyError> {
        let key = RsaPrivateKey::from_pkcs8_der(pkcs8)
            .map_err(|err| KeyError::Invalid(format!("not a PKCS#8 RSA key: {err}")))?;
        Ok(Self {
            n: URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        })
    }

    /// RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order, with no
    /// whitespace, base64url.
    pub fn thumbprint(&self) -> String {
        let canonical = format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, self.e, self.n);
        URL_SAFE_NO_PAD.encode(sha256(canonical.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let jwk = RsaPublicJwk {
            n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into(),
            e: "AQAB".into(),
        };
        assert_eq!(
            jwk.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
