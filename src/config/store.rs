//! `store` as a string or a table. `store = "redis://…"` (or `"memory"`) names the store; the
//! `[store]` table names it as `url` beside how writes are acknowledged:
//!
//! ```toml
//! [store]
//! url = "redis://127.0.0.1:6379/0"     # FERRID_STORE (or FERRID_STORE__URL)
//! durability = "replicated"            # FERRID_STORE__DURABILITY; default "none"
//! replica_timeout_ms = 250             # FERRID_STORE__REPLICA_TIMEOUT_MS
//! ```
//!
//! Both spellings keep working, from the file and the environment alike: each provider's `store`
//! table is split into `store` (the URL, as before) and `store_options` before figment merges
//! them, so a `FERRID_STORE__DURABILITY` beside a file's `store = "redis://…"` adds to it
//! instead of replacing it.

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};

use super::{number, ConfigError, StoreKind};

/// How a Redis store acknowledges the writes that hand out or revoke credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Answer once the master has the write (Redis's own, asynchronous replication).
    None,
    /// Answer only once a replica has it too (`WAIT 1 <replica_timeout_ms>`); otherwise 503.
    Replicated,
}

/// The `[store]` table beside its `url`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreOptions {
    /// `none` (default) or `replicated`.
    pub durability: String,
    /// How long a `replicated` write waits for a replica before the request fails with 503.
    #[serde(deserialize_with = "number")]
    pub replica_timeout_ms: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            durability: "none".into(),
            replica_timeout_ms: 250,
        }
    }
}

/// The longest `replica_timeout_ms`: a `WAIT` holds the Redis connection it runs on, and it must
/// end well before the 500 ms a store command may take.
pub const MAX_REPLICA_TIMEOUT_MS: u64 = 400;

impl StoreOptions {
    /// The durability named, checked against the store kind.
    pub fn durability(&self, store: &StoreKind) -> Result<Durability, ConfigError> {
        let durability = match self.durability.trim() {
            "none" => Durability::None,
            "replicated" => Durability::Replicated,
            other => {
                return Err(ConfigError::new(
                    "store.durability",
                    format!("must be `none` or `replicated`, not `{other}`"),
                ))
            }
        };
        if durability == Durability::Replicated {
            match store {
                StoreKind::Memory => {
                    return Err(ConfigError::new(
                        "store.durability",
                        "`replicated` needs a Redis store with a replica; the memory store has \
                         none",
                    ))
                }
                StoreKind::Redis(url) if is_cluster(url) => {
                    return Err(ConfigError::new(
                        "store.durability",
                        "`replicated` is not available on Redis Cluster: WAIT confirms the writes \
                         of one node, and a request's writes span several; use one Redis or \
                         Sentinel with a replica",
                    ))
                }
                StoreKind::Redis(_) => {}
            }
        }
        if !(1..=MAX_REPLICA_TIMEOUT_MS).contains(&self.replica_timeout_ms) {
            return Err(ConfigError::new(
                "store.replica_timeout_ms",
                format!("must be between 1 and {MAX_REPLICA_TIMEOUT_MS}"),
            ));
        }
        Ok(durability)
    }
}

/// A provider whose `store` table, if any, is split into `store` (its `url`) and
/// `store_options` (the rest).
pub(super) struct StoreTable<P>(pub P);

impl<P: Provider> Provider for StoreTable<P> {
    fn metadata(&self) -> Metadata {
        self.0.metadata()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut data = self.0.data()?;
        for dict in data.values_mut() {
            split(dict);
        }
        Ok(data)
    }
}

fn split(dict: &mut Dict) {
    let Some(Value::Dict(tag, mut table)) = dict.get("store").cloned() else {
        return;
    };
    dict.remove("store");
    if let Some(url) = table.remove("url") {
        dict.insert("store".into(), url);
    }
    if !table.is_empty() {
        dict.insert("store_options".into(), Value::Dict(tag, table));
    }
}

/// Whether `url` names a Redis Cluster (`redis+cluster://`, `rediss+cluster://`).
fn is_cluster(url: &str) -> bool {
    url.split_once("://")
        .is_some_and(|(scheme, _)| scheme.ends_with("+cluster"))
}
