//! `ferrid client create | list | show | update | delete | rotate-secret`: the clients of the
//! Redis store the config names, changed while instances run, through the same operations as
//! the admin API (`admin::clients`): the one validator, 409 for an id taken or a client the
//! config owns, a generated secret printed once. Metadata comes from flags, or as RFC 7591 JSON
//! from `--metadata FILE` (`-` for stdin) with flags overriding its fields; `update` changes only
//! the fields given.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::format::{self, Format};
use crate::admin::{self, Actor, AdminError};
use crate::context::Context;
use crate::oauth::clients::{Client, ClientMetadata};
use crate::secret::SecretString;

#[derive(Debug, Args)]
pub struct ClientArgs {
    /// `table` (default) or `json`.
    #[arg(long, value_enum, default_value_t, global = true)]
    pub format: Format,
    #[command(subcommand)]
    pub command: ClientCommand,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; a confidential client's secret is printed once.
    Create {
        /// The client id; a random one when absent.
        id: Option<String>,
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// List every client.
    List,
    /// Show one client.
    Show {
        /// The client id.
        id: String,
    },
    /// Change a client: the fields given are replaced, the others kept.
    Update {
        /// The client id.
        id: String,
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// Delete a client, revoking its refresh tokens and outstanding codes.
    Delete {
        /// The client id.
        id: String,
    },
    /// Give a confidential client a new secret (printed once); the old one stops working.
    RotateSecret {
        /// The client id.
        id: String,
    },
}

/// Client metadata as flags (RFC 7591 names in kebab case).
#[derive(Debug, Default, Args)]
pub struct MetadataArgs {
    /// RFC 7591 client metadata as a JSON file (`-`: stdin); the flags below override it.
    #[arg(long)]
    metadata: Option<PathBuf>,
    /// Name shown on the login and consent pages.
    #[arg(long)]
    name: Option<String>,
    /// A grant type: authorization_code, client_credentials, refresh_token (repeat for more).
    #[arg(long = "grant-type")]
    grant_types: Vec<String>,
    /// Space-separated scopes the client may request.
    #[arg(long)]
    scope: Option<String>,
    /// Space-separated scopes granted when a request names none.
    #[arg(long)]
    default_scope: Option<String>,
    /// A redirect URI (repeat for more).
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// A post-logout redirect URI (repeat for more).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// client_secret_basic (default), client_secret_post, private_key_jwt (with --jwks-uri; no
    /// secret is issued) or none (public).
    #[arg(long)]
    token_endpoint_auth_method: Option<String>,
    /// A public client (token_endpoint_auth_method none, no secret).
    #[arg(long)]
    public: bool,
    /// An audience the client may request tokens for (repeat for more).
    #[arg(long = "audience")]
    audiences: Vec<String>,
    /// A browser origin allowed to call ferrid for this client (repeat for more).
    #[arg(long = "allowed-cors-origin")]
    allowed_cors_origins: Vec<String>,
    /// Where the client publishes its JWK Set.
    #[arg(long)]
    jwks_uri: Option<String>,
    /// rotate (default) or reuse.
    #[arg(long)]
    refresh_token_rotation: Option<String>,
    /// Skip the consent page (first-party apps); `--skip-consent=false` to ask again.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    skip_consent: Option<bool>,
    /// Refresh tokens even without offline_access.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    issue_refresh_tokens: Option<bool>,
    /// May introspect any active token (a trusted resource server).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    introspect_any_token: Option<bool>,
}

impl MetadataArgs {
    /// `base` (or the `--metadata` document instead) with every given flag applied.
    fn apply(self, base: ClientMetadata) -> Result<ClientMetadata, String> {
        let mut metadata = match &self.metadata {
            Some(path) => read_metadata(path)?,
            None => base,
        };
        let replace = |target: &mut Vec<String>, given: Vec<String>| {
            if !given.is_empty() {
                *target = given;
            }
        };
        metadata.client_name = self.name.or(metadata.client_name);
        if !self.grant_types.is_empty() {
            metadata.grant_types = Some(self.grant_types);
            metadata.response_types = None;
        }
        if self.scope.is_some() {
            // New scopes: the default follows them unless given too.
            metadata.scope = self.scope;
            metadata.default_scope = None;
        }
        metadata.default_scope = self.default_scope.or(metadata.default_scope);
        replace(&mut metadata.redirect_uris, self.redirect_uris);
        replace(
            &mut metadata.post_logout_redirect_uris,
            self.post_logout_redirect_uris,
        );
        replace(&mut metadata.audiences, self.audiences);
        replace(
            &mut metadata.allowed_cors_origins,
            self.allowed_cors_origins,
        );
        if self.public {
            metadata.token_endpoint_auth_method = Some("none".into());
        }
        metadata.token_endpoint_auth_method = self
            .token_endpoint_auth_method
            .or(metadata.token_endpoint_auth_method);
        metadata.jwks_uri = self.jwks_uri.or(metadata.jwks_uri);
        metadata.refresh_token_rotation = self
            .refresh_token_rotation
            .or(metadata.refresh_token_rotation);
        metadata.skip_consent = self.skip_consent.unwrap_or(metadata.skip_consent);
        metadata.issue_refresh_tokens = self
            .issue_refresh_tokens
            .unwrap_or(metadata.issue_refresh_tokens);
        metadata.introspect_any_token = self
            .introspect_any_token
            .unwrap_or(metadata.introspect_any_token);
        Ok(metadata)
    }
}

fn read_metadata(path: &PathBuf) -> Result<ClientMetadata, String> {
    let text = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|err| format!("cannot read stdin: {err}"))?;
        text
    } else {
        std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?
    };
    serde_json::from_str(&text)
        .map_err(|err| format!("{}: not RFC 7591 client metadata: {err}", path.display()))
}

/// Runs a `client` subcommand: 0 done, 1 refused or failed, 2 a configuration error.
pub fn run(config: Option<PathBuf>, args: ClientArgs) -> ExitCode {
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
    let ctx = match format::redis_context(settings, "client") {
        Ok(ctx) => ctx,
        Err(code) => return code,
    };
    match runtime.block_on(execute(&ctx, args.command, args.format)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => format::fail(&err),
    }
}

async fn execute(ctx: &Context, command: ClientCommand, format: Format) -> Result<(), AdminError> {
    let actor = Actor::cli();
    let invalid = AdminError::InvalidRequest;
    match command {
        ClientCommand::Create { id, metadata } => {
            let metadata = metadata.apply(ClientMetadata::default()).map_err(invalid)?;
            let registered = admin::clients::create(ctx, &actor, id, &metadata).await?;
            show(
                &registered.client,
                registered.client_secret.as_ref(),
                format,
            );
        }
        ClientCommand::List => {
            let mut clients = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = admin::clients::list(ctx, after.as_deref(), Some(200)).await?;
                clients.extend(page.items);
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            list(&clients, format);
        }
        ClientCommand::Show { id } => show(&admin::clients::get(ctx, &id).await?, None, format),
        ClientCommand::Update { id, metadata } => {
            let current = admin::clients::get(ctx, &id).await?;
            let metadata = metadata.apply(current.metadata()).map_err(invalid)?;
            let registered = admin::clients::replace(ctx, &actor, &id, &metadata).await?;
            show(
                &registered.client,
                registered.client_secret.as_ref(),
                format,
            );
        }
        ClientCommand::Delete { id } => {
            let removed = admin::clients::delete(ctx, &actor, &id).await?;
            match format {
                Format::Json => format::print_json(&json!({
                    "client_id": id,
                    "refresh_families_revoked": removed.refresh_families,
                    "codes_revoked": removed.codes,
                })),
                Format::Table => println!(
                    "deleted client `{id}`: {} refresh-token families and {} codes revoked",
                    removed.refresh_families, removed.codes
                ),
            }
        }
        ClientCommand::RotateSecret { id } => {
            let registered = admin::clients::rotate_secret(ctx, &actor, &id).await?;
            show(
                &registered.client,
                registered.client_secret.as_ref(),
                format,
            );
        }
    }
    Ok(())
}

/// The client as JSON: its RFC 7591 metadata, id, registration time and origin, and the secret
/// when one was just issued.
fn to_json(client: &Client, secret: Option<&SecretString>) -> Value {
    let mut value = serde_json::to_value(client.metadata()).unwrap_or_default();
    value["client_id"] = json!(client.client_id);
    value["client_id_issued_at"] = json!(client.created_at);
    value["from_config"] = json!(client.from_config);
    if let Some(secret) = secret {
        value["client_secret"] = json!(secret.expose());
        value["client_secret_expires_at"] = json!(0);
    }
    value
}

fn source(client: &Client) -> &'static str {
    if client.from_config {
        "config"
    } else {
        "runtime"
    }
}

fn show(client: &Client, secret: Option<&SecretString>, format: Format) {
    if format == Format::Json {
        format::print_json(&to_json(client, secret));
        return;
    }
    let metadata = client.metadata();
    let mut fields = vec![
        ("client_id", client.client_id.clone()),
        ("client_name", client.name.clone()),
        ("source", source(client).to_owned()),
        (
            "token_endpoint_auth_method",
            client.auth_method.as_str().to_owned(),
        ),
        (
            "grant_types",
            metadata.grant_types.unwrap_or_default().join(" "),
        ),
        ("scope", client.scopes.join(" ")),
        ("default_scope", client.default_scopes.join(" ")),
        ("redirect_uris", client.redirect_uris.join(" ")),
        (
            "post_logout_redirect_uris",
            client.post_logout_redirect_uris.join(" "),
        ),
        ("audiences", client.audiences.join(" ")),
        (
            "allowed_cors_origins",
            client.allowed_cors_origins.join(" "),
        ),
        ("skip_consent", client.skip_consent.to_string()),
    ];
    if let Some(secret) = secret {
        fields.push((
            "client_secret",
            format!("{}   (shown once: store it now)", secret.expose()),
        ));
    }
    format::print_fields(&fields);
}

fn list(clients: &[Client], format: Format) {
    if format == Format::Json {
        let items: Vec<Value> = clients.iter().map(|c| to_json(c, None)).collect();
        format::print_json(&json!({ "items": items }));
        return;
    }
    let rows: Vec<Vec<String>> = clients
        .iter()
        .map(|client| {
            let grants: Vec<&str> = client.grant_types.iter().map(|g| g.as_str()).collect();
            vec![
                client.client_id.clone(),
                client.name.clone(),
                client.auth_method.as_str().to_owned(),
                grants.join(","),
                client.scopes.join(" "),
                source(client).to_owned(),
            ]
        })
        .collect();
    format::print_table(
        &[
            "CLIENT_ID",
            "NAME",
            "AUTH",
            "GRANT_TYPES",
            "SCOPE",
            "SOURCE",
        ],
        &rows,
    );
}
