//! Change notices between the instances sharing a store: a receiver of "something changed on
//! this channel" signals, nothing more. A notice carries no data (the reader fetches the
//! current state itself), so notices arriving while one is still pending collapse into one, and
//! a lost notice only delays a change until the reader's next periodic check.

use tokio::sync::mpsc;

/// The receiving end of a `Store::subscribe`.
pub struct Notices {
    receiver: mpsc::Receiver<()>,
}

impl Notices {
    /// A channel for a subscription: the sender side is kept by the store.
    pub fn channel() -> (mpsc::Sender<()>, Self) {
        // Capacity 1: a pending notice already says "changed"; more add nothing.
        let (sender, receiver) = mpsc::channel(1);
        (sender, Self { receiver })
    }

    /// Waits for the next notice; `None` once the store side has gone away.
    pub async fn recv(&mut self) -> Option<()> {
        self.receiver.recv().await
    }

    /// A notice that is already waiting, without blocking.
    pub fn try_recv(&mut self) -> bool {
        self.receiver.try_recv().is_ok()
    }
}

/// Signals `sender` unless a notice is already pending; `false` once the receiver is gone.
pub fn signal(sender: &mpsc::Sender<()>) -> bool {
    !matches!(
        sender.try_send(()),
        Err(mpsc::error::TrySendError::Closed(()))
    )
}
