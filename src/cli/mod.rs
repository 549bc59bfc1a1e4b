//! The `ferrid` command line: `serve` (the default), `openapi`, `hash-password`, `keys`. Each
//! subcommand is one file; `main.rs` only calls `run`.

pub mod hash_password;
pub mod keys;
pub mod openapi;
pub mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{ConfigError, Settings};

/// ferrid: an OAuth 2.0 / OpenID Connect authorization server.
#[derive(Debug, Parser)]
#[command(name = "ferrid", version, about)]
pub struct Cli {
    /// Config file (TOML); every key can also be set as FERRID_SECTION__KEY.
    #[arg(long, short, global = true, env = "FERRID_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Print the OpenAPI document (JSON) to stdout.
    Openapi,
    /// Read a password from stdin and print its Argon2id hash, for `password_hash`.
    HashPassword,
    /// List, rotate or import signing keys in the store the config names.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
}

/// Parses the command line and runs the subcommand.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve::run(cli.config),
        Command::Openapi => openapi::run(cli.config),
        Command::HashPassword => hash_password::run(),
        Command::Keys(command) => keys::run(cli.config, command),
    }
}

/// Loads settings or prints the one-line reason and yields exit code 2.
pub(crate) fn load_settings(config: Option<&std::path::Path>) -> Result<Settings, ExitCode> {
    Settings::load(config).map_err(|err: ConfigError| {
        eprintln!("ferrid: {err}");
        ExitCode::from(2)
    })
}

/// Builds the async runtime a command runs on, or prints why it cannot and yields exit code 1.
pub(crate) fn runtime(
    mut builder: tokio::runtime::Builder,
) -> Result<tokio::runtime::Runtime, ExitCode> {
    builder.enable_all().build().map_err(|err| {
        eprintln!("ferrid: cannot start the async runtime: {err}");
        ExitCode::FAILURE
    })
}
