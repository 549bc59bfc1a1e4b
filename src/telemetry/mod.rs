//! Logging: `tracing` with JSON lines (default when stdout is not a terminal) or a readable
//! format, filtered by `log.level`. Audit events use the `ferrid::audit` target with stable
//! field names (`event`, `client_id`, `jti`, ...). Tokens, secrets, codes and passwords are never
//! logged; request spans carry the request id. JSON lines are written by `json_lines`, which
//! keeps the per-request access line cheap.

pub mod json_lines;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogSettings;

/// Installs the global subscriber once; later calls (tests, a second server) are no-ops.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_new(&settings.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match settings.format.as_str() {
        "json" => true,
        "pretty" => false,
        _ => !std::io::stdout().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true);
    // A subscriber may already be installed (tests start several servers): keep the first.
    let _ = if json {
        builder
            .json()
            .event_format(json_lines::JsonLines)
            .try_init()
    } else {
        builder.compact().try_init()
    };
}
