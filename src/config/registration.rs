//! `[registration]`: who may register clients through `POST /register` (RFC 7591 dynamic client
//! registration). `closed` (the default) refuses every registration; `initial_access_token`
//! accepts a registration that carries an initial access token minted by the operator (admin
//! API or CLI); `open` accepts anyone's. Whatever the mode, a client registered this way is
//! managed through its own registration access token (RFC 7592).

use serde::{Deserialize, Serialize};

use super::{number, ConfigError};

/// Who may register a client through `POST /register`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationMode {
    /// Nobody: `/register` refuses every registration and discovery does not advertise it.
    #[default]
    Closed,
    /// Only the bearer of an initial access token the operator minted.
    InitialAccessToken,
    /// Anyone.
    Open,
}

impl RegistrationMode {
    /// The name used in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::InitialAccessToken => "initial_access_token",
            Self::Open => "open",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrationSettings {
    /// `closed` (default), `initial_access_token` or `open`; `FERRID_REGISTRATION__MODE`.
    pub mode: RegistrationMode,
    /// In `open` mode, how many clients one client address may register per hour (counted in
    /// the store, so shared by every instance on Redis); more get 429 with `Retry-After`.
    #[serde(deserialize_with = "number")]
    pub open_registrations_per_hour: u32,
}

impl Default for RegistrationSettings {
    fn default() -> Self {
        Self {
            mode: RegistrationMode::Closed,
            open_registrations_per_hour: 20,
        }
    }
}

impl RegistrationSettings {
    /// Checks the limit is usable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.open_registrations_per_hour == 0 {
            return Err(ConfigError::new(
                "registration.open_registrations_per_hour",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::RegistrationMode;
    use crate::config::Settings;

    fn load(value: &str) -> Result<Settings, crate::config::ConfigError> {
        Settings::load_from(
            None,
            vec![("FERRID_REGISTRATION__MODE".to_owned(), value.to_owned())],
        )
    }

    #[test]
    fn the_mode_comes_from_the_environment_and_defaults_to_closed() {
        assert_eq!(
            Settings::default().registration.mode,
            RegistrationMode::Closed
        );
        for mode in [
            RegistrationMode::Closed,
            RegistrationMode::InitialAccessToken,
            RegistrationMode::Open,
        ] {
            assert_eq!(load(mode.as_str()).unwrap().registration.mode, mode);
        }
    }

    #[test]
    fn an_unknown_mode_names_the_variable() {
        let text = load("anyone").unwrap_err().to_string();
        assert!(text.contains("FERRID_REGISTRATION__MODE"), "{text}");
    }
}
