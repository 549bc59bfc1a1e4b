//! Change notices between the instances sharing a store: a receiver of "something changed on
//! this channel" signals, nothing more. A notice carries no data (the reader fetches the
//! current state itself), so notices arriving while one is still pending collapse into one, and
//! a lost notice only delays a change until the reader's next periodic check.
//!
//! Besides the queue, a subscription keeps an `Epoch` that readers can look at without waiting:
//! whether the subscription is established right now, and a counter that the store's side moves
//! forward, before queueing anything, on every notice, every loss and every re-establishment
//! of the subscription. A value read while the epoch stayed the same is therefore as recent as
//! every notice delivered so far — what an in-process cache needs (`store::cached`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

/// The receiving end of a `Store::subscribe`.
pub struct Notices {
    receiver: mpsc::Receiver<()>,
    epoch: Epoch,
}

/// The sending end of a subscription, kept by the store.
#[derive(Clone)]
pub struct Sender {
    sender: mpsc::Sender<()>,
    epoch: Epoch,
}

/// Where a subscription stands, shared by both ends: `(count << 1) | established`. The count
/// only grows, so a changed value is never mistaken for an earlier one.
#[derive(Clone)]
pub struct Epoch(Arc<AtomicU64>);

impl Epoch {
    /// `None` while the subscription is not established (not yet, or lost); otherwise a value
    /// that changes with every notice and every re-establishment.
    pub fn current(&self) -> Option<u64> {
        let value = self.0.load(Ordering::SeqCst);
        (value & 1 == 1).then_some(value)
    }

    fn advance(&self, established: bool) {
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |value| {
                Some((((value >> 1) + 1) << 1) | u64::from(established))
            });
    }
}

impl Notices {
    /// A channel for a subscription that is not established yet: the sender side is kept by
    /// the store, which establishes it with its first `signal`.
    pub fn channel() -> (Sender, Self) {
        // Capacity 1: a pending notice already says "changed"; more add nothing.
        let (sender, receiver) = mpsc::channel(1);
        let epoch = Epoch(Arc::new(AtomicU64::new(0)));
        (
            Sender {
                sender,
                epoch: epoch.clone(),
            },
            Self { receiver, epoch },
        )
    }

    /// Waits for the next notice; `None` once the store side has gone away.
    pub async fn recv(&mut self) -> Option<()> {
        self.receiver.recv().await
    }

    /// A notice that is already waiting, without blocking.
    pub fn try_recv(&mut self) -> bool {
        self.receiver.try_recv().is_ok()
    }

    /// The subscription's epoch, readable without waiting (and without draining the queue).
    pub fn epoch(&self) -> Epoch {
        self.epoch.clone()
    }
}

impl Sender {
    /// Resolves once the receiver is dropped.
    pub async fn closed(&self) {
        self.sender.closed().await;
    }
}

/// Signals `sender` — the subscription is established and something may have changed — unless
/// a notice is already pending; `false` once the receiver is gone.
pub fn signal(sender: &Sender) -> bool {
    sender.epoch.advance(true);
    !matches!(
        sender.sender.try_send(()),
        Err(mpsc::error::TrySendError::Closed(()))
    )
}

/// Records that the subscription is lost: until the next `signal`, notices may go missing.
pub fn lost(sender: &Sender) {
    sender.epoch.advance(false);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_is_unknown_until_established_and_moves_on_every_change() {
        let (sender, mut notices) = Notices::channel();
        let epoch = notices.epoch();
        assert_eq!(epoch.current(), None, "not established yet");
        assert!(signal(&sender));
        let first = epoch.current().unwrap();
        assert!(notices.try_recv());
        assert!(signal(&sender));
        let second = epoch.current().unwrap();
        assert_ne!(first, second, "a notice moves the epoch");
        lost(&sender);
        assert_eq!(epoch.current(), None, "lost: unknown again");
        assert!(signal(&sender));
        let third = epoch.current().unwrap();
        assert!(third > second, "never back to an earlier value");
        drop(notices);
        assert!(!signal(&sender), "the receiver is gone");
    }
}
