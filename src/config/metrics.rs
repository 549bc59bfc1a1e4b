//! `[metrics]`: the Prometheus exposition. On by default, at `/metrics` on the main listener;
//! `metrics.bind` moves it to a listener of its own (an internal interface, say), and then the
//! main listener does not serve it at all. Off, nothing is measured: no recorder is installed,
//! requests and store calls are not timed, and `/metrics` is 404.

use std::net::SocketAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Measure and serve metrics. Read like a number: `true`/`false` also from an env string.
    #[serde(deserialize_with = "super::number")]
    pub enabled: bool,
    /// A separate `host:port` to serve `/metrics` on, instead of the main listener; empty for
    /// the main listener.
    pub bind: String,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            bind: String::new(),
        }
    }
}

impl MetricsSettings {
    /// Checks `bind`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.bind.is_empty() && SocketAddr::from_str(&self.bind).is_err() {
            return Err(ConfigError::new(
                "metrics.bind",
                format!(
                    "`{}` is not an address such as 127.0.0.1:9090 (empty: serve /metrics on the main listener)",
                    self.bind
                ),
            ));
        }
        Ok(())
    }

    /// The separate listener's address, when there is one and metrics are on.
    pub fn separate_bind(&self) -> Option<&str> {
        Some(self.bind.as_str()).filter(|bind| self.enabled && !bind.is_empty())
    }

    /// Whether the main listener serves `/metrics`.
    pub fn on_main_listener(&self) -> bool {
        self.enabled && self.bind.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_on_the_main_listener_unless_moved_or_off() {
        let default = MetricsSettings::default();
        assert!(default.on_main_listener());
        assert_eq!(default.separate_bind(), None);
        let moved = MetricsSettings {
            bind: "127.0.0.1:9090".into(),
            ..MetricsSettings::default()
        };
        assert!(!moved.on_main_listener());
        assert_eq!(moved.separate_bind(), Some("127.0.0.1:9090"));
        let off = MetricsSettings {
            enabled: false,
            ..moved
        };
        assert!(!off.on_main_listener());
        assert_eq!(off.separate_bind(), None);
    }

    #[test]
    fn a_bind_that_is_not_an_address_is_refused() {
        let settings = MetricsSettings {
            bind: "localhost".into(),
            ..MetricsSettings::default()
        };
        assert_eq!(settings.validate().unwrap_err().key, "metrics.bind");
    }
}
