//! Login throttling: failed attempts are counted per (username, client address) and per client
//! address, in the store — so on Redis every instance sees the same counts — on the injected
//! clock. Within a minute from the first counted failure, at most
//! `sessions.login_attempts_per_minute` may fail for one username from one address, and five
//! times as many for all usernames together (several people may share an address); beyond that
//! the form answers 429 with `Retry-After` until the minute ends, without checking the password.
//!
//! Only failures count, and only where they happened: a person whose username is being guessed
//! from elsewhere, or who logs in many times, is never refused; a correct password is refused
//! only from an address that has used up its failures. An attempt is counted before its password
//! is checked and the count is given back when it turns out right, so concurrent guesses cannot
//! all pass the check before any of them is counted (the limit bounds attempts in flight too).

use std::time::Duration;

use crate::context::Context;
use crate::store::{keyspace, Count, StoreError};

/// How long counted failures are remembered, from the first one.
pub const WINDOW: Duration = Duration::from_secs(60);

/// How many times `sessions.login_attempts_per_minute` may fail from one address in total.
const PER_ADDRESS_FACTOR: u64 = 5;

/// An attempt that was counted: give it back with `succeeded` if the password was right.
#[must_use = "a successful attempt must be given back"]
pub struct Attempt {
    keys: [String; 2],
}

/// The answer to a login attempt before its password is checked.
pub enum Admission {
    /// Check the password; the attempt counts as failed unless given back.
    Admitted(Attempt),
    /// Too many failures: try again after this long.
    Throttled(Duration),
}

/// Counts an attempt for `username` from the client address tagged `address_tag`, or refuses it.
pub async fn admit(
    ctx: &Context,
    address_tag: &str,
    username: &str,
) -> Result<Admission, StoreError> {
    let per_user = u64::from(ctx.settings().sessions.login_attempts_per_minute);
    let keys = [
        keyspace::login_failures_of(address_tag, username),
        keyspace::login_failures(address_tag),
    ];
    let counters = [
        (keys[0].as_str(), per_user),
        (
            keys[1].as_str(),
            per_user.saturating_mul(PER_ADDRESS_FACTOR),
        ),
    ];
    let now = ctx.clock().now_millis();
    Ok(
        match ctx
            .store()
            .count_below_limits(&counters, WINDOW, now)
            .await?
        {
            Count::Counted => Admission::Admitted(Attempt { keys }),
            Count::Full { retry_after } => Admission::Throttled(retry_after),
        },
    )
}

impl Attempt {
    /// The password was right: the attempt no longer counts.
    pub async fn succeeded(self, ctx: &Context) -> Result<(), StoreError> {
        let [for_user, for_address] = &self.keys;
        ctx.store().uncount(&[for_user, for_address]).await
    }
}

/// Whole seconds to announce in `Retry-After` for `wait` (rounded up, at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_millis().div_ceil(1000).max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::context;

    async fn attempt(ctx: &Context, tag: &str, user: &str) -> Option<Attempt> {
        match admit(ctx, tag, user).await.unwrap() {
            Admission::Admitted(attempt) => Some(attempt),
            Admission::Throttled(_) => None,
        }
    }

    #[tokio::test]
    async fn failures_are_counted_per_user_and_address_and_expire() {
        let test = context(|settings| settings.sessions.login_attempts_per_minute = 3);
        let ctx = &test.ctx;
        for _ in 0..3 {
            assert!(attempt(ctx, "a", "alice").await.is_some());
        }
        assert!(
            attempt(ctx, "a", "Alice").await.is_none(),
            "case-insensitive"
        );
        assert!(
            attempt(ctx, "b", "alice").await.is_some(),
            "another address"
        );
        assert!(attempt(ctx, "a", "bob").await.is_some(), "another user");
        test.clock.advance(WINDOW);
        assert!(
            attempt(ctx, "a", "alice").await.is_some(),
            "the window ended"
        );
    }

    #[tokio::test]
    async fn successes_are_given_back() {
        let test = context(|settings| settings.sessions.login_attempts_per_minute = 2);
        for _ in 0..20 {
            let attempt = attempt(&test.ctx, "a", "alice").await.unwrap();
            attempt.succeeded(&test.ctx).await.unwrap();
        }
    }

    #[tokio::test]
    async fn an_address_has_five_times_the_user_limit_in_total() {
        let test = context(|settings| settings.sessions.login_attempts_per_minute = 2);
        for user in 0..5 {
            for _ in 0..2 {
                assert!(attempt(&test.ctx, "a", &format!("u{user}")).await.is_some());
            }
        }
        match admit(&test.ctx, "a", "someone-else").await.unwrap() {
            Admission::Throttled(wait) => assert_eq!(wait, WINDOW),
            Admission::Admitted(_) => panic!("the address is at its limit"),
        }
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(59_001)), 60);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
