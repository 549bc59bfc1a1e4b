//! The `ferrid` command line: `serve` (the default), `check`, `healthcheck`, `openapi`,
//! `hash-password`, `keys`, `client`, `user`, `registration-token`. Each subcommand is one file; `main.rs` only calls `run`. Exit codes:
//! 0 success, 2 a configuration error, 1 anything else.

pub mod check;
pub mod client;
pub mod format;
pub mod hash_password;
pub mod healthcheck;
pub mod keys;
pub mod openapi;
pub mod registration_token;
pub mod serve;
pub mod user;

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
    /// Check the configuration, the store connection and the signing keys, then exit.
    Check,
    /// Exit 0 when a running ferrid answers 200 on /readyz (the container health check).
    Healthcheck {
        /// URL to probe; default: /readyz on the configured `bind` address.
        #[arg(long)]
        url: Option<String>,
    },
    /// Print the OpenAPI document (JSON) to stdout.
    Openapi,
    /// Print the Argon2id hash of a password, for `password_hash`: prompted for without echo on
    /// a terminal, else read as one line from stdin.
    HashPassword {
        /// Read the password from stdin even on a terminal.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List, rotate or import signing keys in the store the config names.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Create, list, show, update or delete clients, or rotate a secret, in the Redis store the
    /// config names.
    Client(Box<client::ClientArgs>),
    /// Create, list, show or delete users, or set a password, in the Redis store the config
    /// names.
    User(user::UserArgs),
    /// Mint initial access tokens for dynamic client registration (RFC 7591) in the Redis
    /// store the config names.
    RegistrationToken(registration_token::RegistrationTokenArgs),
}

/// Parses the command line and runs the subcommand.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve::run(cli.config),
        Command::Check => check::run(cli.config),
        Command::Healthcheck { url } => healthcheck::run(cli.config, url),
        Command::Openapi => openapi::run(cli.config),
        Command::HashPassword { password_stdin } => hash_password::run(password_stdin),
        Command::Keys(command) => keys::run(cli.config, command),
        Command::Client(args) => client::run(cli.config, *args),
        Command::User(args) => user::run(cli.config, args),
        Command::RegistrationToken(args) => registration_token::run(cli.config, args),
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
