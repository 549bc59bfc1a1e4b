//! `[par]`: pushed authorization requests (RFC 9126). With `required`, `/authorize` serves only
//! requests a client pushed to `/par` first (the per-client switch is the client's
//! `require_pushed_authorization_requests`).

use serde::{Deserialize, Serialize};

use super::number;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParSettings {
    /// Every client must push its authorization requests; discovery publishes
    /// `require_pushed_authorization_requests: true`.
    #[serde(deserialize_with = "number")]
    pub required: bool,
}
