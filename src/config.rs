//! Typed settings: built-in defaults < `ferrid.toml` (`--config` / `FERRID_CONFIG`) < `FERRID_*`
//! environment variables (`FERRID_SECTION__KEY`, e.g. `FERRID_SECRETS__SYSTEM`). `Settings::load`
//! merges and validates them; every failure is one line naming the key and what is wrong.
//!
//! When only `bind` is set, the default issuer follows it (`issuer`); a syntax error in the file
//! names the file and shows the line (`file`); `secrets.system_file` reads the system secret from
//! a file (`secrets`).
//!
//! Environment values are always read as strings (figment's own `Env` provider would turn
//! `FERRID_SECRETS__SYSTEM=0123…` into the number 123); numeric settings accept either form.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use figment::providers::{Format, Serialized, Toml};
use figment::{Figment, Provider};
use serde::{Deserialize, Deserializer, Serialize};

use crate::oauth::scope_catalog::ScopeCatalog;
use crate::secret::SecretString;

mod clients;
mod dpop;
mod env;
mod file;
mod issuer;
mod keys;
mod log;
mod metrics;
mod par;
mod private_key_jwt;
mod registration;
mod secrets;
mod store;
mod tls;

pub use clients::{swagger_ui_client, ClientConfig, ScopeConfig};
pub use dpop::DpopSettings;
pub use issuer::is_loopback;
pub use issuer::PortMismatch;
pub use keys::KeySettings;
pub use log::LogSettings;
pub use metrics::MetricsSettings;
pub use par::ParSettings;
pub use private_key_jwt::PrivateKeyJwtSettings;
pub use registration::{RegistrationMode, RegistrationSettings};
pub use secrets::SecretSettings;
pub use store::{Durability, StoreOptions};
pub use tls::{read_certificates, Identity, TlsSettings};

/// The environment variable prefix.
pub const ENV_PREFIX: &str = "FERRID_";
/// Names the config file; read by the CLI, not a setting itself.
pub const CONFIG_ENV: &str = "FERRID_CONFIG";

/// Everything ferrid can be configured with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// The issuer identifier: `iss` of every token, base of every endpoint URL.
    pub issuer: String,
    /// Accept an `http://` issuer on a host other than loopback (tokens, codes and passwords
    /// then cross the network in clear text; only behind a TLS-terminating proxy that rewrites
    /// nothing, or for a lab). Read like a number: `true`/`false` also from an env string.
    #[serde(deserialize_with = "number")]
    pub allow_insecure_issuer: bool,
    /// Address the HTTP server listens on.
    pub bind: String,
    /// `memory` (embedded, single instance), a `redis://`, `rediss://` or `redis+unix://` URL,
    /// a Redis Cluster (`redis+cluster://host:port,host:port/`, `rediss+cluster://`) or a
    /// Sentinel-monitored master (`redis+sentinel://host:port,host:port/<master-name>`).
    pub store: String,
    /// The rest of the `[store]` table: `store.durability`, `store.replica_timeout_ms`.
    pub store_options: StoreOptions,
    pub secrets: SecretSettings,
    pub keys: KeySettings,
    pub tokens: TokenSettings,
    pub sessions: SessionSettings,
    pub redis: RedisSettings,
    pub http: HttpSettings,
    pub tls: TlsSettings,
    pub log: LogSettings,
    pub metrics: MetricsSettings,
    /// Scopes the operator declares (`[[scopes]]`), beside ferrid's built-in ones.
    pub scopes: Vec<ScopeConfig>,
    pub dpop: DpopSettings,
    pub par: ParSettings,
    pub private_key_jwt: PrivateKeyJwtSettings,
    pub registration: RegistrationSettings,
    /// Bootstrap clients, upserted at start-up.
    pub clients: Vec<ClientConfig>,
    /// Bootstrap users, upserted at start-up.
    pub users: Vec<UserConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// Lifetime of access tokens.
    #[serde(deserialize_with = "number")]
    pub access_token_ttl_secs: u64,
    /// A refresh-token family ends this long after it was first issued.
    #[serde(deserialize_with = "number")]
    pub refresh_token_absolute_ttl_secs: u64,
    /// A refresh token not used for this long expires.
    #[serde(deserialize_with = "number")]
    pub refresh_token_idle_ttl_secs: u64,
    /// Replaying the refresh token just rotated within this window returns the same successor
    /// (lost responses, two tabs); 0 makes every reuse revoke the family.
    #[serde(deserialize_with = "number")]
    pub refresh_token_reuse_grace_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// A browser session ends after this long without use.
    #[serde(deserialize_with = "number")]
    pub idle_ttl_secs: u64,
    /// A browser session ends this long after login, however active.
    #[serde(deserialize_with = "number")]
    pub absolute_ttl_secs: u64,
    /// How long a person's consent for a client is remembered.
    #[serde(deserialize_with = "number")]
    pub consent_ttl_secs: u64,
    /// Which refresh-token families logging out revokes: `none`, `online` (those without
    /// `offline_access`) or `all`.
    pub logout_revokes: String,
    /// Failed login attempts allowed per username and client address per minute (five times as
    /// many per client address); counted in the store, so shared by every instance on Redis.
    #[serde(deserialize_with = "number")]
    pub login_attempts_per_minute: u32,
    /// Sign-in requests in progress (login and consent pages) one client address may hold; a new
    /// one beyond it evicts the oldest.
    #[serde(deserialize_with = "number")]
    pub pending_logins_per_address: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// Prefix of every key ferrid writes, so several deployments can share one Redis.
    pub prefix: String,
    /// `rediss://` only: PEM CA certificates to trust instead of the system's roots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<PathBuf>,
    /// `rediss://` only: PEM client certificate chain, for a Redis that requires one
    /// (`tls-auth-clients yes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// `rediss://` only: PEM private key of `tls_cert`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Largest request body accepted; larger ones get 413 with a JSON error.
    #[serde(deserialize_with = "number")]
    pub max_body_bytes: usize,
}

/// A `[[users]]` entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UserConfig {
    pub username: String,
    pub password: Option<SecretString>,
    pub password_hash: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub roles: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            issuer: "http://127.0.0.1:8080".into(),
            allow_insecure_issuer: false,
            bind: "127.0.0.1:8080".into(),
            store: "memory".into(),
            store_options: StoreOptions::default(),
            secrets: SecretSettings::default(),
            keys: KeySettings::default(),
            tokens: TokenSettings::default(),
            sessions: SessionSettings::default(),
            redis: RedisSettings::default(),
            http: HttpSettings::default(),
            tls: TlsSettings::default(),
            log: LogSettings::default(),
            metrics: MetricsSettings::default(),
            scopes: Vec::new(),
            dpop: DpopSettings::default(),
            par: ParSettings::default(),
            private_key_jwt: PrivateKeyJwtSettings::default(),
            registration: RegistrationSettings::default(),
            clients: Vec::new(),
            users: Vec::new(),
        }
    }
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 600,
            refresh_token_absolute_ttl_secs: 30 * 86_400,
            refresh_token_idle_ttl_secs: 14 * 86_400,
            refresh_token_reuse_grace_secs: 3,
        }
    }
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle_ttl_secs: 2 * 3600,
            absolute_ttl_secs: 24 * 3600,
            consent_ttl_secs: 365 * 86_400,
            logout_revokes: "online".into(),
            login_attempts_per_minute: 10,
            pending_logins_per_address: 50,
        }
    }
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            prefix: "ferrid:".into(),
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
        }
    }
}

/// Where mutable state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// In-process; keys persisted under `keys.dir`.
    Memory,
    /// A Redis URL.
    Redis(String),
}

/// A setting that cannot be used, named by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key path, e.g. `tokens.access_token_ttl_secs` or `clients[0].secret`.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    /// An error for `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "invalid configuration: {}", self.message)
        } else {
            write!(f, "invalid configuration: `{}`: {}", self.key, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

impl Settings {
    /// Defaults < `config_file` < environment, validated.
    pub fn load(config_file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(config_file, std::env::vars())
    }

    /// Like `load`, with the environment given explicitly (tests).
    pub fn load_from(
        config_file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let defaults = Serialized::defaults(Settings::default());
        let defaults_name = defaults.metadata().name;
        let mut figment = Figment::from(defaults);
        if let Some(path) = config_file {
            file::check_syntax(path)?;
            figment = figment.merge(store::StoreTable(Toml::file_exact(path)));
        }
        let figment = figment.merge(store::StoreTable(env::StringEnv::from_vars(env)));
        let mut settings: Settings = figment
            .extract()
            .map_err(|err| ConfigError::new("", first_line(&err.to_string())))?;
        let configured = |key: &str| {
            figment
                .find_metadata(key)
                .is_some_and(|metadata| metadata.name != defaults_name)
        };
        if !configured("issuer") {
            if configured("bind") {
                if let Some(issuer) = issuer::issuer_for_bind(&settings.bind) {
                    settings.issuer = issuer;
                }
            }
            // ferrid serving TLS itself answers https only.
            if settings.tls.enabled() {
                settings.issuer = issuer::with_https(&settings.issuer);
            }
        }
        settings.secrets.resolve_files()?;
        settings.validate()?;
        Ok(settings)
    }

    /// The address a client on this machine reaches ferrid at: `bind`, an unspecified address
    /// through loopback; `None` for port 0.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        issuer::local_addr(&self.bind)
    }

    /// The issuer's port when it differs from the bind port (logged at start-up).
    pub fn issuer_port_mismatch(&self) -> Option<PortMismatch> {
        issuer::port_mismatch(&self.issuer, &self.bind)
    }

    /// Checks every value that figment's types cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let issuer = url::Url::parse(&self.issuer)
            .map_err(|err| ConfigError::new("issuer", format!("not an absolute URL: {err}")))?;
        if !matches!(issuer.scheme(), "http" | "https") {
            return Err(ConfigError::new("issuer", "must be an http or https URL"));
        }
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(ConfigError::new(
                "issuer",
                "must not have a query or fragment",
            ));
        }
        self.tls.validate(&issuer)?;
        // RFC 8414 §2 / OIDC Discovery §3: the issuer is an https URL. Plain http is accepted
        // for loopback (development), or when the operator says so explicitly.
        if issuer.scheme() == "http" && !issuer::is_loopback(&issuer) && !self.allow_insecure_issuer
        {
            return Err(ConfigError::new(
                "issuer",
                format!(
                    "`{}` is plain http on a host other than loopback: tokens, codes and passwords \
                     would cross the network unencrypted; use https (tls.cert/tls.key or a TLS \
                     proxy) or set allow_insecure_issuer = true",
                    self.issuer
                ),
            ));
        }
        SocketAddr::from_str(&self.bind).map_err(|_| {
            ConfigError::new(
                "bind",
                format!("`{}` is not an address such as 127.0.0.1:8080", self.bind),
            )
        })?;
        if let StoreKind::Redis(url) = self.store_kind()? {
            crate::store::redis::topology::Topology::parse(&url)
                .map_err(|err| ConfigError::new("store", format!("invalid Redis URL: {err}")))?;
            if self.redis.prefix.contains(['{', '}']) {
                // Redis Cluster hashes the text between the first `{` and `}` of a key: a brace
                // in the prefix would override the hash tags that keep related keys together.
                return Err(ConfigError::new(
                    "redis.prefix",
                    "must not contain `{` or `}`",
                ));
            }
        }
        tls::validate_redis(&self.redis, &self.store)?;
        if let Some(secret) = &self.secrets.system {
            if secret.expose().chars().count() < 32 {
                return Err(ConfigError::new(
                    "secrets.system",
                    "must be at least 32 characters",
                ));
            }
        }
        if matches!(self.store_kind()?, StoreKind::Redis(_)) {
            self.require_system_secret()?;
        }
        self.durability()?;
        if !(1..=86_400).contains(&self.tokens.access_token_ttl_secs) {
            return Err(ConfigError::new(
                "tokens.access_token_ttl_secs",
                "must be between 1 and 86400 seconds",
            ));
        }
        let tokens = &self.tokens;
        if tokens.refresh_token_idle_ttl_secs == 0
            || tokens.refresh_token_idle_ttl_secs > tokens.refresh_token_absolute_ttl_secs
        {
            return Err(ConfigError::new(
                "tokens.refresh_token_idle_ttl_secs",
                "must be at least 1 and at most tokens.refresh_token_absolute_ttl_secs",
            ));
        }
        if tokens.refresh_token_reuse_grace_secs > 60 {
            return Err(ConfigError::new(
                "tokens.refresh_token_reuse_grace_secs",
                "must be at most 60 seconds",
            ));
        }
        let sessions = &self.sessions;
        if sessions.idle_ttl_secs == 0 || sessions.idle_ttl_secs > sessions.absolute_ttl_secs {
            return Err(ConfigError::new(
                "sessions.idle_ttl_secs",
                "must be at least 1 and at most sessions.absolute_ttl_secs",
            ));
        }
        if !matches!(sessions.logout_revokes.as_str(), "none" | "online" | "all") {
            return Err(ConfigError::new(
                "sessions.logout_revokes",
                "must be `none`, `online` or `all`",
            ));
        }
        if sessions.login_attempts_per_minute == 0 {
            return Err(ConfigError::new(
                "sessions.login_attempts_per_minute",
                "must be at least 1",
            ));
        }
        if sessions.pending_logins_per_address == 0 {
            return Err(ConfigError::new(
                "sessions.pending_logins_per_address",
                "must be at least 1",
            ));
        }
        if sessions.consent_ttl_secs == 0 {
            return Err(ConfigError::new(
                "sessions.consent_ttl_secs",
                "must be at least 1",
            ));
        }
        self.keys.validate(self.longest_signed_token_secs())?;
        if self.http.max_body_bytes < 1024 {
            return Err(ConfigError::new(
                "http.max_body_bytes",
                "must be at least 1024",
            ));
        }
        self.log.validate()?;
        self.metrics.validate(&self.bind)?;
        self.dpop.validate()?;
        self.private_key_jwt.validate()?;
        self.registration.validate()?;
        clients::validate_scopes(&self.scopes)?;
        clients::validate_clients(&self.clients, &self.scope_catalog(), self.issuer())?;
        crate::users::validate_configs(&self.users)?;
        Ok(())
    }

    /// In Redis mode the private keys are sealed under the system secret, and every instance
    /// must use the same one: without it ferrid refuses to start rather than invent one.
    pub fn require_system_secret(&self) -> Result<&SecretString, ConfigError> {
        match &self.secrets.system {
            Some(secret) => Ok(secret),
            None => Err(ConfigError::new(
                "secrets.system",
                "is required when `store` is Redis: it seals the private signing keys stored \
                 there; set FERRID_SECRETS__SYSTEM to the same 32+ random characters on every \
                 instance",
            )),
        }
    }

    /// The longest lifetime of any JWT ferrid signs (access and ID tokens share
    /// `tokens.access_token_ttl_secs`); a retired key stays published at least this long. A new
    /// kind of signed token must be counted here.
    pub fn longest_signed_token_secs(&self) -> u64 {
        self.tokens.access_token_ttl_secs
    }

    /// How long a retired key stays in the JWKS: `keys.retirement_grace_secs`, or by default
    /// the longest signed-token lifetime plus `keys.clock_skew_secs` and
    /// `keys.refresh_interval_secs`.
    pub fn retirement_grace_secs(&self) -> u64 {
        self.keys.grace_secs(self.longest_signed_token_secs())
    }

    /// The scopes clients may be given: ferrid's built-in ones and `[[scopes]]`, or without
    /// `[[scopes]]` those the `[[clients]]` name (see `oauth::scope_catalog`).
    pub fn scope_catalog(&self) -> ScopeCatalog {
        let declared = self
            .scopes
            .iter()
            .map(|scope| (scope.name.as_str(), scope.description.as_deref()));
        let named = self.clients.iter().flat_map(|client| {
            client
                .scopes
                .iter()
                .chain(client.default_scopes.iter().flatten())
                .map(String::as_str)
        });
        ScopeCatalog::new(declared, named)
    }

    /// The issuer without a trailing slash, as it appears in `iss`.
    pub fn issuer(&self) -> &str {
        self.issuer.trim_end_matches('/')
    }

    /// How the store acknowledges credential writes (`store.durability`).
    pub fn durability(&self) -> Result<Durability, ConfigError> {
        self.store_options.durability(&self.store_kind()?)
    }

    /// Which store the `store` setting names.
    pub fn store_kind(&self) -> Result<StoreKind, ConfigError> {
        let store = self.store.trim();
        if store == "memory" {
            return Ok(StoreKind::Memory);
        }
        let is_redis = ["redis://", "rediss://", "redis+unix://", "unix://"]
            .iter()
            .any(|scheme| store.starts_with(scheme))
            || crate::store::redis::topology::Topology::is_distributed(store);
        if is_redis {
            Ok(StoreKind::Redis(store.to_owned()))
        } else {
            Err(ConfigError::new(
                "store",
                "must be `memory` or a redis://, rediss://, redis+unix://, redis+cluster://, \
                 rediss+cluster:// or redis+sentinel:// URL",
            ))
        }
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

/// Accepts a native number (TOML) or a string holding one (environment).
fn number<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr + Deserialize<'de>,
    T::Err: fmt::Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw<T> {
        Native(T),
        Text(String),
    }
    match Raw::<T>::deserialize(deserializer)? {
        Raw::Native(value) => Ok(value),
        Raw::Text(text) => text
            .trim()
            .parse()
            .map_err(|err| serde::de::Error::custom(format!("`{text}` is not a number: {err}"))),
    }
}

/// Like `number`, for a setting that may be absent.
fn optional_number<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr + Deserialize<'de>,
    T::Err: fmt::Display,
{
    number(deserializer).map(Some)
}

#[cfg(test)]
mod tests;
