//! `ferrid user create | list | show | delete | set-password`: the users of the Redis store the
//! config names, by username, through the same operations as the admin API (`admin::users`).
//! A password is prompted for twice without echo on a terminal, and read as one line from stdin
//! otherwise (or with `--password-stdin`), so it is neither shown nor left in the shell history;
//! it is hashed with Argon2id and never printed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::format::{self, Format};
use super::hash_password::read_password;
use crate::admin::{self, Actor, AdminError};
use crate::context::Context;
use crate::secret::SecretString;
use crate::users::{Profile, User};

#[derive(Debug, Args)]
pub struct UserArgs {
    /// `table` (default) or `json`.
    #[arg(long, value_enum, default_value_t, global = true)]
    pub format: Format,
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is asked for (or read from stdin).
    Create {
        /// The login name.
        username: String,
        /// Full name.
        #[arg(long)]
        name: Option<String>,
        /// Email address.
        #[arg(long)]
        email: Option<String>,
        /// A role (repeat for more).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Read the password from stdin even on a terminal.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List every user.
    List,
    /// Show one user.
    Show {
        /// The login name.
        username: String,
    },
    /// Delete a user, ending their sessions and revoking their refresh tokens.
    Delete {
        /// The login name.
        username: String,
    },
    /// Set a user's password (asked for, or read from stdin); ends every session of theirs.
    SetPassword {
        /// The login name.
        username: String,
        /// Read the password from stdin even on a terminal.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// Runs a `user` subcommand: 0 done, 1 refused or failed, 2 a configuration error.
pub fn run(config: Option<PathBuf>, args: UserArgs) -> ExitCode {
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
    let ctx = match format::redis_context(settings, "user") {
        Ok(ctx) => ctx,
        Err(code) => return code,
    };
    match runtime.block_on(execute(&ctx, args.command, args.format)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => format::fail(&err),
    }
}

fn password(password_stdin: bool) -> Result<SecretString, AdminError> {
    let password = read_password(password_stdin).map_err(AdminError::InvalidRequest)?;
    Ok(SecretString::new(password.as_str()))
}

async fn execute(ctx: &Context, command: UserCommand, format: Format) -> Result<(), AdminError> {
    let actor = Actor::cli();
    match command {
        UserCommand::Create {
            username,
            name,
            email,
            roles,
            password_stdin,
        } => {
            let profile = Profile {
                username,
                name,
                email,
                roles,
            };
            let password = password(password_stdin)?;
            let user = admin::users::create(ctx, &actor, profile, &password).await?;
            show(&user, format);
        }
        UserCommand::List => {
            let mut users = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = admin::users::list(ctx, after.as_deref(), Some(200)).await?;
                users.extend(page.items);
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            users.sort_by(|a, b| a.username.cmp(&b.username));
            list(&users, format);
        }
        UserCommand::Show { username } => show(
            &admin::users::get_by_username(ctx, &username).await?,
            format,
        ),
        UserCommand::Delete { username } => {
            let user = admin::users::get_by_username(ctx, &username).await?;
            let removed = admin::users::delete(ctx, &actor, &user.id).await?;
            match format {
                Format::Json => format::print_json(&json!({
                    "id": user.id,
                    "username": username,
                    "sessions_ended": removed.sessions,
                    "refresh_families_revoked": removed.refresh_families,
                })),
                Format::Table => println!(
                    "deleted user `{username}`: {} sessions ended, {} refresh-token families \
                     revoked",
                    removed.sessions, removed.refresh_families
                ),
            }
        }
        UserCommand::SetPassword {
            username,
            password_stdin,
        } => {
            let user = admin::users::get_by_username(ctx, &username).await?;
            let password = password(password_stdin)?;
            let ended = admin::users::set_password(ctx, &actor, &user.id, &password).await?;
            match format {
                Format::Json => format::print_json(&json!({
                    "id": user.id,
                    "username": username,
                    "sessions_ended": ended,
                })),
                Format::Table => {
                    println!("password of `{username}` changed: {ended} sessions ended")
                }
            }
        }
    }
    Ok(())
}

fn to_json(user: &User) -> Value {
    json!({
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "email": user.email,
        "roles": user.roles,
        "from_config": user.from_config,
        "created_at": user.created_at,
    })
}

fn source(user: &User) -> &'static str {
    if user.from_config {
        "config"
    } else {
        "runtime"
    }
}

fn show(user: &User, format: Format) {
    if format == Format::Json {
        format::print_json(&to_json(user));
        return;
    }
    format::print_fields(&[
        ("id", user.id.clone()),
        ("username", user.username.clone()),
        ("name", user.name.clone().unwrap_or_default()),
        ("email", user.email.clone().unwrap_or_default()),
        ("roles", user.roles.join(" ")),
        ("source", source(user).to_owned()),
    ]);
}

fn list(users: &[User], format: Format) {
    if format == Format::Json {
        let items: Vec<Value> = users.iter().map(to_json).collect();
        format::print_json(&json!({ "items": items }));
        return;
    }
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|user| {
            vec![
                user.username.clone(),
                user.id.clone(),
                user.name.clone().unwrap_or_default(),
                user.email.clone().unwrap_or_default(),
                user.roles.join(","),
                source(user).to_owned(),
            ]
        })
        .collect();
    format::print_table(
        &["USERNAME", "ID", "NAME", "EMAIL", "ROLES", "SOURCE"],
        &rows,
    );
}
