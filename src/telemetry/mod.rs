//! Logging: `tracing` with JSON lines (default when stdout is not a terminal) or a readable
//! format, filtered by `log.level`. Audit events are typed (`audit::AuditEvent`) and written by
//! `audit::record` alone, on the `ferrid::audit` target with stable field names (`event`,
//! `outcome`, `client_id`, `sub`, ...), which also counts them in `metrics`, the Prometheus
//! recorder. Tokens, secrets, codes and passwords are never logged; request spans carry the
//! request id. JSON lines are written by `json_lines`, which keeps the per-request access line
//! cheap.

pub mod audit;
pub mod json_lines;
pub mod metrics;

pub use audit::{record, AdminAction, AuditEvent, RegistrationAction};

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogSettings;

/// Installs the global subscriber once; later calls (tests, a second server) are no-ops.
pub fn init(settings: &LogSettings) {
    use tracing_subscriber::util::SubscriberInitExt;
    // A subscriber may already be installed (tests start several servers): keep the first.
    let _ = subscriber(settings, std::io::stdout).try_init();
}

/// The subscriber `init` installs, writing to `writer`: the same filter and format, so a test
/// can read exactly the lines an operator would see.
pub fn subscriber<W>(
    settings: &LogSettings,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(&settings.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match settings.format.as_str() {
        "json" => true,
        "pretty" => false,
        _ => !std::io::stdout().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_writer(writer);
    if json {
        Box::new(builder.json().event_format(json_lines::JsonLines).finish())
    } else {
        Box::new(builder.compact().finish())
    }
}
