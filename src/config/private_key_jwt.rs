//! `[private_key_jwt]`: how ferrid judges client assertions (RFC 7523, OIDC Core §9) and fetches
//! the key sets clients publish at their `jwks_uri`. An assertion is a bearer credential until
//! it expires, so it must be short-lived; a `jwks_uri` is another party's server, so fetching it
//! is bounded in time and size and cached, and an unknown `kid` refetches it at most once per
//! `jwks_refetch_interval_secs` — a stream of forged `kid`s cannot make ferrid hammer it. An
//! assertion's `aud` must be the issuer alone; `accept_endpoint_audience` is the opt-in for
//! legacy client libraries that send an endpoint URL (never for `fapi2` clients).

use serde::{Deserialize, Serialize};

use super::{number, ConfigError};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivateKeyJwtSettings {
    /// An assertion whose `exp` is further ahead than this (plus `clock_skew_secs`) is refused.
    #[serde(deserialize_with = "number")]
    pub max_lifetime_secs: u64,
    /// How far a client's clock may be off ferrid's when `exp`, `nbf` and `iat` are judged.
    #[serde(deserialize_with = "number")]
    pub clock_skew_secs: u64,
    /// How long fetching a client's `jwks_uri` may take, connection included.
    #[serde(deserialize_with = "number")]
    pub jwks_fetch_timeout_ms: u64,
    /// The largest JWK Set a `jwks_uri` may answer with.
    #[serde(deserialize_with = "number")]
    pub jwks_max_bytes: usize,
    /// How long a fetched JWK Set is used before it is fetched again.
    #[serde(deserialize_with = "number")]
    pub jwks_cache_secs: u64,
    /// The least time between two fetches of one client's `jwks_uri` (an unknown `kid`, or a
    /// failed fetch, waits this long before the next one).
    #[serde(deserialize_with = "number")]
    pub jwks_refetch_interval_secs: u64,
    /// Also accept, as an assertion's single `aud`, the URL of the endpoint called or of the token
    /// endpoint (legacy client libraries). Off by default: such an audience is what the audience
    /// injection attack relies on. Never applies to `fapi2` clients. Read like a number:
    /// `true`/`false` also from an env string.
    #[serde(deserialize_with = "number")]
    pub accept_endpoint_audience: bool,
}

impl Default for PrivateKeyJwtSettings {
    fn default() -> Self {
        Self {
            max_lifetime_secs: 300,
            clock_skew_secs: 30,
            jwks_fetch_timeout_ms: 5_000,
            jwks_max_bytes: 64 * 1024,
            jwks_cache_secs: 600,
            jwks_refetch_interval_secs: 60,
            accept_endpoint_audience: false,
        }
    }
}

impl PrivateKeyJwtSettings {
    /// Checks every bound is usable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let checks: [(&str, bool, &str); 6] = [
            (
                "max_lifetime_secs",
                (1..=3600).contains(&self.max_lifetime_secs),
                "must be between 1 and 3600 seconds",
            ),
            (
                "clock_skew_secs",
                self.clock_skew_secs <= 300,
                "must be at most 300 seconds",
            ),
            (
                "jwks_fetch_timeout_ms",
                (100..=60_000).contains(&self.jwks_fetch_timeout_ms),
                "must be between 100 and 60000 milliseconds",
            ),
            (
                "jwks_max_bytes",
                (1024..=1024 * 1024).contains(&self.jwks_max_bytes),
                "must be between 1024 and 1048576 bytes",
            ),
            (
                "jwks_cache_secs",
                (1..=86_400).contains(&self.jwks_cache_secs),
                "must be between 1 and 86400 seconds",
            ),
            (
                "jwks_refetch_interval_secs",
                self.jwks_refetch_interval_secs <= 3600,
                "must be at most 3600 seconds",
            ),
        ];
        match checks.into_iter().find(|(_, ok, _)| !ok) {
            Some((key, _, message)) => {
                Err(ConfigError::new(format!("private_key_jwt.{key}"), message))
            }
            None => Ok(()),
        }
    }
}
