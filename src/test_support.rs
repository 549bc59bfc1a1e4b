//! Fixtures for domain unit tests: a `Context` on the memory store whose clock only moves when
//! a test advances it — no HTTP, no sockets, no `redis-server`. No key ring is loaded: the
//! domain functions tested this way (codes, refresh families, the deny-list) sign nothing, and
//! generating an RSA key would cost seconds per test binary.

use std::sync::Arc;

use crate::bootstrap;
use crate::clock::{ManualClock, SharedClock};
use crate::config::{ClientConfig, Settings};
use crate::context::Context;
use crate::oauth::clients::Client;
use crate::store::memory::MemoryStore;
use crate::store::SharedStore;

/// Where every test clock starts (2023-11-14, milliseconds since the epoch).
pub(crate) const START_MILLIS: u64 = 1_700_000_000_000;

/// A domain context, the clock it reads and its store.
pub(crate) struct TestContext {
    pub ctx: Arc<Context>,
    pub clock: ManualClock,
    pub store: SharedStore,
}

impl TestContext {
    /// Another context on the same store and clock with its own settings: ferrid started
    /// again with a changed config.
    pub(crate) fn restarted(&self, configure: impl FnOnce(&mut Settings)) -> Arc<Context> {
        let shared: SharedClock = Arc::new(self.clock.clone());
        bootstrap::with_store(settings(configure), self.store.clone(), shared).unwrap()
    }
}

fn settings(configure: impl FnOnce(&mut Settings)) -> Settings {
    let mut settings = Settings::default();
    configure(&mut settings);
    settings.validate().unwrap();
    settings
}

/// A context on a fresh memory store, with the default settings changed by `configure`.
pub(crate) fn context(configure: impl FnOnce(&mut Settings)) -> TestContext {
    let clock = ManualClock::at_millis(START_MILLIS);
    let shared: SharedClock = Arc::new(clock.clone());
    let store: SharedStore = Arc::new(MemoryStore::new(shared.clone()));
    let ctx = bootstrap::with_store(settings(configure), store.clone(), shared).unwrap();
    TestContext { ctx, clock, store }
}

/// A confidential web app that uses the authorization code and refresh token grants.
pub(crate) fn web_client(id: &str) -> Client {
    let config = ClientConfig {
        id: id.into(),
        secret: Some(format!("{id}-secret").into()),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["openid".into(), "offline_access".into()],
        redirect_uris: vec!["https://app.example.com/callback".into()],
        ..ClientConfig::default()
    };
    config.to_client_alone().unwrap()
}
