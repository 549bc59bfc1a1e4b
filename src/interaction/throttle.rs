//! Login throttling: at most `sessions.login_attempts_per_minute` attempts per username, and
//! five times that per client address (many people may share one), with short bursts allowed
//! (GCRA, `governor`). Counted per instance, in memory: a brute-force run spread over several
//! instances gets the limit once per instance. Password guessing is slowed; the Argon2 cost of
//! each attempt is bounded.

use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Per-username and per-address login limits.
pub struct LoginThrottle {
    per_user: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<String>,
}

impl LoginThrottle {
    /// Limits of `per_minute` attempts per username.
    pub fn new(per_minute: u32) -> Self {
        let per_user = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let per_address = per_user.saturating_mul(NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN));
        Self {
            per_user: RateLimiter::keyed(Quota::per_minute(per_user)),
            per_address: RateLimiter::keyed(Quota::per_minute(per_address)),
        }
    }

    /// Whether one more attempt for `username` from `address` is allowed now (and counts it).
    pub fn allow(&self, username: &str, address: Option<&str>) -> bool {
        let user_ok = self.per_user.check_key(&username.to_lowercase()).is_ok();
        let address_ok =
            address.is_none_or(|address| self.per_address.check_key(&address.to_owned()).is_ok());
        // Forget keys whose limits have fully recovered, so memory stays bounded.
        if self.per_user.len() > 10_000 {
            self.per_user.retain_recent();
            self.per_address.retain_recent();
        }
        user_ok && address_ok
    }
}

#[cfg(test)]
mod tests {
    use super::LoginThrottle;

    #[test]
    fn attempts_beyond_the_limit_are_refused_per_user() {
        let throttle = LoginThrottle::new(3);
        assert!((0..3).all(|_| throttle.allow("alice", Some("10.0.0.1"))));
        assert!(
            !throttle.allow("Alice", Some("10.0.0.2")),
            "usernames are counted case-insensitively"
        );
        assert!(
            throttle.allow("bob", Some("10.0.0.1")),
            "other users are not affected"
        );
    }
}
