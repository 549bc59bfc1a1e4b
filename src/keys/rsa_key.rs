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

/// The key types ferrid signs with, as errors about other keys name them.
pub const SUPPORTED_KEYS: &str = "only RSA private keys are supported (2048, 3072 or 4096 bits; \
     PEM as PKCS#8 `BEGIN PRIVATE KEY` or PKCS#1 `BEGIN RSA PRIVATE KEY`)";

/// Parses a PEM private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`) into PKCS#8 DER.
/// Any other kind of key is refused with an error that names it and the supported types.
pub fn pkcs8_from_pem(pem: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let key = RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
        .map_err(|err| {
            KeyError::Invalid(match other_key_type(pem) {
                Some(kind) => format!("this is {kind}: {SUPPORTED_KEYS}"),
                None => format!("not an RSA private key in PEM ({SUPPORTED_KEYS}): {err}"),
            })
        })?;
    let der = key
        .to_pkcs8_der()
        .map_err(|err| KeyError::Invalid(format!("PKCS#8 encoding failed: {err}")))?;
    Ok(Zeroizing::new(der.as_bytes().to_vec()))
}

/// Names a PEM block that is not an RSA private key, from its label or, for PKCS#8, from the
/// algorithm it declares; `None` when it claims to be RSA (then its parse error is the news).
fn other_key_type(pem: &str) -> Option<String> {
    let label = pem.lines().find_map(|line| {
        line.trim()
            .strip_prefix("-----BEGIN ")?
            .strip_suffix("-----")
    })?;
    let kind = match label {
        "RSA PRIVATE KEY" => return None,
        "PRIVATE KEY" => return pkcs8_algorithm(pem, label),
        "EC PRIVATE KEY" => "an EC private key (SEC1)",
        "ENCRYPTED PRIVATE KEY" => {
            "an encrypted PKCS#8 key (decrypt it first, e.g. `openssl pkcs8 -in key.pem -out \
             plain.pem`)"
        }
        "OPENSSH PRIVATE KEY" => "an OpenSSH private key",
        "DSA PRIVATE KEY" => "a DSA private key",
        "PUBLIC KEY" | "RSA PUBLIC KEY" | "CERTIFICATE" => "a public key or certificate",
        other => return Some(format!("a `{other}` PEM block")),
    };
    Some(kind.to_owned())
}

fn pkcs8_algorithm(pem: &str, label: &str) -> Option<String> {
    // Decoded leniently (any line length), as the point is only to name the key.
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = pem.split_once(&begin)?.1.split_once(&end)?.0;
    let base64: Zeroizing<String> = Zeroizing::new(body.split_whitespace().collect());
    let der = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(base64.as_bytes())
            .ok()?,
    );
    let info = rsa::pkcs8::PrivateKeyInfo::try_from(der.as_slice()).ok()?;
    let kind = match info.algorithm.oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => return None,
        "1.2.840.10045.2.1" => {
            let curve = info
                .algorithm
                .parameters_oid()
                .ok()
                .map(|oid| oid.to_string());
            let name = match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => " (P-256)",
                Some("1.3.132.0.34") => " (P-384)",
                Some("1.3.132.0.35") => " (P-521)",
                Some("1.3.132.0.10") => " (secp256k1)",
                _ => "",
            };
            return Some(format!("an EC private key{name}"));
        }
        "1.3.101.112" => "an Ed25519 private key",
        "1.3.101.113" => "an Ed448 private key",
        "1.3.101.110" | "1.3.101.111" => "an X25519/X448 key-agreement key",
        "1.2.840.113549.1.1.10" => "an RSASSA-PSS key (RSA restricted to PSS)",
        "1.2.840.10040.4.1" => "a DSA private key",
        other => return Some(format!("a PKCS#8 key of algorithm {other}")),
    };
    Some(kind.to_owned())
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

    fn pem(label: &str, der: &[u8]) -> String {
        use base64::engine::general_purpose::STANDARD;
        let body = STANDARD.encode(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|chunk| std::str::from_utf8(chunk).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    #[test]
    fn other_key_types_are_named_with_the_supported_ones() {
        use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let p384 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
        let ed25519 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        for (pem, kind) in [
            (
                pem("PRIVATE KEY", p384.as_ref()),
                "an EC private key (P-384)",
            ),
            (
                pem("PRIVATE KEY", ed25519.as_ref()),
                "an Ed25519 private key",
            ),
            (
                pem("EC PRIVATE KEY", b"not parsed"),
                "an EC private key (SEC1)",
            ),
            (pem("OPENSSH PRIVATE KEY", b"x"), "an OpenSSH private key"),
        ] {
            let err = pkcs8_from_pem(&pem).unwrap_err().to_string();
            assert!(err.contains(kind), "{err}");
            assert!(err.contains("only RSA private keys are supported"), "{err}");
        }
        let err = pkcs8_from_pem(&pem("RSA PRIVATE KEY", b"garbage"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not an RSA private key"), "{err}");
    }

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
