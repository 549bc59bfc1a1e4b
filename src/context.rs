//! `Context`: what the domain needs of a running ferrid — settings, store, clock, the live key
//! ring, the MAC keys derived from the system secret and the start-up status — shared by every
//! request. It knows neither store backend nor how start-up happens: the `bootstrap` module
//! above it builds one and brings the store up to date.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::clock::{Clock, SharedClock};
use crate::config::{Durability, Settings};
use crate::error::OAuthError;
use crate::keys::live::LiveKeys;
use crate::keys::KeyRing;
use crate::oauth::client_auth::jwks_uri::JwksCache;
use crate::oauth::scope_catalog::ScopeCatalog;
use crate::secret::DerivedKeys;
use crate::store::{SharedStore, Store, StoreError};

/// A running ferrid's shared state, as the domain sees it.
pub struct Context {
    settings: Settings,
    store: SharedStore,
    clock: SharedClock,
    keys: LiveKeys,
    derived: DerivedKeys,
    scope_catalog: ScopeCatalog,
    not_ready_reason: ArcSwap<String>,
    store_generation: ArcSwap<String>,
    client_jwks: JwksCache,
}

impl Context {
    /// A context on `store`; not ready until `mark_ready` (the key ring is not loaded yet).
    pub fn new(
        settings: Settings,
        store: SharedStore,
        clock: SharedClock,
        keys: LiveKeys,
        derived: DerivedKeys,
    ) -> Self {
        let scope_catalog = settings.scope_catalog();
        Self {
            settings,
            store,
            clock,
            keys,
            derived,
            scope_catalog,
            not_ready_reason: ArcSwap::from_pointee("starting".to_owned()),
            store_generation: ArcSwap::from_pointee(String::new()),
            client_jwks: JwksCache::default(),
        }
    }

    /// The effective settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// With `store.durability = "replicated"`, returns once a replica holds every write made so
    /// far, and `Unavailable` (503) when none does within `store.replica_timeout_ms`; with `none`,
    /// at once. Called after the writes that hand out or revoke a credential, before answering.
    pub async fn acknowledge_writes(&self) -> Result<(), StoreError> {
        if !matches!(self.settings.durability(), Ok(Durability::Replicated)) {
            return Ok(());
        }
        let timeout = Duration::from_millis(self.settings.store_options.replica_timeout_ms);
        if self.store.wait_for_replicas(1, timeout).await? >= 1 {
            Ok(())
        } else {
            Err(StoreError::Unavailable(format!(
                "no replica acknowledged the write within {} ms",
                timeout.as_millis()
            )))
        }
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// The scopes clients may be given.
    pub fn scope_catalog(&self) -> &ScopeCatalog {
        &self.scope_catalog
    }

    /// Keys derived from the system secret for ferrid's own MACs.
    pub fn derived_keys(&self) -> &DerivedKeys {
        &self.derived
    }

    /// The key sets fetched from clients' `jwks_uri` (private_key_jwt).
    pub fn client_jwks(&self) -> &JwksCache {
        &self.client_jwks
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

    /// Records why provisioning is not complete (shown by `/readyz` until `mark_ready`): at
    /// start-up, or while a store that lost its data is provisioned again.
    pub fn mark_not_ready(&self, reason: String) {
        self.not_ready_reason.store(Arc::new(reason));
    }

    /// Records that provisioning completed.
    pub fn mark_ready(&self) {
        self.not_ready_reason.store(Arc::new(String::new()));
    }

    /// The generation of the store's provisioning this instance completed last (see
    /// `store::provisioned`); empty before the first.
    pub fn store_generation(&self) -> Arc<String> {
        self.store_generation.load_full()
    }

    /// Records the generation of a completed provisioning.
    pub fn set_store_generation(&self, generation: String) {
        self.store_generation.store(Arc::new(generation));
    }

    /// Readiness: the store answers, is provisioned, and the key ring is loaded.
    pub async fn readiness(&self) -> Readiness {
        let store = self.store.ping().await.map_err(|err| err.to_string());
        let reason = self.not_ready_reason.load();
        let keys = match self.keys.current() {
            Some(_) if reason.is_empty() => Ok(()),
            Some(_) => Err(reason.as_ref().clone()),
            None if reason.is_empty() => Err("the signing keys are not loaded".to_owned()),
            None => Err(reason.as_ref().clone()),
        };
        Readiness { store, keys }
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
