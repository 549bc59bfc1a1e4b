//! `ferrid keys list | rotate --now [--withdraw-old] | import FILE.pem`: the signing keys of the
//! store the config names (`keys/` for the memory store, the sealed ring in Redis), changed
//! while instances run — they pick a change up within seconds (Redis pub/sub, else their
//! periodic check of `keys.refresh_interval_secs`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use serde_json::json;

use crate::bootstrap;
use crate::clock::SystemClock;
use crate::keys::persist::Snapshot;
use crate::keys::schedule::Schedule;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Show every key: state, kid, creation time and its next transition.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Replace the signing key at once with a freshly generated one.
    Rotate {
        /// Required: the rotation happens now, outside the schedule.
        #[arg(long, required = true)]
        now: bool,
        /// Also remove the old keys from the JWKS at once: tokens they signed stop verifying.
        #[arg(long)]
        withdraw_old: bool,
    },
    /// Add an RSA private key (PEM, PKCS#8 or PKCS#1) as the next key, or as the first key.
    Import {
        /// The PEM file.
        file: PathBuf,
    },
}

/// Runs a `keys` subcommand; exit code 2 for configuration errors, 1 for failures.
pub fn run(config: Option<PathBuf>, command: KeysCommand) -> ExitCode {
    let settings = match super::load_settings(config.as_deref()) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let runtime = match super::runtime(tokio::runtime::Builder::new_current_thread()) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(execute(settings, command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ferrid: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(settings: crate::config::Settings, command: KeysCommand) -> Result<(), String> {
    let ctx = bootstrap::build(settings, Arc::new(SystemClock)).map_err(|err| err.to_string())?;
    let keys = ctx.keys();
    let clock = SystemClock;
    let snapshot = match command {
        KeysCommand::List { json } => {
            let snapshot = keys
                .persistence()
                .load()
                .await
                .map_err(|err| err.to_string())?
                .ok_or_else(|| format!("no key ring in {} yet", ctx.key_location()))?;
            print_ring(&snapshot, keys.schedule(), json);
            return Ok(());
        }
        KeysCommand::Rotate {
            now: _,
            withdraw_old,
        } => {
            let snapshot = keys
                .rotate_now(withdraw_old, &clock)
                .await
                .map_err(|err| err.to_string())?;
            println!(
                "rotated: a new key signs from now on{}",
                if withdraw_old {
                    "; every older key was withdrawn from the JWKS"
                } else {
                    "; the old key stays published until its grace ends"
                }
            );
            snapshot
        }
        KeysCommand::Import { file } => {
            let pem = zeroize::Zeroizing::new(
                std::fs::read_to_string(&file)
                    .map_err(|err| format!("{}: {err}", file.display()))?,
            );
            let snapshot = keys
                .import(&pem, &clock)
                .await
                .map_err(|err| err.to_string())?;
            println!("imported {}", file.display());
            snapshot
        }
    };
    print_ring(&snapshot, keys.schedule(), false);
    Ok(())
}

fn print_ring(snapshot: &Snapshot, schedule: &Schedule, as_json: bool) {
    let upcoming = schedule.upcoming(&snapshot.keys);
    if as_json {
        let keys: Vec<_> = snapshot
            .keys
            .iter()
            .zip(&upcoming)
            .map(|(key, next)| {
                json!({
                    "kid": key.kid,
                    "alg": key.alg.as_str(),
                    "state": key.state().as_str(),
                    "created_at": key.lifecycle.created_at,
                    "activated_at": key.lifecycle.activated_at,
                    "retired_at": key.lifecycle.retired_at,
                    "next_transition": next.map(|(what, _)| what.as_str()),
                    "next_transition_at": next.map(|(_, at)| at),
                })
            })
            .collect();
        println!("{}", json!({ "revision": snapshot.revision, "keys": keys }));
        return;
    }
    println!(
        "{:<8} {:<43} {:<20} NEXT TRANSITION",
        "STATE", "KID", "CREATED"
    );
    for (key, next) in snapshot.keys.iter().zip(&upcoming) {
        let next = next.map_or_else(String::new, |(what, at)| {
            format!("{} at {}", what.as_str(), utc(at))
        });
        println!(
            "{:<8} {:<43} {:<20} {next}",
            key.state().as_str(),
            key.kid,
            utc(key.lifecycle.created_at)
        );
    }
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    // Days to civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
