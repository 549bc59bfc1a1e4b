//! An authorization in progress while the person logs in or consents. The validated request is
//! kept in the store (10 minutes) under a random interaction id, so no parameter — `state`,
//! `nonce`, PKCE challenge — is lost or can be altered between pages. Each interaction has its
//! own CSRF token (a hidden form field) and is bound to the browser that started it by a cookie
//! whose hash it stores: a form posted from another site or another browser is refused.
//!
//! Anyone can start interactions without limit (`/authorize` needs no credentials), so each
//! client address keeps at most `sessions.pending_logins_per_address` of them: starting one more
//! evicts its oldest, whose page then says the request expired. The interaction id is
//! `<address tag>.<random>`, so the record is found under its address's tag, in the slot of the
//! index the store evicts from (`Store::put_capped`); it stays valid when the person's address
//! changes before they finish.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::context::Context;
use crate::error::OAuthError;
use crate::oauth::authorize::AuthorizationRequest;
use crate::secret::random_token;
use crate::store::{self, keyspace, StoreError};

use super::client_address;

/// How long a person has to finish logging in and consenting.
pub const PENDING_TTL: Duration = Duration::from_secs(600);

/// A pending authorization.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub request: AuthorizationRequest,
    /// Expected in the form's hidden `csrf_token` field.
    pub csrf: String,
    /// SHA-256 of the browser-binding cookie.
    browser: String,
    /// The person logged in during this interaction (satisfies `prompt=login` / `max_age`).
    pub logged_in: bool,
}

/// The address tag interaction `id` starts with, and its store key under that tag. `None` for
/// an id ferrid cannot have made.
fn key(id: &str) -> Option<(&str, String)> {
    let (tag, _) = id.split_once('.')?;
    client_address::is_tag(tag).then(|| (tag, keyspace::pending(tag, id)))
}

/// The stored form of the browser-binding cookie: the same digest that keys other secrets, so
/// the store never holds a value a browser could present.
fn browser_hash(bind_cookie: &str) -> String {
    keyspace::digest(bind_cookie)
}

impl Pending {
    /// Starts an interaction for `request` in the browser holding `bind_cookie`, from the client
    /// address tagged `address_tag`; evicts that address's oldest beyond the bound.
    pub async fn start(
        ctx: &Context,
        request: AuthorizationRequest,
        bind_cookie: &str,
        address_tag: &str,
    ) -> Result<(String, Self), OAuthError> {
        let random = random_token().map_err(OAuthError::server_error)?;
        let id = format!("{address_tag}.{random}");
        let pending = Self {
            request,
            csrf: random_token().map_err(OAuthError::server_error)?,
            browser: browser_hash(bind_cookie),
            logged_in: false,
        };
        let bound = ctx.settings().sessions.pending_logins_per_address;
        ctx.store()
            .put_capped(
                &keyspace::pending_by_address(address_tag),
                &keyspace::pending(address_tag, &id),
                store::encode(&pending)?,
                PENDING_TTL,
                bound,
            )
            .await?;
        Ok((id, pending))
    }

    /// The interaction `id`, if it has not expired (or been evicted).
    pub async fn find(ctx: &Context, id: &str) -> Result<Option<Self>, StoreError> {
        match key(id) {
            Some((_, key)) => store::get_json(ctx.store(), &key).await,
            None => Ok(None),
        }
    }

    /// Stores the interaction's current state.
    pub async fn save(&self, ctx: &Context, id: &str) -> Result<(), StoreError> {
        let (_, key) =
            key(id).ok_or_else(|| StoreError::Corrupt("malformed interaction id".into()))?;
        store::put_json(ctx.store(), &key, self, Some(PENDING_TTL)).await
    }

    /// Ends the interaction; it no longer counts towards its address's bound.
    pub async fn finish(ctx: &Context, id: &str) -> Result<(), StoreError> {
        let Some((tag, key)) = key(id) else {
            return Ok(());
        };
        let index = keyspace::pending_by_address(tag);
        ctx.store().delete_capped(&index, &key).await.map(|_| ())
    }

    /// Whether the browser holding `bind_cookie` started this interaction.
    pub fn same_browser(&self, bind_cookie: Option<&str>) -> bool {
        bind_cookie.is_some_and(|cookie| {
            browser_hash(cookie)
                .as_bytes()
                .ct_eq(self.browser.as_bytes())
                .into()
        })
    }

    /// Whether `token` is this interaction's CSRF token (constant time).
    pub fn csrf_matches(&self, token: Option<&str>) -> bool {
        token.is_some_and(|token| token.as_bytes().ct_eq(self.csrf.as_bytes()).into())
    }
}
