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
    /// Checks `bind`, which must differ from the main listener's `main_bind`.
    pub fn validate(&self, main_bind: &str) -> Result<(), ConfigError> {
        if !self.bind.is_empty() && SocketAddr::from_str(&self.bind).is_err() {
            return Err(ConfigError::new(
                "metrics.bind",
                format!(
                    "`{}` is not an address such as 127.0.0.1:9090 (empty: serve /metrics on the main listener)",
                    self.bind
                ),
            ));
        }
        // Port 0 picks a free port for each listener, so two of them never collide.
        let fixed = SocketAddr::from_str(&self.bind).is_ok_and(|addr| addr.port() != 0);
        if fixed && self.bind == main_bind {
            return Err(ConfigError::new(
                "metrics.bind",
                "is the main listener's `bind`; leave it empty to serve /metrics there",
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
    fn a_bind_that_is_not_an_address_or_is_the_main_listener_is_refused() {
        let settings = MetricsSettings {
            bind: "localhost".into(),
            ..MetricsSettings::default()
        };
        assert_eq!(
            settings.validate("127.0.0.1:8080").unwrap_err().key,
            "metrics.bind"
        );
        let same = MetricsSettings {
            bind: "127.0.0.1:8080".into(),
            ..MetricsSettings::default()
        };
        assert!(same.validate("127.0.0.1:8080").is_err());
        assert!(same.validate("127.0.0.1:9090").is_ok());
        assert!(MetricsSettings::default()
            .validate("127.0.0.1:8080")
            .is_ok());
        // Port 0: each listener gets a free port of its own.
        let any = MetricsSettings {
            bind: "127.0.0.1:0".into(),
            ..MetricsSettings::default()
        };
        assert!(any.validate("127.0.0.1:0").is_ok());
    }
}
