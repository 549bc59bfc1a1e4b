//! The public key a DPoP proof carries in its `jwk` header (RFC 9449 §4.2): parsed once into the
//! bytes aws-lc verifies with, its RFC 7638 thumbprint (the `jkt` tokens are bound to) computed
//! from the same members. Only the key types of the supported algorithms are accepted, and a
//! `jwk` with a private member is refused: a client that publishes its private key in every
//! request has no proof of possession left to give.

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use crate::secret::sha256;

/// The algorithms a proof may be signed with (RFC 9449 §4.2: asymmetric only, never `none`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofAlgorithm {
    /// ECDSA P-256 with SHA-256, signature `r || s` (RFC 7518 §3.4).
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, keys of 2048 bits or more.
    Rs256,
    /// RSASSA-PSS with SHA-256, keys of 2048 bits or more.
    Ps256,
    /// Ed25519 (RFC 8037).
    EdDsa,
}

impl ProofAlgorithm {
    /// The algorithm named by a JWS `alg`.
    pub fn parse(alg: &str) -> Option<Self> {
        match alg {
            "ES256" => Some(Self::Es256),
            "RS256" => Some(Self::Rs256),
            "PS256" => Some(Self::Ps256),
            "EdDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }
}

/// JWK members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4;
/// RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A proof's public key, decoded and ready to verify with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofKey {
    material: Material,
    thumbprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Material {
    /// The uncompressed P-256 point `04 || x || y`.
    P256(Vec<u8>),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Ed25519(Vec<u8>),
}

impl ProofKey {
    /// Parses `jwk` as a public key of the kind `alg` signs with.
    pub fn parse(jwk: &Map<String, Value>, alg: ProofAlgorithm) -> Result<Self, String> {
        if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| jwk.contains_key(**m)) {
            return Err(format!(
                "the jwk is not a public key: it has the private member `{member}`"
            ));
        }
        let text = |name: &str| -> Result<&str, String> {
            jwk.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("the jwk has no `{name}`"))
        };
        let bytes = |name: &str| -> Result<Vec<u8>, String> {
            URL_SAFE_NO_PAD
                .decode(text(name)?)
                .map_err(|_| format!("the jwk's `{name}` is not base64url"))
        };
        let kty = text("kty")?;
        let (expected_kty, expected_crv) = match alg {
            ProofAlgorithm::Es256 => ("EC", Some("P-256")),
            ProofAlgorithm::Rs256 | ProofAlgorithm::Ps256 => ("RSA", None),
            ProofAlgorithm::EdDsa => ("OKP", Some("Ed25519")),
        };
        if kty != expected_kty {
            return Err(format!(
                "the jwk is a `{kty}` key, but the proof's alg needs `{expected_kty}`"
            ));
        }
        if let Some(crv) = expected_crv {
            let actual = text("crv")?;
            if actual != crv {
                return Err(format!(
                    "the jwk's curve is `{actual}`; the proof's alg needs `{crv}`"
                ));
            }
        }
        // RFC 7638 §3.2: the thumbprint covers exactly the required members, in lexicographic
        // order, with their values as given (the base64url decoder refuses non-canonical text,
        // so "as given" and "canonical" agree).
        let (material, canonical) = match alg {
            ProofAlgorithm::Es256 => {
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err("the jwk's P-256 coordinates must be 32 bytes each".into());
                }
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let canonical = format!(
                    r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                    text("x")?,
                    text("y")?
                );
                (Material::P256(point), canonical)
            }
            ProofAlgorithm::Rs256 | ProofAlgorithm::Ps256 => {
                let (n, e) = (bytes("n")?, bytes("e")?);
                if n.len() < 256 {
                    return Err("the jwk's RSA modulus is shorter than 2048 bits".into());
                }
                if n.len() > 1024 {
                    return Err("the jwk's RSA modulus is longer than 8192 bits".into());
                }
                let canonical = format!(
                    r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                    text("e")?,
                    text("n")?
                );
                (Material::Rsa { n, e }, canonical)
            }
            ProofAlgorithm::EdDsa => {
                let x = bytes("x")?;
                if x.len() != 32 {
                    return Err("the jwk's Ed25519 key must be 32 bytes".into());
                }
                let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, text("x")?);
                (Material::Ed25519(x), canonical)
            }
        };
        Ok(Self {
            material,
            thumbprint: URL_SAFE_NO_PAD.encode(sha256(canonical.as_bytes())),
        })
    }

    /// The RFC 7638 SHA-256 thumbprint, base64url: the `jkt` a token is bound to.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// Whether `signature` is this key's `alg` signature of `message`.
    pub fn verifies(&self, alg: ProofAlgorithm, message: &[u8], signature: &[u8]) -> bool {
        match (&self.material, alg) {
            (Material::P256(point), ProofAlgorithm::Es256) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature)
                    .is_ok()
            }
            (Material::Rsa { n, e }, ProofAlgorithm::Rs256 | ProofAlgorithm::Ps256) => {
                let params = if alg == ProofAlgorithm::Rs256 {
                    &signature::RSA_PKCS1_2048_8192_SHA256
                } else {
                    &signature::RSA_PSS_2048_8192_SHA256
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, message, signature)
                    .is_ok()
            }
            (Material::Ed25519(x), ProofAlgorithm::EdDsa) => {
                UnparsedPublicKey::new(&signature::ED25519, x)
                    .verify(message, signature)
                    .is_ok()
            }
            _ => false,
        }
    }
}
