//! One key of the ring, parsed once: the aws-lc key pair that signs and the aws-lc public key that
//! verifies (neither re-parsed per token: building an RSA key costs more than using it), the
//! public JWK members, a `jsonwebtoken` decoding key for the claim checks, and the pre-encoded
//! JWS headers. Algorithm-specific parts sit behind `KeyPair`, so another algorithm
//! adds a variant there rather than a new kind of ring.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    KeyPair as _, ParsedPublicKey, RsaKeyPair, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::DecodingKey;

use super::material::{Algorithm, KeyMaterial, KeyState, Lifecycle, ScheduledKey};
use super::rsa_key::RsaPublicJwk;
use super::{KeyError, TokenType};

/// The algorithm-specific half of a key.
enum KeyPair {
    Rsa {
        pair: RsaKeyPair,
        public: RsaPublicJwk,
    },
}

/// The public members of a JWK, tagged by `kty`; an EC or OKP key would add a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kty")]
pub enum PublicMembers<'a> {
    /// RFC 7518 §6.3.1: modulus and exponent, base64url.
    #[serde(rename = "RSA")]
    Rsa { n: &'a str, e: &'a str },
}

/// One parsed key, ready to sign and to verify.
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    lifecycle: Lifecycle,
    pair: KeyPair,
    verifier: ParsedPublicKey,
    decoding: DecodingKey,
    access_token_header: String,
    id_token_header: String,
}

impl SigningKey {
    /// Parses persisted material once.
    pub fn from_material(material: &KeyMaterial) -> Result<Self, KeyError> {
        let (pair, verifier, decoding) = match material.alg {
            Algorithm::Rs256 => {
                let pair = RsaKeyPair::from_pkcs8(&material.pkcs8)
                    .map_err(|err| KeyError::Invalid(format!("aws-lc rejected the key: {err}")))?;
                let public = RsaPublicJwk::from_pkcs8(&material.pkcs8)?;
                if public.thumbprint() != material.kid {
                    return Err(KeyError::Invalid(format!(
                        "key {} does not match its kid (thumbprint {})",
                        material.kid,
                        public.thumbprint()
                    )));
                }
                let verifier =
                    ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pair.public_key().as_ref())
                        .map_err(|err| {
                        KeyError::Invalid(format!("aws-lc rejected the public key: {err}"))
                    })?;
                let decoding = DecodingKey::from_rsa_components(&public.n, &public.e)
                    .map_err(|err| KeyError::Invalid(err.to_string()))?;
                (KeyPair::Rsa { pair, public }, verifier, decoding)
            }
        };
        let header = |typ: &str| {
            let json = format!(
                r#"{{"alg":"{}","typ":"{typ}","kid":"{}"}}"#,
                material.alg.as_str(),
                material.kid
            );
            URL_SAFE_NO_PAD.encode(json)
        };
        Ok(Self {
            kid: material.kid.clone(),
            alg: material.alg,
            lifecycle: material.lifecycle,
            access_token_header: header("at+jwt"),
            id_token_header: header("JWT"),
            pair,
            verifier,
            decoding,
        })
    }

    /// The key id (RFC 7638 thumbprint).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWS algorithm this key signs with, as its `alg` name.
    pub fn alg(&self) -> &'static str {
        self.alg.as_str()
    }

    /// The JWS algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Lifecycle state.
    pub fn state(&self) -> KeyState {
        self.lifecycle.state
    }

    /// State and transition times.
    pub fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }

    /// Creation time, seconds since the epoch.
    pub fn created_at(&self) -> u64 {
        self.lifecycle.created_at
    }

    /// The key-type-specific public members of its JWK (RFC 7518 §6).
    pub fn public_members(&self) -> PublicMembers<'_> {
        match &self.pair {
            KeyPair::Rsa { public, .. } => PublicMembers::Rsa {
                n: &public.n,
                e: &public.e,
            },
        }
    }

    /// Whether `signature` is this key's signature of `message` (the JWS signing input).
    pub(super) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verifier.verify_sig(message, signature).is_ok()
    }

    /// The key `jsonwebtoken` decodes and checks claims with (after `verifies`).
    pub(super) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// Signs `payload` (JSON bytes) as a compact JWS of type `typ`.
    pub(super) fn sign(
        &self,
        rng: &SystemRandom,
        typ: TokenType,
        payload: &[u8],
    ) -> Result<String, KeyError> {
        let header = match typ {
            TokenType::AccessToken => &self.access_token_header,
            TokenType::IdToken => &self.id_token_header,
        };
        match &self.pair {
            KeyPair::Rsa { pair, .. } => {
                let modulus_len = pair.public_modulus_len();
                let mut jws = String::with_capacity(
                    header.len() + payload.len() * 4 / 3 + modulus_len * 4 / 3 + 8,
                );
                jws.push_str(header);
                jws.push('.');
                URL_SAFE_NO_PAD.encode_string(payload, &mut jws);
                let mut signature = vec![0u8; modulus_len];
                pair.sign(&RSA_PKCS1_SHA256, rng, jws.as_bytes(), &mut signature)
                    .map_err(|_| KeyError::Sign)?;
                jws.push('.');
                URL_SAFE_NO_PAD.encode_string(&signature, &mut jws);
                Ok(jws)
            }
        }
    }
}

impl ScheduledKey for SigningKey {
    fn kid(&self) -> &str {
        &self.kid
    }

    fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }
}
