//! Changing the ring: the scheduled step (`rotate_if_due`), the emergency rotation
//! (`rotate_now`), bringing in an external key (`import`) and writing back a ring the store
//! lost (`restore`). Each takes the ring's lock, re-reads the ring under it, computes the new
//! key set, and writes it only if the ring is still the one it read (the fencing check), so
//! with any number of instances each transition happens once. Time comes only from the `Clock`
//! passed in; tests drive these functions with a manual clock.

use std::time::Duration;

use super::material::{KeyMaterial, KeyState};
use super::persist::{self, KeyPersistence, RingLock, Snapshot, LOCK_TTL};
use super::schedule::{Change, Schedule};
use super::{rsa_key, KeyError};
use crate::clock::Clock;

/// What a scheduled step did.
#[derive(Debug)]
pub enum Step {
    /// Nothing was due.
    Unchanged,
    /// Another instance holds the lock or changed the ring first; it does the work.
    Busy,
    /// This call changed the ring.
    Rotated {
        /// The ring as written.
        snapshot: Snapshot,
        /// What changed, in order.
        changes: Vec<Change>,
    },
}

/// Performs the transitions the schedule calls for at the clock's `now`, generating a key of
/// `rsa_bits` when a next key is due.
pub async fn rotate_if_due(
    persistence: &KeyPersistence,
    schedule: &Schedule,
    rsa_bits: usize,
    clock: &dyn Clock,
) -> Result<Step, KeyError> {
    let Some(lock) = persistence.try_lock(clock).await? else {
        return Ok(Step::Busy);
    };
    let result = async {
        let current = load(persistence).await?;
        let now = clock.now_secs();
        let changes = schedule.due(&current.keys, now);
        if changes.is_empty() {
            return Ok(Step::Unchanged);
        }
        let fresh = if changes.contains(&Change::PublishNext) {
            Some(persist::generate(rsa_bits, KeyState::Next, clock).await?)
        } else {
            None
        };
        let keys = apply(&current.keys, &changes, fresh, now);
        Ok(match persistence.replace(&current, &keys).await? {
            Some(snapshot) => Step::Rotated { snapshot, changes },
            None => Step::Busy,
        })
    }
    .await;
    release(persistence, lock).await;
    result
}

/// The key set after `changes` at `now`; `fresh` is the key a `PublishNext` publishes.
pub fn apply(
    keys: &[KeyMaterial],
    changes: &[Change],
    mut fresh: Option<KeyMaterial>,
    now: u64,
) -> Vec<KeyMaterial> {
    let mut keys = keys.to_vec();
    for change in changes {
        match change {
            Change::Remove { kid } => keys.retain(|key| &key.kid != kid),
            Change::Activate { kid } => {
                for key in &mut keys {
                    if key.state() == KeyState::Active {
                        key.lifecycle.state = KeyState::Retired;
                        key.lifecycle.retired_at = Some(now);
                    } else if &key.kid == kid {
                        key.lifecycle.state = KeyState::Active;
                        key.lifecycle.activated_at = Some(now);
                    }
                }
            }
            Change::PublishNext => keys.extend(fresh.take()),
        }
    }
    keys
}

/// Emergency rotation: a freshly generated key signs from now on. The old active key retires
/// (still published for its grace), or with `withdraw_old` is withdrawn at once together with
/// every retired key, so nothing they signed verifies any more. A pending next key is dropped:
/// it never signed anything, and in an emergency stored keys are suspect.
pub async fn rotate_now(
    persistence: &KeyPersistence,
    rsa_bits: usize,
    withdraw_old: bool,
    clock: &dyn Clock,
) -> Result<Snapshot, KeyError> {
    // Fail before the slow key generation when there is no ring to rotate.
    load(persistence).await?;
    let fresh = persist::generate(rsa_bits, KeyState::Active, clock).await?;
    change(persistence, clock, |current, now| {
        let mut keys: Vec<KeyMaterial> = current
            .keys
            .iter()
            .filter(|key| key.state() != KeyState::Next)
            .filter(|_| !withdraw_old)
            .cloned()
            .map(|mut key| {
                if key.state() == KeyState::Active {
                    key.lifecycle.state = KeyState::Retired;
                    key.lifecycle.retired_at = Some(now);
                }
                key
            })
            .collect();
        let mut fresh = fresh.clone();
        fresh.lifecycle.created_at = now;
        fresh.lifecycle.activated_at = Some(now);
        keys.push(fresh);
        Ok(keys)
    })
    .await
}

/// Brings in an externally made private key (PEM, PKCS#8 or PKCS#1). With no ring yet it
/// becomes the active key; otherwise it is published as the next key at once (replacing a
/// pending one, which never signed) and starts signing at the next scheduled rotation, after
/// its full publication lead.
pub async fn import(
    persistence: &KeyPersistence,
    pem: &str,
    clock: &dyn Clock,
) -> Result<Snapshot, KeyError> {
    let pkcs8 = rsa_key::pkcs8_from_pem(pem)?;
    let bits = rsa_key::modulus_bits(&pkcs8)?;
    if !rsa_key::ALLOWED_BITS.contains(&bits) {
        return Err(KeyError::Invalid(format!(
            "the key has {bits} bits; ferrid signs with RSA keys of {:?} bits",
            rsa_key::ALLOWED_BITS
        )));
    }
    let active = KeyMaterial::from_pkcs8(pkcs8.clone(), KeyState::Active, clock.now_secs())?;
    if persistence.load().await?.is_none()
        && persistence.create(std::slice::from_ref(&active)).await?
    {
        return load(persistence).await;
    }
    change(persistence, clock, |current, now| {
        if current.keys.iter().any(|key| key.kid == active.kid) {
            return Err(KeyError::Invalid(format!(
                "key {} is already in the ring",
                active.kid
            )));
        }
        let mut keys: Vec<KeyMaterial> = current
            .keys
            .iter()
            .filter(|key| key.state() != KeyState::Next)
            .cloned()
            .collect();
        let mut next = active.clone();
        next.lifecycle = super::Lifecycle::new(KeyState::Next, now);
        keys.push(next);
        Ok(keys)
    })
    .await
}

/// Writes back a ring the store lost (a Redis restarted empty, a failover, `FLUSHALL`): `keys`
/// at `revision`, as this instance still holds them, so that every token they signed keeps
/// verifying and resource servers see the same JWKS. Under the lock and only while no ring
/// exists: of several instances doing this at once one writes, and each returns what it wrote.
pub async fn restore(
    persistence: &KeyPersistence,
    keys: &[KeyMaterial],
    revision: u64,
    clock: &dyn Clock,
) -> Result<Snapshot, KeyError> {
    let attempts = 2 * LOCK_TTL.as_millis() / RETRY.as_millis();
    for _ in 0..attempts {
        if let Some(lock) = persistence.try_lock(clock).await? {
            let result = async {
                if persistence.load().await?.is_none() {
                    persistence.create_at(keys, revision).await?;
                }
                load(persistence).await
            }
            .await;
            release(persistence, lock).await;
            return result;
        }
        // The holder may be writing the ring back right now.
        if let Some(snapshot) = persistence.load().await? {
            return Ok(snapshot);
        }
        tokio::time::sleep(RETRY).await;
    }
    Err(KeyError::Ring(
        "the key ring stayed locked by another ferrid; try again".into(),
    ))
}

/// Applies `edit` to the current ring under the lock, waiting for the lock and retrying when
/// someone else changes the ring in between, for up to twice the lock's lifetime.
async fn change(
    persistence: &KeyPersistence,
    clock: &dyn Clock,
    edit: impl Fn(&Snapshot, u64) -> Result<Vec<KeyMaterial>, KeyError>,
) -> Result<Snapshot, KeyError> {
    let attempts = 2 * LOCK_TTL.as_millis() / RETRY.as_millis();
    for _ in 0..attempts {
        if let Some(lock) = persistence.try_lock(clock).await? {
            let result = async {
                let current = load(persistence).await?;
                let keys = edit(&current, clock.now_secs())?;
                persistence.replace(&current, &keys).await
            }
            .await;
            release(persistence, lock).await;
            if let Some(snapshot) = result? {
                return Ok(snapshot);
            }
        }
        tokio::time::sleep(RETRY).await;
    }
    Err(KeyError::Ring(
        "the key ring stayed locked by another ferrid; try again".into(),
    ))
}

/// Pause between attempts to take a held lock.
const RETRY: Duration = Duration::from_millis(250);

async fn load(persistence: &KeyPersistence) -> Result<Snapshot, KeyError> {
    persistence.load().await?.ok_or_else(|| {
        KeyError::Ring(format!(
            "no key ring in {} yet; start ferrid once (or import a key) first",
            persistence.describe()
        ))
    })
}

async fn release(persistence: &KeyPersistence, lock: RingLock) {
    if let Err(err) = persistence.unlock(lock).await {
        tracing::warn!(error = %err, "cannot release the key ring lock; it expires by itself");
    }
}
