//! The key ring: every signing key ferrid knows, each parsed once into an aws-lc `RsaKeyPair`
//! (signing never re-parses a key), with the JWKS bytes and ETag pre-built whenever the ring
//! changes. The ring is immutable; a change builds a new one, swapped in by `App`.
//!
//! Keys move `next` (published, not signing) → `active` (signing; exactly one) → `retired`
//! (published, not signing). `persist` keeps the ring in `keys/` (memory store) or, sealed under
//! the system secret, in the store (Redis). `alg` is fixed by ferrid (RS256), never read from a
//! token header.

pub mod jwks;
pub mod persist;
pub mod rsa_key;
pub mod sealed;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use rsa_key::RsaPublicJwk;

/// Why a key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Key material is malformed or of the wrong kind.
    #[error("invalid key: {0}")]
    Invalid(String),
    /// The ring breaks an invariant (no active key, duplicate kid, ...).
    #[error("invalid key ring: {0}")]
    Ring(String),
    /// Reading or writing key files failed.
    #[error("key storage: {0}")]
    Io(String),
    /// Sealed key material failed to decrypt: wrong system secret or tampered data.
    #[error("sealed key material: {0}")]
    Sealed(String),
    /// The key store is unreachable.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A signature could not be made.
    #[error("signing failed")]
    Sign,
    /// A token did not verify.
    #[error("token rejected: {0}")]
    Verify(String),
}

/// Where a key is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Published in the JWKS ahead of use.
    Next,
    /// Signs new tokens.
    Active,
    /// Published so tokens it signed still verify; signs nothing.
    Retired,
}

impl KeyState {
    /// Whether the JWKS lists keys in this state.
    pub fn is_published(self) -> bool {
        true
    }
}

/// A key as persisted: private material plus lifecycle metadata.
#[derive(Clone)]
pub struct KeyMaterial {
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// Lifecycle state.
    pub state: KeyState,
    /// Creation time, seconds since the epoch.
    pub created_at: u64,
    /// PKCS#8 DER of the private key.
    pub pkcs8: Zeroizing<Vec<u8>>,
}

impl KeyMaterial {
    /// Wraps a PKCS#8 RSA key, computing its kid.
    pub fn from_pkcs8(
        pkcs8: Zeroizing<Vec<u8>>,
        state: KeyState,
        created_at: u64,
    ) -> Result<Self, KeyError> {
        let kid = RsaPublicJwk::from_pkcs8(&pkcs8)?.thumbprint();
        Ok(Self {
            kid,
            state,
            created_at,
            pkcs8,
        })
    }
}

/// The JWT `typ` a signature is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// RFC 9068 access token (`typ: at+jwt`).
    AccessToken,
    /// OIDC ID token (`typ: JWT`).
    IdToken,
}

/// One parsed key, ready to sign and to verify.
pub struct SigningKey {
    kid: String,
    state: KeyState,
    created_at: u64,
    pair: RsaKeyPair,
    public: RsaPublicJwk,
    decoding: DecodingKey,
    access_token_header: String,
    id_token_header: String,
}

impl SigningKey {
    /// Parses persisted material once.
    pub fn from_material(material: &KeyMaterial) -> Result<Self, KeyError> {
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
        let decoding = DecodingKey::from_rsa_components(&public.n, &public.e)
            .map_err(|err| KeyError::Invalid(err.to_string()))?;
        let header = |typ: &str| {
            let json = format!(
                r#"{{"alg":"RS256","typ":"{typ}","kid":"{}"}}"#,
                material.kid
            );
            URL_SAFE_NO_PAD.encode(json)
        };
        Ok(Self {
            kid: material.kid.clone(),
            state: material.state,
            created_at: material.created_at,
            access_token_header: header("at+jwt"),
            id_token_header: header("JWT"),
            pair,
            public,
            decoding,
        })
    }

    /// The key id (RFC 7638 thumbprint).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWS algorithm this key signs with.
    pub fn alg(&self) -> &'static str {
        "RS256"
    }

    /// Lifecycle state.
    pub fn state(&self) -> KeyState {
        self.state
    }

    /// Creation time, seconds since the epoch.
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// Public JWK members.
    pub fn public(&self) -> &RsaPublicJwk {
        &self.public
    }
}

/// An immutable set of keys with exactly one active, and its pre-built JWKS.
pub struct KeyRing {
    keys: Vec<SigningKey>,
    active: usize,
    jwks: bytes::Bytes,
    jwks_etag: String,
    rng: SystemRandom,
}

impl KeyRing {
    /// Builds a ring from persisted keys.
    pub fn from_materials(materials: &[KeyMaterial]) -> Result<Self, KeyError> {
        let keys = materials
            .iter()
            .map(SigningKey::from_material)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(keys)
    }

    /// Builds a ring; fails unless exactly one key is active and kids are unique.
    pub fn new(keys: Vec<SigningKey>) -> Result<Self, KeyError> {
        let mut active = keys
            .iter()
            .enumerate()
            .filter(|(_, key)| key.state == KeyState::Active);
        let (index, _) = active
            .next()
            .ok_or_else(|| KeyError::Ring("no active signing key".into()))?;
        if active.next().is_some() {
            return Err(KeyError::Ring("more than one active signing key".into()));
        }
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].iter().any(|other| other.kid == key.kid) {
                return Err(KeyError::Ring(format!("duplicate kid {}", key.kid)));
            }
        }
        let (jwks, jwks_etag) =
            jwks::build(&keys).map_err(|err| KeyError::Ring(format!("JWKS: {err}")))?;
        Ok(Self {
            keys,
            active: index,
            jwks: jwks.into(),
            jwks_etag,
            rng: SystemRandom::new(),
        })
    }

    /// The key that signs new tokens.
    pub fn active(&self) -> &SigningKey {
        &self.keys[self.active]
    }

    /// Every key in the ring.
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The serialised JWKS document.
    pub fn jwks(&self) -> &bytes::Bytes {
        &self.jwks
    }

    /// Strong ETag of `jwks()`.
    pub fn jwks_etag(&self) -> &str {
        &self.jwks_etag
    }

    /// Signs `claims` as a compact JWS with the active key.
    pub fn sign<T: Serialize>(&self, typ: TokenType, claims: &T) -> Result<String, KeyError> {
        let key = self.active();
        let header = match typ {
            TokenType::AccessToken => &key.access_token_header,
            TokenType::IdToken => &key.id_token_header,
        };
        let payload = serde_json::to_vec(claims).map_err(|_| KeyError::Sign)?;
        let modulus_len = key.pair.public_modulus_len();
        let mut jws =
            String::with_capacity(header.len() + payload.len() * 4 / 3 + modulus_len * 4 / 3 + 8);
        jws.push_str(header);
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut jws);
        let mut signature = vec![0u8; modulus_len];
        key.pair
            .sign(&RSA_PKCS1_SHA256, &self.rng, jws.as_bytes(), &mut signature)
            .map_err(|_| KeyError::Sign)?;
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut jws);
        Ok(jws)
    }

    /// Verifies a JWT signed by a key of this ring (looked up by `kid`), with RS256 forced and
    /// the other checks given by `validation` (its algorithms are overridden).
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<T, KeyError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|err| KeyError::Verify(err.to_string()))?;
        let kid = header
            .kid
            .ok_or_else(|| KeyError::Verify("no kid in header".into()))?;
        let key = self
            .keys
            .iter()
            .find(|key| key.kid == kid)
            .ok_or_else(|| KeyError::Verify(format!("unknown kid {kid}")))?;
        let mut validation = validation.clone();
        validation.algorithms = vec![Algorithm::RS256];
        jsonwebtoken::decode::<T>(token, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|err| KeyError::Verify(err.to_string()))
    }
}

#[cfg(test)]
mod tests;
