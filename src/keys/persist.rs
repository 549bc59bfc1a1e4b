//! Where the key ring lives between restarts, and the few operations every home offers: load
//! it (as a `Snapshot` carrying its revision and the exact bytes read), check its revision
//! cheaply, create it once, replace it only if nobody else changed it since it was read, lock it
//! while a change is made, and announce a change.
//!
//! With the memory store the home is the `keys/` directory (`dir`); with Redis it is one
//! sealed store entry (`stored`). The first instance to create a ring wins; the others load what
//! it wrote.

use std::path::PathBuf;
use std::time::Duration;

use super::material::{KeyMaterial, KeyState};
use super::sealed::Sealer;
use super::{dir, rsa_key, stored, KeyError, KeyRing};
use crate::clock::Clock;
use crate::secret::random_token;
use crate::store::keyspace::{KEY_RING, KEY_RING_CHANGED};
use crate::store::{Notices, SharedStore};

/// How long a lock on the ring is held at most; a holder that dies frees it after this.
pub const LOCK_TTL: Duration = Duration::from_secs(60);

/// The persistent home of the key ring.
pub enum KeyPersistence {
    /// A directory on local disk.
    Dir(PathBuf),
    /// The shared store, private keys sealed.
    Store { store: SharedStore, sealer: Sealer },
}

/// A persisted ring as read: its revision, its keys, and the bytes they were read from (what
/// a later `replace` checks is still there).
#[derive(Clone)]
pub struct Snapshot {
    /// Grows by one with every change.
    pub revision: u64,
    /// Every key, private material included.
    pub keys: Vec<KeyMaterial>,
    /// The persisted bytes this snapshot was read from.
    pub raw: Vec<u8>,
}

impl Snapshot {
    /// Parses the keys into a ring.
    pub fn ring(&self) -> Result<KeyRing, KeyError> {
        KeyRing::from_revision(&self.keys, self.revision)
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("revision", &self.revision)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// A held lock on the ring; give it back with `KeyPersistence::unlock`.
#[derive(Debug)]
pub struct RingLock {
    token: String,
}

impl KeyPersistence {
    /// Says where keys live, for the start-up log.
    pub fn describe(&self) -> String {
        match self {
            Self::Dir(dir) => format!("directory {}", dir.display()),
            Self::Store { .. } => format!("store entry `{KEY_RING}` (sealed)"),
        }
    }

    /// The persisted ring, if any.
    pub async fn load(&self) -> Result<Option<Snapshot>, KeyError> {
        match self {
            Self::Dir(path) => {
                let path = path.clone();
                blocking(move || dir::load(&path)).await
            }
            Self::Store { store, sealer } => stored::load(store.as_ref(), sealer).await,
        }
    }

    /// The persisted ring's revision, cheaply (no private key is read).
    pub async fn revision(&self) -> Result<Option<u64>, KeyError> {
        match self {
            Self::Dir(path) => {
                let path = path.clone();
                blocking(move || dir::revision(&path)).await
            }
            Self::Store { store, .. } => stored::revision(store.as_ref()).await,
        }
    }

    /// Persists `keys` as a first ring (revision 1) unless a ring already exists; `true` when
    /// this call wrote it.
    pub async fn create(&self, keys: &[KeyMaterial]) -> Result<bool, KeyError> {
        self.create_at(keys, 1).await
    }

    /// Persists `keys` at `revision` unless a ring already exists; `true` when this call wrote
    /// it. Writing back a lost ring keeps the revision the instances hold.
    pub async fn create_at(&self, keys: &[KeyMaterial], revision: u64) -> Result<bool, KeyError> {
        super::check_invariants(keys)?;
        match self {
            Self::Dir(path) => {
                let path = path.clone();
                let keys = keys.to_vec();
                blocking(move || dir::create(&path, &keys, revision)).await
            }
            Self::Store { store, sealer } => {
                stored::create(store.as_ref(), sealer, keys, revision).await
            }
        }
    }

    /// Writes `keys` as the next revision if the ring is still `current`; the new snapshot, or
    /// `None` when someone else changed the ring since `current` was read.
    pub async fn replace(
        &self,
        current: &Snapshot,
        keys: &[KeyMaterial],
    ) -> Result<Option<Snapshot>, KeyError> {
        super::check_invariants(keys)?;
        match self {
            Self::Dir(path) => {
                let path = path.clone();
                let current = current.clone();
                let keys = keys.to_vec();
                blocking(move || dir::replace(&path, &current, &keys)).await
            }
            Self::Store { store, sealer } => {
                stored::replace(store.as_ref(), sealer, current, keys).await
            }
        }
    }

    /// Takes the ring's lock for `LOCK_TTL` unless another instance (or `ferrid keys`) holds it.
    pub async fn try_lock(&self, clock: &dyn Clock) -> Result<Option<RingLock>, KeyError> {
        let token = random_token().map_err(|err| KeyError::Io(err.to_string()))?;
        let taken = match self {
            Self::Dir(path) => {
                let path = path.clone();
                let now = clock.now_millis();
                let until = now + LOCK_TTL.as_millis() as u64;
                let token = token.clone();
                blocking(move || dir::try_lock(&path, &token, now, until))
                    .await?
                    .is_some()
            }
            Self::Store { store, .. } => stored::try_lock(store.as_ref(), &token, LOCK_TTL).await?,
        };
        Ok(taken.then_some(RingLock { token }))
    }

    /// Releases a lock taken by `try_lock` (a no-op if it expired and someone else holds it).
    pub async fn unlock(&self, lock: RingLock) -> Result<(), KeyError> {
        match self {
            Self::Dir(path) => {
                let path = path.clone();
                blocking(move || dir::unlock(&path, &lock.token)).await
            }
            Self::Store { store, .. } => stored::unlock(store.as_ref(), &lock.token).await,
        }
    }

    /// Tells the other instances sharing the store that the ring changed. The directory has no
    /// other instance to tell: a running ferrid notices by its periodic revision check.
    pub async fn announce(&self) -> Result<(), KeyError> {
        match self {
            Self::Dir(_) => Ok(()),
            Self::Store { store, .. } => Ok(store.publish(KEY_RING_CHANGED).await?),
        }
    }

    /// Announcements of ring changes, where the home carries them.
    pub fn watch(&self) -> Option<Notices> {
        match self {
            Self::Dir(_) => None,
            Self::Store { store, .. } => Some(store.subscribe(KEY_RING_CHANGED)),
        }
    }
}

/// Loads the persisted ring, or generates a first key of `rsa_bits` and persists it. Returns the
/// ring and whether a key was generated.
pub async fn load_or_create(
    persistence: &KeyPersistence,
    rsa_bits: usize,
    clock: &dyn Clock,
) -> Result<(KeyRing, bool), KeyError> {
    if let Some(snapshot) = persistence.load().await? {
        return Ok((snapshot.ring()?, false));
    }
    let key = generate(rsa_bits, KeyState::Active, clock).await?;
    if persistence.create(std::slice::from_ref(&key)).await? {
        return Ok((KeyRing::from_revision(&[key], 1)?, true));
    }
    // Another instance created the ring first: use its keys, not ours.
    let snapshot = persistence
        .load()
        .await?
        .ok_or_else(|| KeyError::Ring("key ring vanished while being created".into()))?;
    Ok((snapshot.ring()?, false))
}

/// Generates an RSA key of `bits` entering `state` now (on a blocking thread: it takes a while).
pub async fn generate(
    bits: usize,
    state: KeyState,
    clock: &dyn Clock,
) -> Result<KeyMaterial, KeyError> {
    let pkcs8 = blocking(move || rsa_key::generate_pkcs8(bits)).await?;
    KeyMaterial::from_pkcs8(pkcs8, state, clock.now_secs())
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, KeyError> + Send + 'static,
) -> Result<T, KeyError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| KeyError::Io(format!("key task failed: {err}")))?
}
