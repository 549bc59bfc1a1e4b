//! The key ring: every signing key ferrid knows, each parsed once into an aws-lc key pair
//! (signing never re-parses a key), with the JWKS bytes and ETag pre-built whenever the ring
//! changes. A ring is immutable; a change builds a new one, which `live` swaps in.
//!
//! Keys move `next` (published, not signing) → `active` (signing; exactly one) → `retired`
//! (published, not signing) → removed. `schedule` says when each transition is due, `rotation`
//! performs it under a lock with a fencing check, `persist` keeps the ring in `keys/` (memory
//! store) or, sealed under the system secret, in the store (Redis), and `live` keeps each
//! instance's copy current. `alg` is fixed per key by ferrid (RS256 today), never read from a
//! token header.

pub mod dir;
pub mod jwks;
pub mod live;
pub mod material;
pub mod persist;
pub mod rotation;
pub mod rsa_key;
pub mod schedule;
pub mod sealed;
pub mod signing_key;
pub mod stored;

use aws_lc_rs::rand::SystemRandom;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::Validation;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use material::{Algorithm, KeyMaterial, KeyState, Lifecycle, ScheduledKey};
pub use rsa_key::RsaPublicJwk;
pub use signing_key::SigningKey;

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
    /// Sealed key material failed to decrypt or is not sealed at all.
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

/// The JWT `typ` a signature is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// RFC 9068 access token (`typ: at+jwt`).
    AccessToken,
    /// OIDC ID token (`typ: JWT`).
    IdToken,
}

/// An immutable set of keys with exactly one active and at most one next, and its pre-built
/// JWKS.
pub struct KeyRing {
    keys: Vec<SigningKey>,
    active: usize,
    revision: u64,
    jwks: bytes::Bytes,
    jwks_etag: String,
    rng: SystemRandom,
    /// What the keys were parsed from, kept so that a ring the store lost can be written back
    /// as it was (`live::LiveKeys::load_or_create`).
    materials: Vec<KeyMaterial>,
}

impl KeyRing {
    /// Builds a ring from persisted keys, at revision 0.
    pub fn from_materials(materials: &[KeyMaterial]) -> Result<Self, KeyError> {
        Self::from_revision(materials, 0)
    }

    /// Builds a ring from persisted keys at a persisted revision.
    pub fn from_revision(materials: &[KeyMaterial], revision: u64) -> Result<Self, KeyError> {
        let keys = materials
            .iter()
            .map(SigningKey::from_material)
            .collect::<Result<Vec<_>, _>>()?;
        let mut ring = Self::new(keys, materials.to_vec())?;
        ring.revision = revision;
        Ok(ring)
    }

    /// Builds a ring; fails unless exactly one key is active, at most one is next, and kids are
    /// unique.
    fn new(keys: Vec<SigningKey>, materials: Vec<KeyMaterial>) -> Result<Self, KeyError> {
        check_invariants(&keys)?;
        let active = keys
            .iter()
            .position(|key| key.state() == KeyState::Active)
            .ok_or_else(|| KeyError::Ring("no active signing key".into()))?;
        let (jwks, jwks_etag) =
            jwks::build(&keys).map_err(|err| KeyError::Ring(format!("JWKS: {err}")))?;
        Ok(Self {
            keys,
            active,
            revision: 0,
            jwks: jwks.into(),
            jwks_etag,
            rng: SystemRandom::new(),
            materials,
        })
    }

    /// The persisted form of every key, private material included.
    pub fn materials(&self) -> &[KeyMaterial] {
        &self.materials
    }

    /// The key that signs new tokens.
    pub fn active(&self) -> &SigningKey {
        &self.keys[self.active]
    }

    /// The key published to sign next, if any.
    pub fn next(&self) -> Option<&SigningKey> {
        self.keys.iter().find(|key| key.state() == KeyState::Next)
    }

    /// Every key in the ring.
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The persisted revision this ring was built from; it grows with every change.
    pub fn revision(&self) -> u64 {
        self.revision
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
        let payload = serde_json::to_vec(claims).map_err(|_| KeyError::Sign)?;
        self.active().sign(&self.rng, typ, &payload)
    }

    /// Verifies a JWT signed by a key of this ring (looked up by `kid`), with that key's own
    /// algorithm forced and the other checks given by `validation` (its algorithms are
    /// overridden). The signature is checked here with the key's parsed aws-lc public key;
    /// `jsonwebtoken` then decodes the claims and applies `validation`.
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
            .find(|key| key.kid() == kid)
            .ok_or_else(|| KeyError::Verify(format!("unknown kid {kid}")))?;
        let algorithm = match key.algorithm() {
            Algorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
        };
        if header.alg != algorithm {
            return Err(KeyError::Verify(format!(
                "alg {:?} is not the key's {algorithm:?}",
                header.alg
            )));
        }
        // The JWS signing input is everything before the last '.', exactly what jsonwebtoken
        // would verify (it splits the same way).
        let (message, signature) = token
            .rsplit_once('.')
            .ok_or_else(|| KeyError::Verify("not a compact JWS".into()))?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| KeyError::Verify("signature is not base64url".into()))?;
        if !key.verifies(message.as_bytes(), &signature) {
            return Err(KeyError::Verify("invalid signature".into()));
        }
        let mut validation = validation.clone();
        validation.algorithms = vec![algorithm];
        // Verified just above with the parsed key; jsonwebtoken's own check would rebuild the
        // RSA public key (and its Montgomery context) on every call.
        #[allow(deprecated)]
        validation.insecure_disable_signature_validation();
        jsonwebtoken::decode::<T>(token, key.decoding(), &validation)
            .map(|data| data.claims)
            .map_err(|err| KeyError::Verify(err.to_string()))
    }
}

/// The ring's invariants, shared by every path that builds or rewrites a ring: exactly one
/// active key, at most one next key, unique kids.
pub fn check_invariants<K: ScheduledKey>(keys: &[K]) -> Result<(), KeyError> {
    let count = |state| {
        keys.iter()
            .filter(|key| key.lifecycle().state == state)
            .count()
    };
    match count(KeyState::Active) {
        0 => return Err(KeyError::Ring("no active signing key".into())),
        1 => {}
        _ => return Err(KeyError::Ring("more than one active signing key".into())),
    }
    if count(KeyState::Next) > 1 {
        return Err(KeyError::Ring("more than one next key".into()));
    }
    for (i, key) in keys.iter().enumerate() {
        if keys[..i].iter().any(|other| other.kid() == key.kid()) {
            return Err(KeyError::Ring(format!("duplicate kid {}", key.kid())));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
