//! The interaction policy: which page, if any, a person must see before an authorization is
//! granted. It is an ordered list of named checks over a read-only `Situation` — the facts the
//! caller gathered (the request's `prompt` and `max_age`, the browser session's `auth_time`,
//! what happened earlier in this interaction, remembered consent) — and it does no I/O, so the
//! authorization code flow, the device grant and a step-up login can share it and each check is
//! tested alone. The first failing check decides; checks that require a login come before
//! those that require consent, because consent is given by a known person. `prompt=none` turns
//! a required page into the error OIDC Core §3.1.2.6 names, in `Policy::decide` only. The names
//! follow node-oidc-provider's interaction policy (`no_session`, `max_age`, …), so audit logs
//! read the same.

use crate::error::{ErrorCode, OAuthError};
use crate::oauth::authorize::Prompt;

/// The facts a policy decides on, gathered by the caller beforehand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Situation {
    /// The request's `prompt` values (none for grants without a browser request).
    pub prompt: Prompt,
    /// The request's `max_age`, in seconds.
    pub max_age: Option<u64>,
    /// When the person of the browser session authenticated; `None` without a session.
    pub auth_time: Option<u64>,
    /// The person logged in during this interaction (so `prompt=login` and `max_age` are met).
    pub logged_in_now: bool,
    /// The person approved the consent page during this interaction.
    pub consent_given_now: bool,
    /// Remembered consent covers every requested scope.
    pub consent_remembered: bool,
    /// The client is first-party and never shows the consent page.
    pub skip_consent: bool,
    /// Seconds since the epoch.
    pub now: u64,
}

/// A page the person must go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    Login,
    Consent,
}

/// A failed check: the page it requires and the check's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Required {
    pub interaction: Interaction,
    /// The failing check's name, e.g. `max_age`; for logs and audit events.
    pub reason: &'static str,
}

/// One named check: it fails when `fails` holds, and then requires `requires`.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    pub reason: &'static str,
    pub requires: Interaction,
    fails: fn(&Situation) -> bool,
}

impl Check {
    /// `None` when the check passes, otherwise the page it requires.
    pub fn run(&self, situation: &Situation) -> Option<Required> {
        (self.fails)(situation).then_some(Required {
            interaction: self.requires,
            reason: self.reason,
        })
    }
}

/// No browser session: nobody is logged in.
pub const NO_SESSION: Check = Check {
    reason: "no_session",
    requires: Interaction::Login,
    fails: |s| s.auth_time.is_none(),
};

/// OIDC Core §3.1.2.1 `max_age`: the session's login is older than the client accepts. A login
/// exactly `max_age` seconds ago is still fresh enough.
pub const MAX_AGE: Check = Check {
    reason: "max_age",
    requires: Interaction::Login,
    fails: |s| {
        let too_old = match (s.max_age, s.auth_time) {
            (Some(max_age), Some(auth_time)) => s.now.saturating_sub(auth_time) > max_age,
            _ => false,
        };
        too_old && !s.logged_in_now
    },
};

/// OIDC Core §3.1.2.1 `prompt=login` (and `select_account`): log in again despite the session.
pub const PROMPT_LOGIN: Check = Check {
    reason: "prompt_login",
    requires: Interaction::Login,
    fails: |s| s.prompt.login && !s.logged_in_now,
};

/// OIDC Core §3.1.2.1 `prompt=consent`: ask again even when consent is remembered.
pub const PROMPT_CONSENT: Check = Check {
    reason: "prompt_consent",
    requires: Interaction::Consent,
    fails: |s| s.prompt.consent && !s.skip_consent && !s.consent_given_now,
};

/// Some requested scope was never approved for this client.
pub const CONSENT_MISSING: Check = Check {
    reason: "consent_missing",
    requires: Interaction::Consent,
    fails: |s| !s.consent_remembered && !s.skip_consent && !s.consent_given_now,
};

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Every check passed: grant the authorization.
    Proceed,
    /// Show the required page.
    Interact(Required),
    /// A page is required but the request forbade any (`prompt=none`): send this error to the
    /// client.
    Refuse(Required, OAuthError),
}

/// An ordered list of checks.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    checks: &'a [Check],
}

/// The authorization code flow's policy: log in first, then consent.
pub const AUTHORIZATION: Policy<'static> = Policy::new(&[
    NO_SESSION,
    MAX_AGE,
    PROMPT_LOGIN,
    PROMPT_CONSENT,
    CONSENT_MISSING,
]);

impl<'a> Policy<'a> {
    /// A policy that runs `checks` in this order.
    pub const fn new(checks: &'a [Check]) -> Self {
        Self { checks }
    }

    /// The checks, in order.
    pub fn checks(&self) -> &'a [Check] {
        self.checks
    }

    /// The first failing check's requirement, if any.
    pub fn required(&self, situation: &Situation) -> Option<Required> {
        self.checks.iter().find_map(|check| check.run(situation))
    }

    /// Runs the checks and applies `prompt=none`.
    pub fn decide(&self, situation: &Situation) -> Decision {
        let Some(required) = self.required(situation) else {
            return Decision::Proceed;
        };
        if !situation.prompt.none {
            return Decision::Interact(required);
        }
        // OIDC Core §3.1.2.6: with prompt=none the server must not show a page; it answers
        // with the error naming the page it would have shown.
        let error = match required.interaction {
            Interaction::Login => {
                OAuthError::new(ErrorCode::LoginRequired, "the person must log in")
            }
            Interaction::Consent => OAuthError::new(
                ErrorCode::ConsentRequired,
                "the person must approve the requested scopes",
            ),
        };
        Decision::Refuse(required, error)
    }
}

#[cfg(test)]
mod tests;
