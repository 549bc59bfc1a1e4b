//! Pushed authorization requests (RFC 9126). A client authenticates at `/par` exactly as at the
//! token endpoint and sends the authorization request's parameters there, out of the browser's
//! reach; they are validated by `authorize::check`, the same function `/authorize` uses, and the
//! validated request is stored under a fresh `request_uri` for `PUSHED_REQUEST_TTL`. The browser
//! then carries only `client_id` and `request_uri` to `/authorize`, which takes the request once
//! (`redeem`).
//!
//! What `/authorize` does with a `request_uri` it cannot use — unknown, expired, already used,
//! or pushed by another client — is an error page, never a redirect: every parameter of the
//! request is the pushed one's (RFC 9126 §4: the front channel's are ignored), so with the
//! pushed request gone or not this client's there is no verified redirect URI to send an error
//! to, only the person to tell.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::error::browser::BrowserError;
use crate::error::{ErrorCode, OAuthError};
use crate::oauth::authorize::{self, AuthorizationRequest, AuthorizeParams, Channel};
use crate::oauth::client_auth::{self, ClientCredentials};
use crate::oauth::clients::{self, Client};
use crate::secret::random_token;
use crate::store::{self, keyspace};
use crate::telemetry::{self, AuditEvent};

/// RFC 9126 §2.2: the prefix of every `request_uri` ferrid issues.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a pushed request waits for the browser (RFC 9126 §2.2 suggests 5 to 600 seconds;
/// FAPI 2.0 §5.3.2.2 asks for less than 600): a minute covers a redirect, not a stored link.
pub const PUSHED_REQUEST_TTL: Duration = Duration::from_secs(60);

/// The answer to a pushed request (RFC 9126 §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRequest {
    pub request_uri: String,
    /// Seconds the `request_uri` stays usable.
    pub expires_in: u64,
}

/// A stored pushed request; `expires_at` is checked as well as the store's TTL, so the answer
/// does not depend on when the store gets round to expiring it.
#[derive(Serialize, Deserialize)]
struct Pushed {
    request: AuthorizationRequest,
    expires_at: u64,
}

/// Handles `/par`: authenticates the client, validates `params` as `/authorize` would, and
/// stores the request under a new `request_uri`.
pub async fn push(
    ctx: &Context,
    credentials: ClientCredentials,
    params: AuthorizeParams,
) -> Result<PushedRequest, OAuthError> {
    // A body `client_id` naming another client than the Basic credentials is refused here.
    let client = client_auth::authenticate(ctx, credentials).await?;
    for name in [
        "client_id",
        "client_secret",
        "client_assertion_type",
        "client_assertion",
    ] {
        if params.repeated.iter().any(|repeated| repeated == name) {
            return Err(OAuthError::invalid_request(format!(
                "{name} was sent more than once"
            )));
        }
    }
    let request = authorize::check(ctx.settings(), &client, params, Channel::Pushed)
        .map_err(as_oauth_error)?;
    let request_uri = format!(
        "{REQUEST_URI_PREFIX}{}",
        random_token().map_err(OAuthError::server_error)?
    );
    let pushed = Pushed {
        request,
        expires_at: ctx.clock().now_secs() + PUSHED_REQUEST_TTL.as_secs(),
    };
    store::put_json(
        ctx.store(),
        &keyspace::pushed_request(&request_uri),
        &pushed,
        Some(PUSHED_REQUEST_TTL),
    )
    .await?;
    tracing::info!(client_id = %client.client_id, "authorization request pushed");
    Ok(PushedRequest {
        request_uri,
        expires_in: PUSHED_REQUEST_TTL.as_secs(),
    })
}

/// RFC 9126 §2.3: `/par` answers every error as JSON — a redirect it would have been at
/// `/authorize` becomes its error, a page an `invalid_request` saying the same.
fn as_oauth_error(err: BrowserError) -> OAuthError {
    match err {
        BrowserError::Redirect(redirect) => redirect.error,
        BrowserError::Page { status, message } => match status {
            503 => OAuthError::temporarily_unavailable(message),
            500 => OAuthError::new(ErrorCode::ServerError, message),
            _ => OAuthError::invalid_request(message),
        },
    }
}

const GONE: &str = "This sign-in request has expired or was already used (request_uri). Go back to the application and start again.";

/// Takes the pushed request `request_uri` for `client_id` at `/authorize`: once, before it
/// expires, and only for the client that pushed it.
pub async fn redeem(
    ctx: &Context,
    client_id: &str,
    request_uri: &str,
) -> Result<(Client, AuthorizationRequest), BrowserError> {
    if !request_uri.starts_with(REQUEST_URI_PREFIX) {
        return Err(BrowserError::page(
            "The application sent a request_uri this server did not issue.",
        ));
    }
    // Taken before anything else is checked: a request_uri presented by the wrong client, or
    // twice, is used up either way (RFC 9126 §4: one-time use).
    let key = keyspace::pushed_request(request_uri);
    let Some(bytes) = ctx.store().take(&key).await? else {
        return Err(BrowserError::page(GONE));
    };
    let pushed: Pushed = store::decode(&key, &bytes)?;
    if pushed.expires_at <= ctx.clock().now_secs() {
        return Err(BrowserError::page(GONE));
    }
    if pushed.request.client_id != client_id {
        telemetry::record(AuditEvent::RequestUriMisused { client_id });
        return Err(BrowserError::page(
            "This request_uri was issued to another application.",
        ));
    }
    let client = clients::find(ctx.store(), client_id)
        .await?
        .ok_or_else(|| {
            BrowserError::page("The application of this sign-in request is no longer registered.")
        })?;
    Ok((client, pushed.request))
}
