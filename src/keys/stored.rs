//! The key ring in the shared store (Redis mode): one entry, `keyspace::KEY_RING`, holding the
//! ring's revision and each key's algorithm, state and transition times, with every private key
//! sealed under the system secret (`sealed`). ferrid refuses an entry whose keys are not sealed, or
//! do not open, with an error saying which key and why — never a silent fallback.
//!
//! Changes go through `compare_and_swap` on the exact bytes that were read (the fencing check: a
//! writer whose lock expired cannot overwrite a newer ring), and a notice on
//! `keyspace::KEY_RING_CHANGED` tells the other instances to reload. `keyspace::KEY_RING_LOCK`
//! (`put_new` with a TTL, i.e. `SET NX PX`) makes one instance at a time do the work.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::material::{Algorithm, KeyMaterial, Lifecycle};
use super::persist::Snapshot;
use super::sealed::{SealedBlob, Sealer};
use super::KeyError;
use crate::store::keyspace::{KEY_RING, KEY_RING_LOCK};
use crate::store::{self, Store};

/// Format version of the entry.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct StoredRing {
    version: u32,
    #[serde(default)]
    revision: u64,
    keys: Vec<StoredKey>,
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    #[serde(default)]
    alg: Algorithm,
    #[serde(flatten)]
    lifecycle: Lifecycle,
    // Optional only so that a missing seal is reported as such rather than as a parse error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ciphertext: Option<String>,
}

/// Just the revision, for the periodic check (no key is decrypted).
#[derive(Deserialize)]
struct RevisionOnly {
    #[serde(default)]
    revision: u64,
}

/// The persisted ring, if any, with every key opened.
pub async fn load(store: &dyn Store, sealer: &Sealer) -> Result<Option<Snapshot>, KeyError> {
    let Some(raw) = store.get(KEY_RING).await? else {
        return Ok(None);
    };
    let ring: StoredRing = serde_json::from_slice(&raw).map_err(|err| {
        KeyError::Sealed(format!(
            "store entry `{KEY_RING}` is not a sealed key ring: {err}"
        ))
    })?;
    if ring.version != FORMAT {
        return Err(KeyError::Ring(format!(
            "store entry `{KEY_RING}` has format version {}, this ferrid reads {FORMAT}",
            ring.version
        )));
    }
    let keys = ring
        .keys
        .into_iter()
        .map(|key| {
            let (Some(nonce), Some(ciphertext)) = (key.nonce, key.ciphertext) else {
                return Err(KeyError::Sealed(format!(
                    "key {} in store entry `{KEY_RING}` is not sealed; ferrid never loads an \
                     unencrypted private key from the store",
                    key.kid
                )));
            };
            let pkcs8 = sealer.open(&key.kid, &SealedBlob { nonce, ciphertext })?;
            let material = KeyMaterial::with_lifecycle(pkcs8, key.alg, key.lifecycle)?;
            if material.kid != key.kid {
                return Err(KeyError::Invalid(format!(
                    "store entry `{KEY_RING}` holds key {} under kid {}",
                    material.kid, key.kid
                )));
            }
            Ok(material)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Snapshot {
        revision: ring.revision,
        keys,
        raw,
    }))
}

/// The persisted ring's revision, without opening any key.
pub async fn revision(store: &dyn Store) -> Result<Option<u64>, KeyError> {
    match store.get(KEY_RING).await? {
        Some(raw) => Ok(Some(
            store::decode::<RevisionOnly>(KEY_RING, &raw)?.revision,
        )),
        None => Ok(None),
    }
}

/// Writes `keys` as `revision` unless a ring exists; `true` when this call wrote it.
pub async fn create(
    store: &dyn Store,
    sealer: &Sealer,
    keys: &[KeyMaterial],
    revision: u64,
) -> Result<bool, KeyError> {
    let raw = encode(sealer, keys, revision)?;
    Ok(store.put_new(KEY_RING, raw, None).await?)
}

/// Writes `keys` as the next revision if the entry is still `current`; the new snapshot, or
/// `None` when the ring changed meanwhile.
pub async fn replace(
    store: &dyn Store,
    sealer: &Sealer,
    current: &Snapshot,
    keys: &[KeyMaterial],
) -> Result<Option<Snapshot>, KeyError> {
    let revision = current.revision + 1;
    let raw = encode(sealer, keys, revision)?;
    if !store
        .compare_and_swap(KEY_RING, &current.raw, raw.clone(), None)
        .await?
    {
        return Ok(None);
    }
    Ok(Some(Snapshot {
        revision,
        keys: keys.to_vec(),
        raw,
    }))
}

/// Takes the lock for `ttl` unless someone else holds it.
pub async fn try_lock(store: &dyn Store, token: &str, ttl: Duration) -> Result<bool, KeyError> {
    Ok(store
        .put_new(KEY_RING_LOCK, token.as_bytes().to_vec(), Some(ttl))
        .await?)
}

/// Releases the lock if `token` still holds it.
pub async fn unlock(store: &dyn Store, token: &str) -> Result<(), KeyError> {
    store.delete_if(KEY_RING_LOCK, token.as_bytes()).await?;
    Ok(())
}

fn encode(sealer: &Sealer, keys: &[KeyMaterial], revision: u64) -> Result<Vec<u8>, KeyError> {
    let keys = keys
        .iter()
        .map(|key| {
            let sealed = sealer.seal(&key.kid, &key.pkcs8)?;
            Ok(StoredKey {
                kid: key.kid.clone(),
                alg: key.alg,
                lifecycle: key.lifecycle,
                nonce: Some(sealed.nonce),
                ciphertext: Some(sealed.ciphertext),
            })
        })
        .collect::<Result<Vec<_>, KeyError>>()?;
    Ok(store::encode(&StoredRing {
        version: FORMAT,
        revision,
        keys,
    })?)
}
