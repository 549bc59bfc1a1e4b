//! `[keys]`: where the file-backed ring lives, how the JWKS is cached, and the rotation
//! schedule — how long a key signs, how long its successor is published first, how long a
//! retired key stays published — plus the RSA key size. Validation keeps the schedule safe for
//! resource servers: the publication lead must exceed the JWKS `max-age` (so every cache has
//! fetched a key before it signs) and the retirement grace must cover every token a key signed.
//! Both allow for `refresh_interval_secs`, the longest an instance may serve the previous ring
//! after another one changed it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{number, optional_number, ConfigError};
use crate::keys::rsa_key::{ALLOWED_BITS, DEFAULT_BITS};

const DAY: u64 = 86_400;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeySettings {
    /// Where the file-backed key ring lives (memory store).
    pub dir: PathBuf,
    /// `Cache-Control: max-age` of the JWKS response.
    #[serde(deserialize_with = "number")]
    pub jwks_max_age_secs: u64,
    /// How long a key signs before its successor takes over.
    #[serde(deserialize_with = "number")]
    pub rotation_period_secs: u64,
    /// How long a new key is published in the JWKS before it signs; must exceed
    /// `jwks_max_age_secs` + `refresh_interval_secs`.
    #[serde(deserialize_with = "number")]
    pub publication_lead_secs: u64,
    /// How long a retired key stays published; by default (and at least) the longest
    /// signed-token lifetime plus `clock_skew_secs` and `refresh_interval_secs`.
    #[serde(
        default,
        deserialize_with = "optional_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub retirement_grace_secs: Option<u64>,
    /// Clock difference tolerated between ferrid and resource servers.
    #[serde(deserialize_with = "number")]
    pub clock_skew_secs: u64,
    /// Modulus size of generated RSA keys: 2048, 3072 or 4096.
    #[serde(deserialize_with = "number")]
    pub rsa_bits: usize,
    /// How often each instance checks the persisted ring for changes (besides Redis pub/sub
    /// notices) and for due transitions.
    #[serde(deserialize_with = "number")]
    pub refresh_interval_secs: u64,
}

impl Default for KeySettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("keys"),
            jwks_max_age_secs: 300,
            rotation_period_secs: 30 * DAY,
            publication_lead_secs: DAY,
            retirement_grace_secs: None,
            clock_skew_secs: 60,
            rsa_bits: DEFAULT_BITS,
            refresh_interval_secs: 5,
        }
    }
}

impl KeySettings {
    /// The shortest safe retirement grace: a token signed by a key just before it retired (on
    /// the slowest instance to notice) verifies until it expires, on a resource server whose
    /// clock runs up to `clock_skew_secs` behind.
    pub fn minimum_grace_secs(&self, longest_token_secs: u64) -> u64 {
        longest_token_secs + self.clock_skew_secs + self.refresh_interval_secs
    }

    /// The retirement grace in force: the configured one, or the minimum.
    pub fn grace_secs(&self, longest_token_secs: u64) -> u64 {
        self.retirement_grace_secs
            .unwrap_or_else(|| self.minimum_grace_secs(longest_token_secs))
    }

    /// Checks the key settings; `longest_token_secs` is the longest lifetime of a signed token.
    pub fn validate(&self, longest_token_secs: u64) -> Result<(), ConfigError> {
        if self.jwks_max_age_secs > DAY {
            return Err(ConfigError::new(
                "keys.jwks_max_age_secs",
                "must be at most 86400 seconds",
            ));
        }
        if !(1..=300).contains(&self.refresh_interval_secs) {
            return Err(ConfigError::new(
                "keys.refresh_interval_secs",
                "must be between 1 and 300 seconds",
            ));
        }
        let minimum_lead = self.jwks_max_age_secs + self.refresh_interval_secs;
        if self.publication_lead_secs <= minimum_lead {
            return Err(ConfigError::new(
                "keys.publication_lead_secs",
                format!(
                    "must exceed keys.jwks_max_age_secs + keys.refresh_interval_secs \
                     ({minimum_lead}): resource servers caching the JWKS must see a key before \
                     it signs"
                ),
            ));
        }
        if self.rotation_period_secs <= self.publication_lead_secs {
            return Err(ConfigError::new(
                "keys.rotation_period_secs",
                format!(
                    "must exceed keys.publication_lead_secs ({})",
                    self.publication_lead_secs
                ),
            ));
        }
        if self.clock_skew_secs > 3600 {
            return Err(ConfigError::new(
                "keys.clock_skew_secs",
                "must be at most 3600 seconds",
            ));
        }
        let minimum_grace = self.minimum_grace_secs(longest_token_secs);
        if self
            .retirement_grace_secs
            .is_some_and(|grace| grace < minimum_grace)
        {
            return Err(ConfigError::new(
                "keys.retirement_grace_secs",
                format!(
                    "must be at least the longest token lifetime + keys.clock_skew_secs + \
                     keys.refresh_interval_secs ({minimum_grace}), or tokens would stop \
                     verifying before they expire"
                ),
            ));
        }
        if !ALLOWED_BITS.contains(&self.rsa_bits) {
            return Err(ConfigError::new(
                "keys.rsa_bits",
                "must be 2048, 3072 or 4096",
            ));
        }
        Ok(())
    }
}
