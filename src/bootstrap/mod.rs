//! Start-up, above the domain and the only place that knows both store backends: settings →
//! store → key persistence → `Context` (`build`, `with_store`), then `provision` brings the store
//! up to date (clients and users from the config, the key ring loaded or created). `until_ready`
//! retries provisioning with backoff while Redis is unreachable, so ferrid starts, reports
//! not-ready on `/readyz` with the reason, and becomes ready by itself; `maintain_keys` then keeps
//! the key ring current and on its rotation schedule for as long as ferrid runs.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::SharedClock;
use crate::config::{ConfigError, Settings, StoreKind};
use crate::context::Context;
use crate::keys::live::LiveKeys;
use crate::keys::persist::KeyPersistence;
use crate::keys::schedule::Schedule;
use crate::keys::sealed::Sealer;
use crate::keys::KeyError;
use crate::oauth::clients::{self, Client};
use crate::secret::{random_token, DerivedKeys, SecretString};
use crate::store::memory::MemoryStore;
use crate::store::redis::RedisStore;
use crate::store::{SharedStore, StoreError};
use crate::users::{self, UserError};

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

/// Builds a context on the store its settings name. Does no network I/O.
pub fn build(settings: Settings, clock: SharedClock) -> Result<Arc<Context>, StartError> {
    let store: SharedStore = match settings.store_kind()? {
        StoreKind::Memory => Arc::new(MemoryStore::new(clock.clone())),
        StoreKind::Redis(url) => {
            Arc::new(RedisStore::connect_lazily(&url, &settings.redis.prefix)?)
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
        .any(|c| c.id == clients::SWAGGER_UI_CLIENT_ID)
    {
        settings
            .clients
            .push(clients::swagger_ui_client(settings.issuer()));
    }
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

/// Upserts config clients and users and loads (or creates) the key ring.
pub async fn provision(ctx: &Context) -> Result<(), StartError> {
    ctx.store().ping().await?;
    let configured = ctx
        .settings()
        .clients
        .iter()
        .map(|config| {
            Client::from_config(config)
                .map_err(|(field, message)| ConfigError::new(format!("clients.{field}"), message))
        })
        .collect::<Result<Vec<_>, _>>()?;
    clients::sync_bootstrap(ctx.store(), &configured).await?;
    for config in &ctx.settings().users {
        users::upsert_from_config(ctx.store(), config).await?;
    }
    let (ring, generated) = ctx.keys().load_or_create(ctx.clock()).await?;
    let kid = ring.active().kid().to_owned();
    tracing::info!(
        kid = %kid,
        location = %ctx.key_location(),
        generated,
        "signing keys: {}",
        if generated {
            format!("generated a new RSA-{} key", ctx.settings().keys.rsa_bits)
        } else {
            "loaded".to_owned()
        }
    );
    ctx.mark_ready();
    Ok(())
}

/// Runs `provision` until it succeeds, backing off from 0.5 s to 30 s between attempts.
pub async fn until_ready(ctx: Arc<Context>) {
    let mut delay = Duration::from_millis(500);
    loop {
        match provision(&ctx).await {
            Ok(()) => return,
            Err(err) => {
                let reason = err.to_string();
                tracing::warn!(error = %reason, retry_in_ms = delay.as_millis() as u64, "start-up incomplete; retrying");
                ctx.mark_not_ready(reason);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Keeps the key ring current (changes made by other instances or `ferrid keys`) and on its
/// rotation schedule; runs until the task is dropped. Call after `provision`.
pub async fn maintain_keys(ctx: Arc<Context>) {
    ctx.keys().maintain(ctx.clock()).await;
}
