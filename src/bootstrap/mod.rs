//! Start-up, above the domain and the only place that knows both store backends: settings →
//! store → key persistence → `Context` (`build`, `with_store`), then `provision` brings the store
//! up to date (clients and users from the config, the key ring loaded or created) and marks it
//! provisioned. `ferrid serve` provisions once before it listens; while Redis is unreachable,
//! `until_ready` retries with backoff, so ferrid starts, reports not-ready on `/readyz` with the
//! reason, and becomes ready by itself. `maintain` then keeps the key ring current and on its
//! rotation schedule, and provisions the store again if it loses its data (`recovery`), for as
//! long as ferrid runs.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::SharedClock;
use crate::config::swagger_ui_client;
use crate::config::{ConfigError, Settings, StoreKind};
use crate::context::Context;
use crate::keys::live::{LiveKeys, RingOrigin};
use crate::keys::persist::KeyPersistence;
use crate::keys::schedule::Schedule;
use crate::keys::sealed::Sealer;
use crate::keys::KeyError;
use crate::oauth::clients::{Rules, SWAGGER_UI_CLIENT_ID};
use crate::secret::{random_token, DerivedKeys, SecretString};
use crate::store::cached::CachedStore;
use crate::store::memory::MemoryStore;
use crate::store::metered::MeteredStore;
use crate::store::redis::RedisStore;
use crate::store::{provisioned, SharedStore, StoreError};
use crate::users::UserError;

mod clients;
mod recovery;
mod users;

pub use recovery::watch_store;

/// Why ferrid could not start or provision its store.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Users(#[from] UserError),
    #[error("{0}")]
    Io(String),
}

impl StartError {
    /// Whether the store's trouble may pass by itself (unreachable, refusing for now), so that
    /// provisioning is worth retrying; anything else needs the operator.
    pub fn is_transient(&self) -> bool {
        let store = match self {
            Self::Store(err)
            | Self::Keys(KeyError::Store(err))
            | Self::Users(UserError::Store(err)) => err,
            _ => return false,
        };
        matches!(store, StoreError::Unavailable(_) | StoreError::Backend(_))
    }
}

/// Builds a context on the store its settings name. Does no network I/O.
pub fn build(settings: Settings, clock: SharedClock) -> Result<Arc<Context>, StartError> {
    let store: SharedStore = match settings.store_kind()? {
        StoreKind::Memory => Arc::new(MemoryStore::new(clock.clone())),
        StoreKind::Redis(url) => {
            if url.starts_with("rediss://") && url.ends_with("#insecure") {
                tracing::warn!("store URL ends in #insecure: the Redis server's certificate is not verified, so anyone on the path can read and change the store");
            }
            let tls = settings.redis.tls_certificates()?;
            Arc::new(RedisStore::connect_lazily_with_tls(
                &url,
                &settings.redis.prefix,
                tls,
            )?)
        }
    };
    with_store(settings, store, clock)
}

/// Builds a context on a given store.
pub fn with_store(
    mut settings: Settings,
    store: SharedStore,
    clock: SharedClock,
) -> Result<Arc<Context>, StartError> {
    if !settings
        .clients
        .iter()
        .any(|c| c.id == SWAGGER_UI_CLIENT_ID)
    {
        settings.clients.push(swagger_ui_client(settings.issuer()));
    }
    let store = if settings.metrics.enabled {
        MeteredStore::wrap(store)
    } else {
        store
    };
    // Clients are read on every token request: on Redis keep them in process (invalidated
    // through pub/sub); the memory store is in process already.
    let store = match store.name() {
        "memory" => store,
        _ => CachedStore::wrap(store, clock.clone()),
    };
    let (key_persistence, secret) = match store.name() {
        "memory" => {
            // Nothing in the memory store outlives the process, so neither need its keys.
            let secret = match &settings.secrets.system {
                Some(secret) => secret.clone(),
                None => SecretString::new(
                    random_token().map_err(|err| StartError::Io(err.to_string()))?,
                ),
            };
            (KeyPersistence::Dir(settings.keys.dir.clone()), secret)
        }
        _ => {
            // Every instance must share the secret that seals the keys, so ferrid never invents one.
            let secret = settings.require_system_secret()?.clone();
            let sealer = Sealer::from_secret(secret.expose())?;
            (
                KeyPersistence::Store {
                    store: store.clone(),
                    sealer,
                },
                secret,
            )
        }
    };
    let keys = LiveKeys::new(
        key_persistence,
        Schedule::from_settings(&settings),
        settings.keys.rsa_bits,
        Duration::from_secs(settings.keys.refresh_interval_secs),
    );
    let derived = DerivedKeys::from_secret(secret.expose());
    Ok(Arc::new(Context::new(
        settings, store, clock, keys, derived,
    )))
}

/// Upserts config clients and users (deleting those the config no longer lists), loads (or
/// creates, or writes back) the key ring, and marks the store provisioned. Idempotent: run at
/// start-up and again whenever the store lost its data.
pub async fn provision(ctx: &Context) -> Result<(), StartError> {
    ctx.store().ping().await?;
    provision_clients_and_users(ctx).await?;
    let (ring, origin) = ctx
        .keys()
        .load_or_create(ctx.clock())
        .await
        .map_err(|err| key_error(ctx, err))?;
    let kid = ring.active().kid().to_owned();
    tracing::info!(
        kid = %kid,
        location = %ctx.key_location(),
        generated = origin == RingOrigin::Generated,
        "signing keys: {}",
        match origin {
            RingOrigin::Generated =>
                format!("generated a new RSA-{} key", ctx.settings().keys.rsa_bits),
            RingOrigin::Loaded => "loaded".to_owned(),
            RingOrigin::Restored => "the store had lost them: wrote back the ring in use".to_owned(),
        }
    );
    let generation = random_token().map_err(|err| StartError::Io(err.to_string()))?;
    let generation = provisioned::mark(ctx.store(), &generation).await?;
    ctx.set_store_generation(generation);
    ctx.mark_ready();
    Ok(())
}

/// Makes the store's clients and users those of the config (see `clients::sync`,
/// `users::sync`); part of `provision`.
pub async fn provision_clients_and_users(ctx: &Context) -> Result<(), StartError> {
    let rules = Rules {
        catalog: ctx.scope_catalog(),
        issuer: ctx.settings().issuer(),
    };
    let configured = ctx
        .settings()
        .clients
        .iter()
        .map(|config| {
            config
                .to_client(&rules)
                .map_err(|(field, message)| ConfigError::new(format!("clients.{field}"), message))
        })
        .collect::<Result<Vec<_>, _>>()?;
    clients::sync(ctx, &configured).await?;
    users::sync(ctx).await?;
    Ok(())
}

/// A key ring that cannot be read or written. In the `keys/` directory that is the operator's to
/// fix (not a directory, no permission, a corrupt file): a configuration error naming
/// `keys.dir`, never retried. Store trouble stays a store error, retried like any other.
fn key_error(ctx: &Context, err: KeyError) -> StartError {
    match (ctx.keys().persistence(), err) {
        (_, KeyError::Store(err)) => StartError::Store(err),
        (KeyPersistence::Dir(dir), err) => StartError::Config(ConfigError::new(
            "keys.dir",
            format!("{} cannot be used: {err}", dir.display()),
        )),
        (_, err) => StartError::Keys(err),
    }
}

/// Runs `provision` until it succeeds, backing off from 0.5 s to 30 s between attempts.
pub async fn until_ready(ctx: Arc<Context>) {
    provision_until_done(&ctx).await;
}

async fn provision_until_done(ctx: &Context) {
    let mut delay = Duration::from_millis(500);
    loop {
        match provision(ctx).await {
            Ok(()) => return,
            Err(err) => {
                let reason = err.to_string();
                tracing::warn!(error = %reason, retry_in_ms = delay.as_millis() as u64, "provisioning incomplete; retrying");
                ctx.mark_not_ready(reason);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// What runs beside the server once it is provisioned, until the task is dropped: the key ring
/// kept current and on schedule, and the store provisioned again if it loses its data.
pub async fn maintain(ctx: Arc<Context>) {
    tokio::join!(ctx.keys().maintain(ctx.clock()), watch_store(&ctx));
}

/// Keeps the key ring current (changes made by other instances or `ferrid keys`) and on its
/// rotation schedule; runs until the task is dropped. Call after `provision`.
pub async fn maintain_keys(ctx: Arc<Context>) {
    ctx.keys().maintain(ctx.clock()).await;
}
