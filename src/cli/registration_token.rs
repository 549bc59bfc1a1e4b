//! `ferrid registration-token create --expires-in DURATION [--uses N]`: mints an initial access
//! token for dynamic client registration (`registration.mode = "initial_access_token"`) in the
//! Redis store the config names, through the same operation as `POST
//! /admin/registration-tokens`. The token is printed once; only its hash is stored.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;

use super::format::{self, Format};
use crate::admin::{self, Actor, AdminError};
use crate::context::Context;
use crate::registration::initial_access_token::MAX_LIFETIME_SECS;

#[derive(Debug, Args)]
pub struct RegistrationTokenArgs {
    /// `table` (default) or `json`.
    #[arg(long, value_enum, default_value_t, global = true)]
    pub format: Format,
    #[command(subcommand)]
    pub command: RegistrationTokenCommand,
}

#[derive(Debug, Subcommand)]
pub enum RegistrationTokenCommand {
    /// Mint a token (printed once) that lets a developer register clients at /register.
    Create {
        /// How long the token works: seconds, or a number with s, m, h or d (`24h`, `7d`).
        #[arg(long, value_parser = parse_duration)]
        expires_in: u64,
        /// How many registrations it allows; any number until it expires when absent.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        uses: Option<u32>,
    },
}

/// Seconds in `text`: `90`, `90s`, `15m`, `24h`, `7d`.
fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((at, unit @ ('s' | 'm' | 'h' | 'd'))) => (&text[..at], unit),
        _ => (text, 's'),
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 3600, 90s, 15m, 24h or 7d"))?;
    let scale = match unit {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => 1,
    };
    let secs = number.saturating_mul(scale);
    if !(1..=MAX_LIFETIME_SECS).contains(&secs) {
        return Err(format!(
            "must be between 1 second and {} days",
            MAX_LIFETIME_SECS / 86_400
        ));
    }
    Ok(secs)
}

/// Runs a `registration-token` subcommand: 0 done, 1 refused or failed, 2 a configuration error.
pub fn run(config: Option<PathBuf>, args: RegistrationTokenArgs) -> ExitCode {
    let settings = match super::load_settings(config.as_deref()) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let runtime = match super::runtime(tokio::runtime::Builder::new_current_thread()) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    // The Redis connection manager starts inside the runtime.
    let _entered = runtime.enter();
    let ctx = match format::redis_context(settings, "registration-token") {
        Ok(ctx) => ctx,
        Err(code) => return code,
    };
    match runtime.block_on(execute(&ctx, args.command, args.format)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => format::fail(&err),
    }
}

async fn execute(
    ctx: &Context,
    command: RegistrationTokenCommand,
    format: Format,
) -> Result<(), AdminError> {
    match command {
        RegistrationTokenCommand::Create { expires_in, uses } => {
            let minted =
                admin::registration_tokens::create(ctx, &Actor::cli(), expires_in, uses).await?;
            if ctx.settings().registration.mode
                != crate::config::RegistrationMode::InitialAccessToken
            {
                eprintln!(
                    "ferrid: note: registration.mode is `{}`; /register accepts initial access \
                     tokens only when it is `initial_access_token`",
                    ctx.settings().registration.mode.as_str()
                );
            }
            let uses_text = minted
                .uses
                .map_or_else(|| "unlimited".to_owned(), |uses| uses.to_string());
            match format {
                Format::Json => format::print_json(&json!({
                    "initial_access_token": minted.token.expose(),
                    "expires_at": minted.expires_at,
                    "uses": minted.uses,
                })),
                Format::Table => format::print_fields(&[
                    (
                        "initial_access_token",
                        format!("{}   (shown once: store it now)", minted.token.expose()),
                    ),
                    ("expires_at", minted.expires_at.to_string()),
                    ("uses", uses_text),
                ]),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_in_seconds_or_with_a_unit() {
        assert_eq!(parse_duration("3600"), Ok(3600));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("24h"), Ok(86_400));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("400d").is_err());
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("-5m").is_err());
    }
}
