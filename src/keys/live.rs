//! The ring this instance signs with, kept in step with the persisted one. Requests read it
//! lock-free through an `ArcSwap`; a change builds a whole new `KeyRing` (parsing each key and
//! serialising the JWKS once) and swaps it in, so no request ever waits for a rotation.
//!
//! `maintain` is the background task `ferrid serve` runs: on every announcement of a change
//! (Redis pub/sub) it reloads the ring; every `keys.refresh_interval_secs` it reloads the ring
//! if its revision moved (the fallback for a lost announcement) and performs any transition
//! the schedule says is due. Each step is also callable on its own (`refresh`,
//! `rotate_if_due`), which is how tests drive it with a manual clock.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;

use super::persist::{self, KeyPersistence, Snapshot};
use super::rotation::{self, Step};
use super::schedule::{Change, Schedule};
use super::{KeyError, KeyRing, KeyState};
use crate::clock::Clock;
use crate::store::Notices;
use crate::telemetry::{self, AuditEvent};

/// Where `LiveKeys::load_or_create` got its ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingOrigin {
    /// The persisted ring.
    Loaded,
    /// Nothing was persisted and nothing held: a first key was generated.
    Generated,
    /// The persisted ring was lost and the one the instances held was written back.
    Restored,
}

/// The current ring and what keeps it current.
pub struct LiveKeys {
    ring: ArcSwapOption<KeyRing>,
    persistence: KeyPersistence,
    schedule: Schedule,
    rsa_bits: usize,
    refresh_interval: Duration,
}

impl LiveKeys {
    /// No ring loaded yet; `load_or_create` loads one.
    pub fn new(
        persistence: KeyPersistence,
        schedule: Schedule,
        rsa_bits: usize,
        refresh_interval: Duration,
    ) -> Self {
        Self {
            ring: ArcSwapOption::empty(),
            persistence,
            schedule,
            rsa_bits,
            refresh_interval,
        }
    }

    /// The ring requests sign with, once loaded.
    pub fn current(&self) -> Option<Arc<KeyRing>> {
        self.ring.load_full()
    }

    /// Where the ring is persisted.
    pub fn persistence(&self) -> &KeyPersistence {
        &self.persistence
    }

    /// The rotation schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Loads the persisted ring and signs with it from now on. When none is persisted, the ring
    /// this instance holds is written back (the store lost it; see `rotation::restore`) or,
    /// holding none, a first ring with a fresh active key is created.
    pub async fn load_or_create(
        &self,
        clock: &dyn Clock,
    ) -> Result<(Arc<KeyRing>, RingOrigin), KeyError> {
        let (ring, origin) = match self.current() {
            Some(held) => match self.persistence.load().await? {
                Some(snapshot) => (snapshot.ring()?, RingOrigin::Loaded),
                None => {
                    let snapshot = rotation::restore(
                        &self.persistence,
                        held.materials(),
                        held.revision(),
                        clock,
                    )
                    .await?;
                    self.announce().await;
                    (snapshot.ring()?, RingOrigin::Restored)
                }
            },
            None => match persist::load_or_create(&self.persistence, self.rsa_bits, clock).await? {
                (ring, true) => (ring, RingOrigin::Generated),
                (ring, false) => (ring, RingOrigin::Loaded),
            },
        };
        let ring = Arc::new(ring);
        self.ring.store(Some(ring.clone()));
        Ok((ring, origin))
    }

    /// Reloads the ring if the persisted revision differs from ours; `true` when it swapped a
    /// new ring in.
    pub async fn refresh(&self) -> Result<bool, KeyError> {
        let Some(current) = self.current() else {
            return Ok(false);
        };
        if self.persistence.revision().await? == Some(current.revision()) {
            return Ok(false);
        }
        match self.persistence.load().await? {
            // Swap only if no other task installed a ring while we were loading: a rotation
            // performed here meanwhile installs a newer revision than the one just loaded, and
            // replacing it would move this instance's ring backwards.
            Some(snapshot) => self.install_replacing(&current, &snapshot),
            None => Ok(false),
        }
    }

    /// Performs the transitions due at the clock's now, unless another instance does. Without
    /// I/O when our ring says nothing is due.
    pub async fn rotate_if_due(&self, clock: &dyn Clock) -> Result<Step, KeyError> {
        let Some(current) = self.current() else {
            return Ok(Step::Unchanged);
        };
        if self
            .schedule
            .due(current.keys(), clock.now_secs())
            .is_empty()
        {
            return Ok(Step::Unchanged);
        }
        let step = rotation::rotate_if_due(&self.persistence, &self.schedule, self.rsa_bits, clock)
            .await?;
        if let Step::Rotated { snapshot, changes } = &step {
            self.install(snapshot)?;
            log_changes(snapshot, changes);
            self.announce().await;
        }
        Ok(step)
    }

    /// Emergency rotation (see `rotation::rotate_now`), then swaps the new ring in and tells
    /// the other instances.
    pub async fn rotate_now(
        &self,
        withdraw_old: bool,
        clock: &dyn Clock,
    ) -> Result<Snapshot, KeyError> {
        let snapshot =
            rotation::rotate_now(&self.persistence, self.rsa_bits, withdraw_old, clock).await?;
        if let Some(active) = snapshot
            .keys
            .iter()
            .find(|key| key.state() == KeyState::Active)
        {
            telemetry::record(AuditEvent::KeyRotated {
                kid: &active.kid,
                emergency: true,
                withdraw_old,
            });
        }
        self.settle(&snapshot).await?;
        Ok(snapshot)
    }

    /// Imports a PEM private key (see `rotation::import`), then swaps the new ring in and tells
    /// the other instances.
    pub async fn import(&self, pem: &str, clock: &dyn Clock) -> Result<Snapshot, KeyError> {
        let snapshot = rotation::import(&self.persistence, pem, clock).await?;
        if let Some(active) = snapshot
            .keys
            .iter()
            .find(|key| key.state() == KeyState::Active)
        {
            telemetry::record(AuditEvent::KeyImported { kid: &active.kid });
        }
        self.settle(&snapshot).await?;
        Ok(snapshot)
    }

    async fn settle(&self, snapshot: &Snapshot) -> Result<(), KeyError> {
        if self.current().is_some() {
            self.install(snapshot)?;
        }
        self.announce().await;
        Ok(())
    }

    /// Swaps in `snapshot`'s ring if the current ring is still `expected`; `true` when swapped.
    fn install_replacing(
        &self,
        expected: &Arc<KeyRing>,
        snapshot: &Snapshot,
    ) -> Result<bool, KeyError> {
        if expected.revision() == snapshot.revision {
            return Ok(false);
        }
        let ring = Arc::new(snapshot.ring()?);
        let previous = self
            .ring
            .compare_and_swap(&Some(expected.clone()), Some(ring.clone()));
        let swapped = previous
            .as_ref()
            .is_some_and(|previous| Arc::ptr_eq(previous, expected));
        if swapped {
            tracing::info!(
                revision = ring.revision(),
                active_kid = %ring.active().kid(),
                keys = ring.keys().len(),
                "signing keys: loaded a changed key ring"
            );
        }
        Ok(swapped)
    }

    /// Swaps in `snapshot`'s ring unless ours is already that revision.
    pub fn install(&self, snapshot: &Snapshot) -> Result<bool, KeyError> {
        if self
            .current()
            .is_some_and(|ring| ring.revision() == snapshot.revision)
        {
            return Ok(false);
        }
        let ring = snapshot.ring()?;
        tracing::info!(
            revision = ring.revision(),
            active_kid = %ring.active().kid(),
            keys = ring.keys().len(),
            "signing keys: loaded a changed key ring"
        );
        self.ring.store(Some(Arc::new(ring)));
        Ok(true)
    }

    /// Tells the other instances the ring changed (best effort: they also poll).
    pub async fn announce(&self) {
        if let Err(err) = self.persistence.announce().await {
            tracing::warn!(error = %err, "cannot announce the key ring change; other instances pick it up by polling");
        }
    }

    /// Keeps the ring current and on schedule until the task is dropped: an announced change
    /// is loaded at once; every `refresh_interval` the revision is checked (in case an
    /// announcement was lost) and due transitions are performed. The first check comes one
    /// interval after the start, when `bootstrap` has just loaded the ring.
    pub async fn maintain(&self, clock: &dyn Clock) {
        let mut notices = self.persistence.watch();
        let start = tokio::time::Instant::now() + self.refresh_interval;
        let mut ticks = tokio::time::interval_at(start, self.refresh_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let scheduled = tokio::select! {
                _ = ticks.tick() => true,
                () = next_notice(&mut notices) => false,
            };
            if let Err(err) = self.refresh().await {
                tracing::warn!(error = %err, "cannot check the key ring for changes");
            }
            if scheduled {
                if let Err(err) = self.rotate_if_due(clock).await {
                    tracing::warn!(error = %err, "key rotation failed; retrying at the next check");
                }
            }
        }
    }
}

/// Waits for a notice; never returns when there is no notice channel (or it closed).
async fn next_notice(notices: &mut Option<Notices>) {
    if let Some(receiver) = notices {
        if receiver.recv().await.is_some() {
            return;
        }
        *notices = None;
    }
    std::future::pending::<()>().await;
}

fn log_changes(snapshot: &Snapshot, changes: &[Change]) {
    for change in changes {
        let event = match change {
            Change::Remove { kid } => AuditEvent::KeyRemoved { kid },
            Change::Activate { kid } => AuditEvent::KeyRotated {
                kid,
                emergency: false,
                withdraw_old: false,
            },
            Change::PublishNext => AuditEvent::KeyPublished {
                kid: snapshot
                    .keys
                    .iter()
                    .find(|key| key.state() == KeyState::Next)
                    .map_or("", |key| key.kid.as_str()),
            },
        };
        telemetry::record(event);
    }
}
