//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592): a client app
//! registers itself at `POST /register` and gets a `client_id`, a secret (confidential clients)
//! and a registration access token, with which it reads, replaces and deletes its registration
//! at its registration client URI (`/register/{client_id}`). `registration.mode` says who may
//! register (`closed`, `initial_access_token`, `open`); `policy` what a registration may ask
//! for; the metadata goes through the one client validator, and the client is written through
//! `oauth::clients::store` like every other. The registration access token is generated here,
//! returned once, stored only as a SHA-256 in the client record, compared in constant time, and
//! replaced on every PUT (the old one stops working in the same atomic write). Clients from the
//! config, the admin API or the CLI have none, so they cannot be managed here. Every answer for
//! an unknown client, a client without a token or a wrong token is the same 401, so the URI
//! tells nothing about which clients exist. With `store.durability = "replicated"` nothing is
//! handed out before a replica holds it: an unacknowledged registration is deleted again, an
//! unacknowledged replacement put back (both best effort), and the caller gets 503.

mod error;
pub mod initial_access_token;
pub mod policy;

use std::net::IpAddr;
use std::time::Duration;

pub use error::RegistrationError;

use crate::admin;
use crate::config::RegistrationMode;
use crate::context::Context;
use crate::interaction::client_address;
use crate::oauth::clients::store as client_store;
use crate::oauth::clients::{self, AuthMethod, Client, ClientMetadata, Rules};
use crate::secret::{random_token, sha256, SecretString};
use crate::store::{keyspace, Count};
use crate::telemetry::{self, AuditEvent, RegistrationAction};

/// The description of every refused registration access token.
const NOT_THIS_CLIENT: &str =
    "the registration access token is not valid for this client registration";

/// A client as registered or replaced: what the RFC 7591 §3.2.1 response carries besides its
/// metadata. Secrets appear only here, once.
#[derive(Debug)]
pub struct Registration {
    pub client: Client,
    /// A newly issued client secret (registration, or a public client made confidential).
    pub client_secret: Option<SecretString>,
    /// A newly issued registration access token (registration and every replacement).
    pub registration_access_token: Option<SecretString>,
}

/// What a replacement (RFC 7592 §2.2) sends besides the metadata.
#[derive(Debug, Default)]
pub struct Replacement {
    /// Must be the client's id.
    pub client_id: Option<String>,
    /// When present, must be the client's current secret.
    pub client_secret: Option<SecretString>,
    pub metadata: ClientMetadata,
}

fn rules(ctx: &Context) -> Rules<'_> {
    Rules {
        catalog: ctx.scope_catalog(),
        issuer: ctx.settings().issuer(),
    }
}

fn new_secret() -> Result<SecretString, RegistrationError> {
    random_token()
        .map(SecretString::new)
        .map_err(RegistrationError::server)
}

/// Whether the client authenticates with a shared secret (`client_secret_basic`, the default,
/// or `client_secret_post`); public and `private_key_jwt` clients get none.
fn uses_secret(metadata: &ClientMetadata) -> bool {
    metadata
        .token_endpoint_auth_method
        .as_deref()
        .and_then(AuthMethod::parse)
        .is_none_or(AuthMethod::uses_secret)
}

/// Registers a client from `metadata` (RFC 7591 §3.1), if `registration.mode` lets the caller:
/// `initial_access_token` is the bearer token the request carried, `address` the client
/// address it came from (open registrations are counted per address).
pub async fn register(
    ctx: &Context,
    initial_access_token: Option<&str>,
    address: Option<IpAddr>,
    metadata: ClientMetadata,
) -> Result<Registration, RegistrationError> {
    let mode = ctx.settings().registration.mode;
    let token = match mode {
        RegistrationMode::Closed => return Err(RegistrationError::Closed),
        RegistrationMode::Open => None,
        RegistrationMode::InitialAccessToken => {
            let token = initial_access_token.ok_or(RegistrationError::TokenMissing(
                "registration needs an initial access token from the operator: \
                 Authorization: Bearer <token>",
            ))?;
            // Checked before the metadata, so that only token holders learn what is accepted.
            if !initial_access_token::is_valid(ctx, token).await? {
                return Err(invalid_initial_token());
            }
            Some(token)
        }
    };
    let metadata = policy::apply(metadata, mode)?;
    let client_id = clients::generate_id().map_err(RegistrationError::server)?;
    let secret = new_secret()?;
    let access_token = new_secret()?;
    let digest = uses_secret(&metadata).then(|| sha256(secret.expose().as_bytes()));
    let mut client = clients::validate(&client_id, &metadata, digest, &rules(ctx))?
        .with_registration_token_sha256(Some(sha256(access_token.expose().as_bytes())));
    client.created_at = ctx.clock().now_secs();
    // The use is taken (or the registration counted) only for a registration that will be
    // written.
    if let Some(token) = token {
        if !initial_access_token::consume(ctx, token).await? {
            return Err(invalid_initial_token());
        }
    }
    if mode == RegistrationMode::Open {
        count_open_registration(ctx, address).await?;
    }
    if !client_store::create(ctx.store(), &client).await? {
        return Err(RegistrationError::server(format!(
            "generated client id `{client_id}` is taken"
        )));
    }
    if let Err(err) = ctx.acknowledge_writes().await {
        // Nothing is handed out: the record is taken away again (best effort; a record left
        // behind is unusable, as nobody holds its secret or registration access token).
        let ours = |current: &Client| current == &client;
        if let Err(cleanup) = admin::clients::remove_if(ctx, &client_id, ours).await {
            tracing::warn!(client_id, error = %cleanup, "unacknowledged registration left behind");
        }
        return Err(err.into());
    }
    telemetry::record(AuditEvent::RegistrationChange {
        action: RegistrationAction::Registered,
        client_id: &client.client_id,
        initial_access_token: token.is_some(),
    });
    let client_secret = client.has_secret().then_some(secret);
    Ok(Registration {
        client,
        client_secret,
        registration_access_token: Some(access_token),
    })
}

/// How long open registrations from one address are counted.
pub const OPEN_WINDOW: Duration = Duration::from_secs(3600);

/// Counts an open registration from `address`, or refuses it: anyone may register, but not
/// fill the store with clients.
async fn count_open_registration(
    ctx: &Context,
    address: Option<IpAddr>,
) -> Result<(), RegistrationError> {
    let key = keyspace::open_registrations(&client_address::tag(ctx, address));
    let limit = u64::from(ctx.settings().registration.open_registrations_per_hour);
    let now = ctx.clock().now_millis();
    match ctx
        .store()
        .count_below_limits(&[(key.as_str(), limit)], OPEN_WINDOW, now)
        .await?
    {
        Count::Counted => Ok(()),
        Count::Full { retry_after } => Err(RegistrationError::Throttled(
            retry_after.as_millis().div_ceil(1000).max(1) as u64,
        )),
    }
}

fn invalid_initial_token() -> RegistrationError {
    RegistrationError::InvalidToken(
        "the initial access token is unknown, expired or used up; ask the operator for a new one",
    )
}

/// The client `client_id` if `token` is its registration access token; otherwise the one 401
/// every mismatch gets (unknown client, a client without a token, a wrong or rotated token).
async fn authorized(
    ctx: &Context,
    client_id: &str,
    token: Option<&str>,
) -> Result<Client, RegistrationError> {
    let token = token.ok_or(RegistrationError::TokenMissing(
        "managing a registration needs its registration access token: \
         Authorization: Bearer <token>",
    ))?;
    match clients::find(ctx.store(), client_id).await? {
        Some(client) if client.registration_token_matches(token) => Ok(client),
        _ => Err(rejected(client_id)),
    }
}

fn rejected(client_id: &str) -> RegistrationError {
    telemetry::record(AuditEvent::RegistrationTokenRejected { client_id });
    RegistrationError::InvalidToken(NOT_THIS_CLIENT)
}

/// Reads the registration of `client_id` (RFC 7592 §2.1).
pub async fn read(
    ctx: &Context,
    client_id: &str,
    token: Option<&str>,
) -> Result<Client, RegistrationError> {
    authorized(ctx, client_id, token).await
}

/// Replaces the registration of `client_id` as a whole (RFC 7592 §2.2): the metadata goes
/// through the policy and the validator again, the secret stays (a public client made
/// confidential gets one, a confidential one made public loses it), and the registration access
/// token is replaced — the presented one stops working in the same atomic write.
pub async fn replace(
    ctx: &Context,
    client_id: &str,
    token: Option<&str>,
    replacement: Replacement,
) -> Result<Registration, RegistrationError> {
    let current = authorized(ctx, client_id, token).await?;
    let token = token.unwrap_or_default();
    if replacement.client_id.as_deref() != Some(client_id) {
        return Err(RegistrationError::metadata(
            "client_id",
            "must be present and equal the client's id (RFC 7592 section 2.2)",
        ));
    }
    if let Some(secret) = &replacement.client_secret {
        if !current.secret_matches(secret.expose()) {
            return Err(RegistrationError::metadata(
                "client_secret",
                "when present, must be the client's current secret (RFC 7592 section 2.2)",
            ));
        }
    }
    let mode = ctx.settings().registration.mode;
    let fresh_secret = new_secret()?;
    let fresh_digest = sha256(fresh_secret.expose().as_bytes());
    let access_token = new_secret()?;
    let access_digest = sha256(access_token.expose().as_bytes());
    let mut issued = false;
    let mut previous = None;
    let client = client_store::replace(ctx.store(), client_id, |current: Client| {
        previous = Some(current.clone());
        // Checked again on the record being replaced: of two replacements racing with the
        // same token, the second finds it rotated away.
        if !current.registration_token_matches(token) {
            return Err(rejected(client_id));
        }
        // Judged against the record being replaced, not the one read first: a privilege the
        // operator took away since must not come back with this replacement.
        let metadata =
            policy::apply_within(replacement.metadata.clone(), mode, &current.metadata())?;
        let with_secret = uses_secret(&metadata);
        let secret = match current.secret_sha256() {
            _ if !with_secret => None,
            Some(kept) => Some(kept),
            None => Some(fresh_digest),
        };
        issued = with_secret && current.secret_sha256().is_none();
        let mut next = clients::validate(client_id, &metadata, secret, &rules(ctx))?
            .with_registration_token_sha256(Some(access_digest));
        next.created_at = current.created_at;
        Ok(next)
    })
    .await?;
    if let Err(err) = ctx.acknowledge_writes().await {
        if let Some(previous) = previous {
            restore(ctx, previous, &client).await;
        }
        return Err(err.into());
    }
    telemetry::record(AuditEvent::RegistrationChange {
        action: RegistrationAction::Replaced,
        client_id,
        initial_access_token: false,
    });
    Ok(Registration {
        client,
        client_secret: issued.then_some(fresh_secret),
        registration_access_token: Some(access_token),
    })
}

/// After a replacement no replica acknowledged: puts `previous` back unless the record is no
/// longer exactly the one the replacement wrote (`written`; an admin change since stays), best
/// effort, so that the registration access token the client still holds keeps working for a
/// retry instead of the one that was never handed out.
async fn restore(ctx: &Context, previous: Client, written: &Client) {
    let client_id = previous.client_id.clone();
    let restored = client_store::replace(ctx.store(), &client_id, |current: Client| {
        if &current == written {
            Ok(previous.clone())
        } else {
            Err(RegistrationError::InvalidToken(NOT_THIS_CLIENT))
        }
    })
    .await;
    if let Err(err) = restored {
        tracing::warn!(client_id, error = %err, "unacknowledged registration replacement kept");
    }
}

/// Deletes the registration of `client_id` (RFC 7592 §2.3) the way the admin API deletes a
/// client: its refresh tokens (and the access tokens they issued) and outstanding codes are
/// revoked, and the answer waits for a replica (`store.durability`).
pub async fn delete(
    ctx: &Context,
    client_id: &str,
    token: Option<&str>,
) -> Result<(), RegistrationError> {
    authorized(ctx, client_id, token).await?;
    // Deleted only while the token still matches: a replacement racing this request may have
    // rotated it away.
    let token = token.unwrap_or_default();
    let removed = admin::clients::remove_if(ctx, client_id, |client| {
        client.registration_token_matches(token)
    })
    .await?;
    if removed.is_none() {
        return Err(rejected(client_id));
    }
    ctx.acknowledge_writes().await?;
    telemetry::record(AuditEvent::RegistrationChange {
        action: RegistrationAction::Deleted,
        client_id,
        initial_access_token: false,
    });
    Ok(())
}

#[cfg(test)]
mod tests;
