//! Fetching the JWK Sets clients publish at their `jwks_uri` (RFC 7591 §2), for
//! `private_key_jwt`. Another party's server is on the other end, so every fetch is bounded —
//! `private_key_jwt.jwks_fetch_timeout_ms` for the whole exchange, `jwks_max_bytes` for the
//! body, no redirects, https only (plain http to a loopback host, for local development) — and
//! its result is cached for `jwks_cache_secs`. A `kid` the cached set lacks (the client rotated
//! its keys) refetches it, and so does an expired cache; either happens at most once per
//! `jwks_refetch_interval_secs` per client, and failed fetches count too, so a stream of forged
//! `kid`s or a dead `jwks_uri` costs ferrid one request a minute, not one per assertion. One
//! fetch per client runs at a time; requests arriving meanwhile wait for its result.
//!
//! The HTTP client is reqwest on rustls with the aws-lc-rs provider ferrid uses everywhere,
//! trusting the system's root certificates; it is built on first use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use super::jwks::ClientKeySet;
use crate::config::PrivateKeyJwtSettings;

/// Most clients whose key sets are cached; beyond it the cache starts afresh.
const MAX_CLIENTS: usize = 10_000;

/// The cache of fetched client key sets (one per `Context`).
#[derive(Default)]
pub struct JwksCache {
    http: OnceLock<Result<reqwest::Client, String>>,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
}

#[derive(Default)]
struct Slot {
    keys: Option<Arc<ClientKeySet>>,
    /// When `keys` were fetched (milliseconds since the epoch).
    fetched_at: u64,
    /// When the last fetch started, successful or not.
    last_attempt: Option<u64>,
    /// Why the last fetch failed, when it did.
    last_error: Option<String>,
}

impl JwksCache {
    /// The key set client `client_id` publishes at `uri`, from the cache or fetched; refetched
    /// (within the rate limit) when the cached set has no key `kid`. The error says what went
    /// wrong, for an `invalid_client` description.
    pub async fn keys(
        &self,
        settings: &PrivateKeyJwtSettings,
        now_millis: u64,
        client_id: &str,
        uri: &str,
        kid: Option<&str>,
    ) -> Result<Arc<ClientKeySet>, String> {
        let slot = self.slot(client_id, uri);
        let mut slot = slot.lock().await;
        let cache_ms = settings.jwks_cache_secs.saturating_mul(1000);
        let fresh = |slot: &Slot| {
            slot.keys.is_some() && now_millis < slot.fetched_at.saturating_add(cache_ms)
        };
        let wanted = match &slot.keys {
            Some(keys) if fresh(&slot) => kid.is_some_and(|kid| !keys.has_kid(kid)),
            _ => true,
        };
        let interval_ms = settings.jwks_refetch_interval_secs.saturating_mul(1000);
        let allowed = slot
            .last_attempt
            .is_none_or(|last| now_millis >= last.saturating_add(interval_ms));
        if wanted && allowed {
            slot.last_attempt = Some(now_millis);
            match self.fetch(settings, uri).await {
                Ok(keys) => {
                    slot.keys = Some(Arc::new(keys));
                    slot.fetched_at = now_millis;
                    slot.last_error = None;
                }
                // A set still fresh stays usable (only a new `kid` was missed).
                Err(err) => slot.last_error = Some(err),
            }
        }
        match (&slot.keys, &slot.last_error) {
            (Some(keys), _) if fresh(&slot) => Ok(keys.clone()),
            (_, Some(err)) if wanted && allowed => {
                Err(format!("the client's jwks_uri could not be fetched: {err}"))
            }
            (_, Some(err)) => Err(format!(
                "the client's jwks_uri could not be fetched: {err}; it is tried again at most \
                 once every {} seconds",
                settings.jwks_refetch_interval_secs
            )),
            _ => Err(format!(
                "the client's jwks_uri was fetched less than {} seconds ago and its keys have \
                 expired; retry shortly",
                settings.jwks_refetch_interval_secs
            )),
        }
    }

    fn slot(&self, client_id: &str, uri: &str) -> Arc<tokio::sync::Mutex<Slot>> {
        // A poisoned lock only means another request panicked while holding it; the map is
        // still a valid cache.
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = format!("{client_id}\n{uri}");
        if !slots.contains_key(&key) && slots.len() >= MAX_CLIENTS {
            slots.clear();
        }
        slots.entry(key).or_default().clone()
    }

    fn client(&self) -> Result<&reqwest::Client, String> {
        self.http
            .get_or_init(build_client)
            .as_ref()
            .map_err(Clone::clone)
    }

    async fn fetch(
        &self,
        settings: &PrivateKeyJwtSettings,
        uri: &str,
    ) -> Result<ClientKeySet, String> {
        let url = url::Url::parse(uri).map_err(|_| format!("`{uri}` is not a URL"))?;
        // Checked at registration too; a record from before that check must not reach further.
        match url.scheme() {
            "https" => {}
            "http" if crate::config::is_loopback(&url) => {}
            _ => return Err(format!("`{uri}` is not an https URL")),
        }
        let timeout = Duration::from_millis(settings.jwks_fetch_timeout_ms);
        let describe = |err: reqwest::Error| {
            if err.is_timeout() {
                format!("no answer within {} ms", settings.jwks_fetch_timeout_ms)
            } else if err.is_connect() {
                "the connection failed".to_owned()
            } else {
                "the request failed".to_owned()
            }
        };
        let mut response = self
            .client()?
            .get(url)
            .header(
                reqwest::header::ACCEPT,
                "application/jwk-set+json, application/json",
            )
            .timeout(timeout)
            .send()
            .await
            .map_err(describe)?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("it answered HTTP {}", status.as_u16()));
        }
        let max = settings.jwks_max_bytes;
        let too_large = || format!("the answer is larger than {max} bytes");
        if response
            .content_length()
            .is_some_and(|length| length > max as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(describe)? {
            if body.len() + chunk.len() > max {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let jwks: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| "the answer is not JSON".to_owned())?;
        ClientKeySet::parse(&jwks)
            .map_err(|err| format!("the answer is not a usable JWK Set: {err}"))
    }
}

fn build_client() -> Result<reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("TLS is not available: {err}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        // A jwks_uri is the key set itself, not a pointer to one elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("ferrid/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| format!("the HTTP client could not be built: {err}"))
}
