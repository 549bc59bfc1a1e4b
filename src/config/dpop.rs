//! `[dpop]`: how ferrid judges DPoP proofs (RFC 9449) — how old a proof may be, how far ahead
//! of ferrid's clock a client's may run, and whether proofs must carry a server nonce (§8:
//! without nonces a proof made ahead of time by a compromised client stays usable until it
//! is `max_age_secs` old; with them, until the nonce it carries goes stale).

use serde::{Deserialize, Serialize};

use super::{number, ConfigError};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DpopSettings {
    /// A proof whose `iat` is older than this is refused. Also how long a proof's `jti` is
    /// remembered (with `clock_skew_secs`) to refuse its replay.
    #[serde(deserialize_with = "number")]
    pub max_age_secs: u64,
    /// A proof whose `iat` is up to this far ahead of ferrid's clock is accepted.
    #[serde(deserialize_with = "number")]
    pub clock_skew_secs: u64,
    /// Every proof must carry a nonce ferrid issued (`DPoP-Nonce`); a proof without one, or
    /// with a stale one, gets `use_dpop_nonce` and a fresh nonce to retry with.
    #[serde(deserialize_with = "number")]
    pub require_nonce: bool,
}

impl Default for DpopSettings {
    fn default() -> Self {
        Self {
            max_age_secs: 60,
            clock_skew_secs: 5,
            require_nonce: false,
        }
    }
}

impl DpopSettings {
    /// Checks the window is usable: a proof lives at least a second, at most ten minutes.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=600).contains(&self.max_age_secs) {
            return Err(ConfigError::new(
                "dpop.max_age_secs",
                "must be between 1 and 600 seconds",
            ));
        }
        if self.clock_skew_secs > 300 {
            return Err(ConfigError::new(
                "dpop.clock_skew_secs",
                "must be at most 300 seconds",
            ));
        }
        Ok(())
    }
}
