//! `[secrets]`: the system secret, given inline (`secrets.system`, `FERRID_SECRETS__SYSTEM`) or
//! read from a file (`secrets.system_file`, `FERRID_SECRETS__SYSTEM_FILE`) — a Docker or
//! Compose secret mounted at `/run/secrets/…` keeps it out of the environment, `docker
//! inspect` and the process list.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::secret::SecretString;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretSettings {
    /// Encrypts private keys at rest in Redis; at least 32 characters.
    pub system: Option<SecretString>,
    /// A file holding `system` (one line; a trailing newline is ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_file: Option<PathBuf>,
}

impl SecretSettings {
    /// Reads `system_file` into `system`; giving both is an error, as the two could disagree.
    pub fn resolve_files(&mut self) -> Result<(), ConfigError> {
        let Some(path) = &self.system_file else {
            return Ok(());
        };
        if self.system.is_some() {
            return Err(ConfigError::new(
                "secrets.system_file",
                "give `secrets.system` or `secrets.system_file`, not both",
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|err| {
            ConfigError::new(
                "secrets.system_file",
                format!("cannot read {}: {err}", path.display()),
            )
        })?;
        self.system = Some(SecretString::new(
            text.trim_end_matches(['\r', '\n']).to_owned(),
        ));
        Ok(())
    }
}
