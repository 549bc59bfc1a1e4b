//! `Context`: what the domain needs of a running ferrid — settings, store, clock, the live key
//! ring, the MAC keys derived from the system secret and the start-up status — shared by every
//! request. It knows neither store backend nor how start-up happens: the `bootstrap` module
//! above it builds one and brings the store up to date.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::clock::{Clock, SharedClock};
use crate::config::Settings;
use crate::error::OAuthError;
use crate::keys::live::LiveKeys;
use crate::keys::KeyRing;
use crate::secret::DerivedKeys;
use crate::store::{SharedStore, Store};

/// A running ferrid's shared state, as the domain sees it.
pub struct Context {
    settings: Settings,
    store: SharedStore,
    clock: SharedClock,
    keys: LiveKeys,
    derived: DerivedKeys,
    not_ready_reason: ArcSwap<String>,
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
        Self {
            settings,
            store,
            clock,
            keys,
            derived,
            not_ready_reason: ArcSwap::from_pointee("starting".to_owned()),
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

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
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

    /// Records why start-up is not complete (shown by `/readyz` until the ring is loaded).
    pub fn mark_not_ready(&self, reason: String) {
        self.not_ready_reason.store(Arc::new(reason));
    }

    /// Records that start-up completed.
    pub fn mark_ready(&self) {
        self.not_ready_reason.store(Arc::new(String::new()));
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
