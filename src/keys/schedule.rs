//! The rotation schedule: pure arithmetic over each key's lifecycle times and the clock, no I/O.
//!
//! - A `next` key is published `publication_lead` before the active key's rotation period ends.
//! - It becomes `active` when the period ends, but never before it has been in the JWKS for the
//!   whole lead: a resource server that caches the JWKS for `max-age` (< lead) has then fetched
//!   it at least once before the first token it signs. The active key retires at that moment.
//! - A `retired` key leaves the JWKS `retirement_grace` after it stopped signing: the longest
//!   lifetime of a token it signed plus clock skew (and the time other instances may take to
//!   notice the change), so every such token verifies until it expires.
//!
//! After downtime nothing is skipped: an overdue rotation first publishes a next key, which then
//! waits out its lead like any other.

use super::material::{KeyState, Lifecycle, ScheduledKey};
use crate::config::Settings;

/// How long each stage of a key's life lasts, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// How long a key signs before the next one replaces it.
    pub rotation_period: u64,
    /// How long a next key is published before it may sign.
    pub publication_lead: u64,
    /// How long a retired key stays published after it stopped signing.
    pub retirement_grace: u64,
}

/// One transition the schedule calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Remove this retired key from the ring (and the JWKS).
    Remove { kid: String },
    /// This next key starts signing; the active key retires.
    Activate { kid: String },
    /// Generate a key and publish it as next.
    PublishNext,
}

/// What happens to a key next, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upcoming {
    /// A next key will be published (the active key's successor).
    PublishNext,
    /// The next key starts signing.
    Activate,
    /// The active key stops signing (when the next key activates).
    Retire,
    /// The retired key leaves the JWKS.
    Remove,
}

impl Upcoming {
    /// A short name for `ferrid keys list`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PublishNext => "publish next",
            Self::Activate => "activate",
            Self::Retire => "retire",
            Self::Remove => "remove",
        }
    }
}

impl Schedule {
    /// The schedule the settings describe (see `Settings::retirement_grace_secs` for the
    /// grace's default).
    pub fn from_settings(settings: &Settings) -> Self {
        let keys = &settings.keys;
        Self {
            rotation_period: keys.rotation_period_secs,
            publication_lead: keys.publication_lead_secs,
            retirement_grace: settings.retirement_grace_secs(),
        }
    }

    /// When the successor of `active` should be published.
    pub fn publish_next_at(&self, active: &Lifecycle) -> u64 {
        (active.activated() + self.rotation_period).saturating_sub(self.publication_lead)
    }

    /// When `next` may replace `active`.
    pub fn activate_at(&self, next: &Lifecycle, active: &Lifecycle) -> u64 {
        (next.created_at + self.publication_lead).max(active.activated() + self.rotation_period)
    }

    /// When `retired` leaves the JWKS.
    pub fn remove_at(&self, retired: &Lifecycle) -> u64 {
        retired.retired() + self.retirement_grace
    }

    /// The transitions due at `now`, in the order to apply them.
    pub fn due<K: ScheduledKey>(&self, keys: &[K], now: u64) -> Vec<Change> {
        let mut changes: Vec<Change> = keys
            .iter()
            .filter(|key| key.lifecycle().state == KeyState::Retired)
            .filter(|key| now >= self.remove_at(key.lifecycle()))
            .map(|key| Change::Remove {
                kid: key.kid().to_owned(),
            })
            .collect();
        let Some(active) = find(keys, KeyState::Active) else {
            return changes;
        };
        match find(keys, KeyState::Next) {
            Some(next) if now >= self.activate_at(next.lifecycle(), active.lifecycle()) => {
                changes.push(Change::Activate {
                    kid: next.kid().to_owned(),
                });
            }
            Some(_) => {}
            None if now >= self.publish_next_at(active.lifecycle()) => {
                changes.push(Change::PublishNext);
            }
            None => {}
        }
        changes
    }

    /// Each key's next transition and its time, for `ferrid keys list` (the active key's entry
    /// is its retirement when a next key exists, else the publication of its successor).
    pub fn upcoming<K: ScheduledKey>(&self, keys: &[K]) -> Vec<Option<(Upcoming, u64)>> {
        let active = find(keys, KeyState::Active);
        let next = find(keys, KeyState::Next);
        keys.iter()
            .map(|key| {
                let lifecycle = key.lifecycle();
                match lifecycle.state {
                    KeyState::Retired => Some((Upcoming::Remove, self.remove_at(lifecycle))),
                    KeyState::Next => active.map(|active| {
                        (
                            Upcoming::Activate,
                            self.activate_at(lifecycle, active.lifecycle()),
                        )
                    }),
                    KeyState::Active => Some(match next {
                        Some(next) => (
                            Upcoming::Retire,
                            self.activate_at(next.lifecycle(), lifecycle),
                        ),
                        None => (Upcoming::PublishNext, self.publish_next_at(lifecycle)),
                    }),
                }
            })
            .collect()
    }
}

fn find<K: ScheduledKey>(keys: &[K], state: KeyState) -> Option<&K> {
    keys.iter().find(|key| key.lifecycle().state == state)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    struct Key(&'static str, Lifecycle);

    impl ScheduledKey for Key {
        fn kid(&self) -> &str {
            self.0
        }
        fn lifecycle(&self) -> &Lifecycle {
            &self.1
        }
    }

    fn schedule() -> Schedule {
        Schedule {
            rotation_period: 30 * DAY,
            publication_lead: DAY,
            retirement_grace: 660,
        }
    }

    #[test]
    fn the_next_key_is_published_one_lead_before_the_period_ends() {
        let keys = [Key("a", Lifecycle::new(KeyState::Active, 0))];
        assert!(schedule().due(&keys, 29 * DAY - 1).is_empty());
        assert_eq!(schedule().due(&keys, 29 * DAY), vec![Change::PublishNext]);
    }

    #[test]
    fn a_next_key_activates_at_the_end_of_the_period_but_never_before_its_lead() {
        let on_time = [
            Key("a", Lifecycle::new(KeyState::Active, 0)),
            Key("b", Lifecycle::new(KeyState::Next, 29 * DAY)),
        ];
        assert!(schedule().due(&on_time, 30 * DAY - 1).is_empty());
        assert_eq!(
            schedule().due(&on_time, 30 * DAY),
            vec![Change::Activate { kid: "b".into() }]
        );
        // Published late (say after downtime): the lead still runs in full.
        let late = [
            Key("a", Lifecycle::new(KeyState::Active, 0)),
            Key("b", Lifecycle::new(KeyState::Next, 40 * DAY)),
        ];
        assert!(schedule().due(&late, 41 * DAY - 1).is_empty());
        assert_eq!(schedule().due(&late, 41 * DAY).len(), 1);
    }

    #[test]
    fn an_overdue_ring_publishes_first_instead_of_switching_at_once() {
        let keys = [Key("a", Lifecycle::new(KeyState::Active, 0))];
        assert_eq!(schedule().due(&keys, 100 * DAY), vec![Change::PublishNext]);
    }

    #[test]
    fn a_retired_key_is_removed_after_its_grace() {
        let mut retired = Lifecycle::new(KeyState::Retired, 0);
        retired.retired_at = Some(30 * DAY);
        let keys = [
            Key("old", retired),
            Key("a", Lifecycle::new(KeyState::Active, 30 * DAY)),
        ];
        assert!(schedule().due(&keys, 30 * DAY + 659).is_empty());
        assert_eq!(
            schedule().due(&keys, 30 * DAY + 660),
            vec![Change::Remove { kid: "old".into() }]
        );
    }

    #[test]
    fn upcoming_lists_each_keys_next_transition() {
        let mut retired = Lifecycle::new(KeyState::Retired, 0);
        retired.retired_at = Some(10);
        let keys = [
            Key("old", retired),
            Key("a", Lifecycle::new(KeyState::Active, 0)),
            Key("b", Lifecycle::new(KeyState::Next, 29 * DAY)),
        ];
        assert_eq!(
            schedule().upcoming(&keys),
            vec![
                Some((Upcoming::Remove, 670)),
                Some((Upcoming::Retire, 30 * DAY)),
                Some((Upcoming::Activate, 30 * DAY)),
            ]
        );
        let alone = [Key("a", Lifecycle::new(KeyState::Active, 0))];
        assert_eq!(
            schedule().upcoming(&alone),
            vec![Some((Upcoming::PublishNext, 29 * DAY))]
        );
    }
}
