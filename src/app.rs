//! `App`: one running ferrid — settings, store, key ring and clock — shared by every request.
//! `App::new` wires the configured store; `bootstrap` brings the store up to date (clients and
//! users from the config, the key ring loaded or created) and is retried with backoff by
//! `bootstrap_until_ready` while Redis is unreachable, so ferrid starts, reports not-ready on
//! `/readyz` with the reason, and becomes ready by itself. `maintain_keys` then keeps the key
//! ring current and on its rotation schedule for as long as ferrid runs.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::clock::{Clock, SharedClock};
use crate::config::{ConfigError, Settings, StoreKind};
use crate::error::OAuthError;
use crate::keys::live::LiveKeys;
use crate::keys::persist::KeyPersistence;
use crate::keys::schedule::Schedule;
use crate::keys::sealed::Sealer;
use crate::keys::{KeyError, KeyRing};
use crate::oauth::clients::{self, Client};
use crate::secret::{random_token, SecretString};
use crate::session::throttle::LoginThrottle;
use crate::store::memory::MemoryStore;
use crate::store::redis::RedisStore;
use crate::store::{SharedStore, Store, StoreError};
use crate::users::{self, UserError};

/// Why ferrid could not start or bootstrap.
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

/// A running ferrid's shared state.
pub struct App {
    settings: Settings,
    store: SharedStore,
    clock: SharedClock,
    keys: LiveKeys,
    not_ready_reason: ArcSwap<String>,
    derived: DerivedKeys,
    login_throttle: LoginThrottle,
}

impl App {
    /// Builds an app on the store its settings name. Does no network I/O.
    pub fn new(settings: Settings, clock: SharedClock) -> Result<Arc<Self>, StartError> {
        let store: SharedStore = match settings.store_kind()? {
            StoreKind::Memory => Arc::new(MemoryStore::new(clock.clone())),
            StoreKind::Redis(url) => {
                Arc::new(RedisStore::connect_lazily(&url, &settings.redis.prefix)?)
            }
        };
        Self::with_store(settings, store, clock)
    }

    /// Builds an app on a given store.
    pub fn with_store(
        mut settings: Settings,
        store: SharedStore,
        clock: SharedClock,
    ) -> Result<Arc<Self>, StartError> {
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
                let secret = system_secret(&settings)?;
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
        let login_throttle = LoginThrottle::new(settings.sessions.login_attempts_per_minute);
        Ok(Arc::new(Self {
            settings,
            store,
            clock,
            keys,
            not_ready_reason: ArcSwap::from_pointee("starting".to_owned()),
            derived,
            login_throttle,
        }))
    }

    /// The effective settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// The login attempt limits.
    pub fn login_throttle(&self) -> &LoginThrottle {
        &self.login_throttle
    }

    /// Keys derived from the system secret for ferrid's own MACs.
    pub fn derived_keys(&self) -> &DerivedKeys {
        &self.derived
    }

    /// The current key ring, or 503 while it is not loaded yet.
    pub fn key_ring(&self) -> Result<Arc<KeyRing>, OAuthError> {
        self.keys.current().ok_or_else(|| {
            OAuthError::temporarily_unavailable("signing keys are not loaded yet; retry shortly")
        })
    }

    /// The current key ring, if loaded.
    pub fn key_ring_if_loaded(&self) -> Option<Arc<KeyRing>> {
        self.keys.current()
    }

    /// The live key ring: refresh, rotation, import.
    pub fn keys(&self) -> &LiveKeys {
        &self.keys
    }

    /// Where the key ring is persisted.
    pub fn key_location(&self) -> String {
        self.keys.persistence().describe()
    }

    /// Upserts config clients and users and loads (or creates) the key ring.
    pub async fn bootstrap(&self) -> Result<(), StartError> {
        self.store.ping().await?;
        let configured = self
            .settings
            .clients
            .iter()
            .map(|config| {
                Client::from_config(config).map_err(|(field, message)| {
                    ConfigError::new(format!("clients.{field}"), message)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        clients::sync_bootstrap(self.store(), &configured).await?;
        for config in &self.settings.users {
            users::upsert_from_config(self.store(), config).await?;
        }
        let (ring, generated) = self.keys.load_or_create(self.clock()).await?;
        let kid = ring.active().kid().to_owned();
        tracing::info!(
            kid = %kid,
            location = %self.key_location(),
            generated,
            "signing keys: {}",
            if generated {
                format!("generated a new RSA-{} key", self.settings.keys.rsa_bits)
            } else {
                "loaded".to_owned()
            }
        );
        self.not_ready_reason.store(Arc::new(String::new()));
        Ok(())
    }

    /// Runs `bootstrap` until it succeeds, backing off from 0.5 s to 30 s between attempts.
    pub async fn bootstrap_until_ready(self: Arc<Self>) {
        let mut delay = Duration::from_millis(500);
        loop {
            match self.bootstrap().await {
                Ok(()) => return,
                Err(err) => {
                    let reason = err.to_string();
                    tracing::warn!(error = %reason, retry_in_ms = delay.as_millis() as u64, "start-up incomplete; retrying");
                    self.not_ready_reason.store(Arc::new(reason));
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// Keeps the key ring current (changes made by other instances or `ferrid keys`) and on its
    /// rotation schedule; runs until the task is dropped. Call after `bootstrap`.
    pub async fn maintain_keys(self: Arc<Self>) {
        self.keys.maintain(self.clock.as_ref()).await;
    }

    /// Readiness: the store answers and the key ring is loaded.
    pub async fn readiness(&self) -> Readiness {
        let store = self.store.ping().await.map_err(|err| err.to_string());
        let keys = match self.keys.current() {
            Some(_) => Ok(()),
            None => Err(self.not_ready_reason.load().as_ref().clone()),
        };
        Readiness { store, keys }
    }
}

/// MAC keys derived from the system secret, one per purpose, the same on every instance that
/// shares the secret.
pub struct DerivedKeys {
    refresh_successor: aws_lc_rs::hmac::Key,
    logout_csrf: aws_lc_rs::hmac::Key,
}

impl DerivedKeys {
    fn from_secret(secret: &str) -> Self {
        let key = |purpose: &str| {
            let material =
                crate::secret::sha256(format!("ferrid/{purpose}/v1:{secret}").as_bytes());
            aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &material)
        };
        Self {
            refresh_successor: key("refresh-successor"),
            logout_csrf: key("logout-csrf"),
        }
    }

    /// Derives the successor of a refresh token deterministically, so a replay within the grace
    /// window gets the same successor without ferrid storing any token in plain text.
    pub fn refresh_successor(&self, presented: &str) -> String {
        use base64::Engine;
        let tag = aws_lc_rs::hmac::sign(&self.refresh_successor, presented.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    /// The CSRF token of the logout confirmation form for a session cookie.
    pub fn logout_csrf(&self, session_cookie: &str) -> String {
        use base64::Engine;
        let tag = aws_lc_rs::hmac::sign(&self.logout_csrf, session_cookie.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
    }
}

/// Result of each readiness check.
#[derive(Debug, Clone)]
pub struct Readiness {
    pub store: Result<(), String>,
    pub keys: Result<(), String>,
}

impl Readiness {
    /// Whether every check passed.
    pub fn is_ready(&self) -> bool {
        self.store.is_ok() && self.keys.is_ok()
    }
}

/// The system secret that seals private keys in the store; Redis mode refuses to start without
/// one (every instance must share it, so ferrid never invents one).
fn system_secret(settings: &Settings) -> Result<SecretString, StartError> {
    Ok(settings.require_system_secret()?.clone())
}
