//! `ferrid openapi`: prints the OpenAPI document the server serves at `/openapi.json`
//! (`ferrid openapi > openapi/openapi.json` refreshes the checked-in copy).

use std::path::PathBuf;
use std::process::ExitCode;

/// Prints the spec for the effective settings.
pub fn run(config: Option<PathBuf>) -> ExitCode {
    match super::load_settings(config.as_deref()) {
        Ok(settings) => {
            use std::io::Write;
            // A closed pipe (`ferrid openapi | head`) is the reader's choice, not a crash.
            let spec = crate::http::openapi_json(&settings);
            match writeln!(std::io::stdout().lock(), "{spec}") {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            }
        }
        Err(code) => code,
    }
}
