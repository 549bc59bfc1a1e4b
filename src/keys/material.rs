//! A key as ferrid keeps it between restarts: its private material (PKCS#8 DER), the JWS
//! algorithm it signs with, and its lifecycle — the state and the times it entered each state,
//! from which the rotation schedule computes every next transition.
//!
//! The algorithm is recorded per key so that a ring can one day hold PS256, ES256 or EdDSA keys
//! beside RS256 ones; today RS256 is the only value ferrid reads or writes.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::rsa_key::RsaPublicJwk;
use super::KeyError;

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
    /// Whether the JWKS lists keys in this state: all of them — a key is published from the
    /// moment it exists until it is removed from the ring.
    pub fn is_published(self) -> bool {
        true
    }

    /// The state's name as persisted and shown by `ferrid keys list`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }
}

/// The JWS algorithm a key signs with (RFC 7518). ferrid fixes it per key; it is never taken
/// from a token header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    #[default]
    #[serde(rename = "RS256")]
    Rs256,
}

impl Algorithm {
    /// The `alg` header and JWK member value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
        }
    }
}

/// A key's state and the times (seconds since the epoch) it entered each state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// Current state.
    pub state: KeyState,
    /// When the key was created — and published, since every key is in the JWKS from then on.
    pub created_at: u64,
    /// When the key started signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<u64>,
    /// When the key stopped signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<u64>,
}

impl Lifecycle {
    /// A key entering `state` at `now`, with the times of the states it has passed through.
    pub fn new(state: KeyState, now: u64) -> Self {
        Self {
            state,
            created_at: now,
            activated_at: (state != KeyState::Next).then_some(now),
            retired_at: (state == KeyState::Retired).then_some(now),
        }
    }

    /// Fills in times a ring written before rotation existed lacks: such a key counts as
    /// activated (and retired) when it was created.
    pub fn normalized(mut self) -> Self {
        if self.state != KeyState::Next && self.activated_at.is_none() {
            self.activated_at = Some(self.created_at);
        }
        if self.state == KeyState::Retired && self.retired_at.is_none() {
            self.retired_at = self.activated_at;
        }
        self
    }

    /// When the key started signing (its creation time if it never did).
    pub fn activated(&self) -> u64 {
        self.activated_at.unwrap_or(self.created_at)
    }

    /// When the key stopped signing (its activation time if unknown).
    pub fn retired(&self) -> u64 {
        self.retired_at.unwrap_or_else(|| self.activated())
    }
}

/// Anything that has a kid and a lifecycle: persisted material and parsed signing keys alike,
/// so the schedule judges both the same way.
pub trait ScheduledKey {
    /// The key id.
    fn kid(&self) -> &str;
    /// Its lifecycle.
    fn lifecycle(&self) -> &Lifecycle;
}

/// A key as persisted: private material plus lifecycle metadata.
#[derive(Clone)]
pub struct KeyMaterial {
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// The algorithm it signs with.
    pub alg: Algorithm,
    /// State and transition times.
    pub lifecycle: Lifecycle,
    /// PKCS#8 DER of the private key.
    pub pkcs8: Zeroizing<Vec<u8>>,
}

impl KeyMaterial {
    /// Wraps a PKCS#8 RSA key entering `state` at `now` (seconds), computing its kid.
    pub fn from_pkcs8(
        pkcs8: Zeroizing<Vec<u8>>,
        state: KeyState,
        now: u64,
    ) -> Result<Self, KeyError> {
        Self::with_lifecycle(pkcs8, Algorithm::Rs256, Lifecycle::new(state, now))
    }

    /// Wraps a PKCS#8 key with a known algorithm and lifecycle, computing its kid.
    pub fn with_lifecycle(
        pkcs8: Zeroizing<Vec<u8>>,
        alg: Algorithm,
        lifecycle: Lifecycle,
    ) -> Result<Self, KeyError> {
        let kid = match alg {
            Algorithm::Rs256 => RsaPublicJwk::from_pkcs8(&pkcs8)?.thumbprint(),
        };
        Ok(Self {
            kid,
            alg,
            lifecycle: lifecycle.normalized(),
            pkcs8,
        })
    }

    /// Current state.
    pub fn state(&self) -> KeyState {
        self.lifecycle.state
    }
}

impl ScheduledKey for KeyMaterial {
    fn kid(&self) -> &str {
        &self.kid
    }

    fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("lifecycle", &self.lifecycle)
            .finish_non_exhaustive()
    }
}
