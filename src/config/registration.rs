//! `[registration]`: who may register clients through `POST /register` (RFC 7591 dynamic client
//! registration). `closed` (the default) refuses every registration; `initial_access_token`
//! accepts a registration that carries an initial access token minted by the operator (admin
//! API or CLI); `open` accepts anyone's. Whatever the mode, a client registered this way is
//! managed through its own registration access token (RFC 7592).

use serde::{Deserialize, Serialize};

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

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrationSettings {
    /// `closed` (default), `initial_access_token` or `open`; `FERRID_REGISTRATION__MODE`.
    pub mode: RegistrationMode,
}
