//! `App`: one running ferrid — settings, store, key ring and clock — shared by every request.
//! `App::new` wires the configured store; `bootstrap` brings the store up to date (clients and
//! users from the config, the key ring loaded or created) and is retried with backoff by
//! `bootstrap_until_ready` while Redis is unreachable, so ferrid starts, reports not-ready on
//! `/readyz` with the reason, and becomes ready by itself.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};

use crate::clock::{Clock, SharedClock};
use crate::config::{ConfigError, Settings, StoreKind};
use crate::error::OAuthError;
use crate::keys::persist::{self, KeyPersistence};
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
    key_persistence: KeyPersistence,
    keys: ArcSwapOption<KeyRing>,
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
        let derived = DerivedKeys::from_secret(secret.expose());
        let login_throttle = LoginThrottle::new(settings.sessions.login_attempts_per_minute);
        Ok(Arc::new(Self {
            settings,
            store,
            clock,
            key_persistence,
            keys: ArcSwapOption::empty(),
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
        self.keys.load_full().ok_or_else(|| {
            OAuthError::temporarily_unavailable("signing keys are not loaded yet; retry shortly")
        })
    }

    /// The current key ring, if loaded.
    pub fn key_ring_if_loaded(&self) -> Option<Arc<KeyRing>> {
        self.keys.load_full()
    }

    /// Where the key ring is persisted.
    pub fn key_location(&self) -> String {
        self.key_persistence.describe()
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
        let (ring, generated) =
            persist::load_or_create(&self.key_persistence, self.clock()).await?;
        let kid = ring.active().kid().to_owned();
        self.keys.store(Some(Arc::new(ring)));
        tracing::info!(
            kid = %kid,
            location = %self.key_location(),
            generated,
            "signing keys: {}",
            if generated { "generated a new RSA-2048 key" } else { "loaded" }
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

    /// Readiness: the store answers and the key ring is loaded.
    pub async fn readiness(&self) -> Readiness {
        let store = self.store.ping().await.map_err(|err| err.to_string());
        let keys = match self.keys.load().as_ref() {
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

/// The configured system secret; without one (a development set-up), a random secret kept in
/// `keys.dir/system.secret` (mode 0600) so restarts can still open the sealed keys.
fn system_secret(settings: &Settings) -> Result<SecretString, StartError> {
    if let Some(secret) = &settings.secrets.system {
        return Ok(secret.clone());
    }
    let path = settings.keys.dir.join("system.secret");
    tracing::warn!(
        path = %path.display(),
        "secrets.system is not set: using a generated secret kept on local disk; set \
         FERRID_SECRETS__SYSTEM (the same on every instance) before running more than one"
    );
    read_or_create_secret(&path)
}

fn read_or_create_secret(path: &Path) -> Result<SecretString, StartError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    let io = |err: std::io::Error| StartError::Io(format!("{}: {err}", path.display()));
    match std::fs::read_to_string(path) {
        Ok(secret) if secret.trim().len() >= 32 => return Ok(SecretString::new(secret.trim())),
        Ok(_) => {
            return Err(StartError::Io(format!(
                "{}: secret shorter than 32 characters",
                path.display()
            )))
        }
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(io(err)),
        Err(_) => {}
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let secret = random_token().map_err(|err| StartError::Io(err.to_string()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(secret.as_bytes()).map_err(io)?;
    Ok(SecretString::new(secret))
}
