//! `ferrid openapi`: prints the OpenAPI document the server serves at `/openapi.json`
//! (`ferrid openapi > openapi/openapi.json` refreshes the checked-in copy).

use std::path::PathBuf;
use std::process::ExitCode;

/// Prints the spec for the effective settings.
pub fn run(config: Option<PathBuf>) -> ExitCode {
    match super::load_settings(config.as_deref()) {
        Ok(settings) => {
            println!("{}", crate::http::openapi_json(&settings));
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}
