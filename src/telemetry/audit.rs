//! Audit events: what an operator or a security team reviews — who logged in or failed to, what
//! was consented to, which tokens were issued, rotated, replayed or revoked, who logged out, how
//! the signing keys changed, which forms were forged. Each is one `AuditEvent`, and `record` is
//! the only place that writes one: a log line on the `ferrid::audit` target with a fixed set of
//! field names, and the matching metrics (`telemetry::metrics::audit_event`), so a line and its
//! count cannot drift apart.
//!
//! Every line carries `event` and `outcome`, and where they apply `reason`, `client_id`, `sub`
//! (the user id, or the client for a client-credentials token), `grant_type`, `jti`, `kid` and
//! `username` (and for administrators' changes `actor`, `actor_client_id`, `actor_sub`); a field
//! that does not apply is absent. Inside a request the line also carries the
//! request's span, and so its `request_id`. No field ever holds a secret, a password, a code or
//! a token (a `jti` is a token's id, not the token).

/// Something that happened that the audit log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent<'a> {
    /// A person logged in with the right password (`login`, `success`).
    LoginSucceeded { client_id: &'a str, sub: &'a str },
    /// Wrong username or password (`login`, `failure`); `sub` when the username exists.
    LoginFailed {
        client_id: &'a str,
        sub: Option<&'a str>,
    },
    /// Too many attempts: the password was not even checked (`login`, `throttled`).
    LoginThrottled { client_id: &'a str },
    /// The person allowed the client on the consent page (`consent`, `granted`).
    ConsentGranted {
        client_id: &'a str,
        sub: &'a str,
        scope: &'a str,
    },
    /// The person refused (`consent`, `denied`).
    ConsentDenied { client_id: &'a str, sub: &'a str },
    /// An access token was issued (`token_issued`); `sub` is the user, or the client itself.
    TokenIssued {
        grant_type: &'static str,
        client_id: &'a str,
        sub: &'a str,
        jti: &'a str,
    },
    /// A refresh token was rotated: the presented one is spent, its successor issued
    /// (`refresh_rotated`).
    RefreshRotated { client_id: &'a str, sub: &'a str },
    /// A rotated refresh token was presented again: its whole family is revoked
    /// (`refresh_reuse_detected`).
    RefreshReuseDetected { client_id: &'a str, sub: &'a str },
    /// An authorization code was redeemed twice: what it issued is revoked (`code_replayed`);
    /// `jti` is the revoked access token's.
    CodeReplayed { client_id: &'a str, jti: &'a str },
    /// A revocation request (RFC 7009) (`token_revoked`): `revoked`, or `no_match` when the
    /// token was unknown, expired or another client's.
    TokenRevoked { client_id: &'a str, revoked: bool },
    /// A browser session ended at the person's request (`logout`).
    Logout {
        sub: &'a str,
        client_id: Option<&'a str>,
    },
    /// A new key started signing (`key_rotated`): on schedule, or at once by the operator
    /// (`emergency`, which also retired the old key at once with `withdraw_old`).
    KeyRotated {
        kid: &'a str,
        emergency: bool,
        withdraw_old: bool,
    },
    /// A key was published ahead of its use (`key_published`).
    KeyPublished { kid: &'a str },
    /// A retired key left the JWKS (`key_removed`).
    KeyRemoved { kid: &'a str },
    /// An operator imported a key; it signs from now on (`key_imported`).
    KeyImported { kid: &'a str },
    /// A login or consent form failed its CSRF or browser-binding check (`csrf_rejected`).
    CsrfRejected { client_id: &'a str },
    /// A user the config no longer lists was deleted, its sessions ended and refresh tokens
    /// revoked (`user_removed`).
    UserRemoved { sub: &'a str, username: &'a str },
    /// A pushed request's `request_uri` was presented for another client; it is used up
    /// (`request_uri_misused`).
    RequestUriMisused { client_id: &'a str },
    /// A client the config no longer lists was deleted, its refresh tokens and codes revoked
    /// (`client_removed`).
    ClientRemoved { client_id: &'a str },
    /// An administrator changed a client, a user or the keys through the admin API or the CLI;
    /// `actor` says which (`admin_api` or `cli`), with the acting client and subject for the API.
    AdminChange {
        action: AdminAction,
        actor: &'static str,
        actor_client_id: Option<&'a str>,
        actor_sub: Option<&'a str>,
        client_id: Option<&'a str>,
        sub: Option<&'a str>,
        username: Option<&'a str>,
    },
    /// A client changed through dynamic registration (RFC 7591 / RFC 7592): registered at
    /// `/register`, or replaced or deleted by the holder of its registration access token
    /// (`actor` `registration`; `reason` says whether an initial access token was presented).
    RegistrationChange {
        action: RegistrationAction,
        client_id: &'a str,
        initial_access_token: bool,
    },
    /// A registration client URI was called with a token that does not manage that client
    /// (`registration_token_rejected`): a wrong, rotated or other client's token.
    RegistrationTokenRejected { client_id: &'a str },
}

/// What a dynamic registration changed; each is its own `event` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationAction {
    Registered,
    Replaced,
    Deleted,
}

/// What an administrator changed; each is its own `event` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    ClientCreated,
    ClientUpdated,
    ClientSecretRotated,
    ClientDeleted,
    UserCreated,
    UserUpdated,
    UserPasswordSet,
    UserSessionsEnded,
    UserDeleted,
    KeysRotated,
    RegistrationTokenCreated,
}

impl AdminAction {
    /// The `event` name and the line's message.
    fn describe(self) -> (&'static str, &'static str) {
        match self {
            Self::ClientCreated => ("client_created", "client created"),
            Self::ClientUpdated => ("client_updated", "client replaced"),
            Self::ClientSecretRotated => ("client_secret_rotated", "client secret rotated"),
            Self::ClientDeleted => (
                "client_deleted",
                "client deleted; its refresh tokens and codes are revoked",
            ),
            Self::UserCreated => ("user_created", "user created"),
            Self::UserUpdated => ("user_updated", "user replaced"),
            Self::UserPasswordSet => (
                "user_password_set",
                "password changed; the user's sessions are ended",
            ),
            Self::UserSessionsEnded => ("user_sessions_ended", "every session of the user ended"),
            Self::UserDeleted => (
                "user_deleted",
                "user deleted; sessions ended, refresh tokens revoked",
            ),
            Self::KeysRotated => ("keys_rotated", "signing keys rotated at once"),
            Self::RegistrationTokenCreated => (
                "registration_token_created",
                "initial access token for client registration minted",
            ),
        }
    }
}

/// The fields of one audit line; absent ones are left out of it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Fields<'a> {
    event: &'static str,
    outcome: &'static str,
    reason: Option<&'static str>,
    client_id: Option<&'a str>,
    sub: Option<&'a str>,
    grant_type: Option<&'static str>,
    jti: Option<&'a str>,
    kid: Option<&'a str>,
    scope: Option<&'a str>,
    username: Option<&'a str>,
    actor: Option<&'static str>,
    actor_client_id: Option<&'a str>,
    actor_sub: Option<&'a str>,
    /// Security-relevant trouble is logged at `warn`, everything else at `info`.
    warn: bool,
    message: &'static str,
}

impl<'a> AuditEvent<'a> {
    /// The event's name, as logged in `event`.
    pub fn name(&self) -> &'static str {
        self.fields().event
    }

    fn fields(&self) -> Fields<'a> {
        use AuditEvent::*;
        match *self {
            LoginSucceeded { client_id, sub } => Fields {
                event: "login",
                outcome: "success",
                client_id: Some(client_id),
                sub: Some(sub),
                message: "user logged in",
                ..Fields::default()
            },
            LoginFailed { client_id, sub } => Fields {
                event: "login",
                outcome: "failure",
                reason: Some("invalid_credentials"),
                client_id: Some(client_id),
                sub,
                message: "wrong username or password",
                ..Fields::default()
            },
            LoginThrottled { client_id } => Fields {
                event: "login",
                outcome: "throttled",
                reason: Some("too_many_attempts"),
                client_id: Some(client_id),
                warn: true,
                message: "too many login attempts",
                ..Fields::default()
            },
            ConsentGranted {
                client_id,
                sub,
                scope,
            } => Fields {
                event: "consent",
                outcome: "granted",
                client_id: Some(client_id),
                sub: Some(sub),
                scope: Some(scope),
                message: "consent granted",
                ..Fields::default()
            },
            ConsentDenied { client_id, sub } => Fields {
                event: "consent",
                outcome: "denied",
                reason: Some("access_denied"),
                client_id: Some(client_id),
                sub: Some(sub),
                message: "consent denied",
                ..Fields::default()
            },
            TokenIssued {
                grant_type,
                client_id,
                sub,
                jti,
            } => Fields {
                event: "token_issued",
                outcome: "success",
                client_id: Some(client_id),
                sub: Some(sub),
                grant_type: Some(grant_type),
                jti: Some(jti),
                message: "access token issued",
                ..Fields::default()
            },
            RefreshRotated { client_id, sub } => Fields {
                event: "refresh_rotated",
                outcome: "success",
                client_id: Some(client_id),
                sub: Some(sub),
                message: "refresh token rotated",
                ..Fields::default()
            },
            RefreshReuseDetected { client_id, sub } => Fields {
                event: "refresh_reuse_detected",
                outcome: "family_revoked",
                reason: Some("rotated_token_reused"),
                client_id: Some(client_id),
                sub: Some(sub),
                warn: true,
                message: "a rotated refresh token was used again; its family is revoked",
                ..Fields::default()
            },
            CodeReplayed { client_id, jti } => Fields {
                event: "code_replayed",
                outcome: "tokens_revoked",
                reason: Some("code_reused"),
                client_id: Some(client_id),
                jti: Some(jti),
                warn: true,
                message: "authorization code used twice; the tokens it issued are revoked",
                ..Fields::default()
            },
            TokenRevoked { client_id, revoked } => Fields {
                event: "token_revoked",
                outcome: if revoked { "revoked" } else { "no_match" },
                client_id: Some(client_id),
                message: "revocation request",
                ..Fields::default()
            },
            Logout { sub, client_id } => Fields {
                event: "logout",
                outcome: "success",
                client_id,
                sub: Some(sub),
                message: "user logged out",
                ..Fields::default()
            },
            KeyRotated {
                kid,
                emergency,
                withdraw_old,
            } => Fields {
                event: "key_rotated",
                outcome: "success",
                reason: Some(match (emergency, withdraw_old) {
                    (false, _) => "scheduled",
                    (true, false) => "emergency",
                    (true, true) => "emergency_withdraw_old",
                }),
                kid: Some(kid),
                warn: emergency,
                message: "a new signing key signs from now on",
                ..Fields::default()
            },
            KeyPublished { kid } => Fields {
                event: "key_published",
                outcome: "success",
                reason: Some("scheduled"),
                kid: Some(kid),
                message: "next signing key published",
                ..Fields::default()
            },
            KeyRemoved { kid } => Fields {
                event: "key_removed",
                outcome: "success",
                reason: Some("scheduled"),
                kid: Some(kid),
                message: "retired signing key removed from the JWKS",
                ..Fields::default()
            },
            KeyImported { kid } => Fields {
                event: "key_imported",
                outcome: "success",
                kid: Some(kid),
                message: "signing key imported",
                ..Fields::default()
            },
            CsrfRejected { client_id } => Fields {
                event: "csrf_rejected",
                outcome: "rejected",
                reason: Some("csrf_or_browser_mismatch"),
                client_id: Some(client_id),
                warn: true,
                message: "form rejected: CSRF token or browser binding mismatch",
                ..Fields::default()
            },
            UserRemoved { sub, username } => Fields {
                event: "user_removed",
                outcome: "success",
                reason: Some("removed_from_config"),
                sub: Some(sub),
                username: Some(username),
                message:
                    "user removed from the config: deleted, sessions ended, refresh tokens revoked",
                ..Fields::default()
            },
            RequestUriMisused { client_id } => Fields {
                event: "request_uri_misused",
                outcome: "refused",
                reason: Some("other_client"),
                client_id: Some(client_id),
                warn: true,
                message: "a request_uri pushed by another client was presented; it is used up",
                ..Fields::default()
            },
            ClientRemoved { client_id } => Fields {
                event: "client_removed",
                outcome: "success",
                reason: Some("removed_from_config"),
                client_id: Some(client_id),
                message:
                    "client removed from the config: deleted, refresh tokens and codes revoked",
                ..Fields::default()
            },
            RegistrationChange {
                action,
                client_id,
                initial_access_token,
            } => {
                let (event, message) = match action {
                    RegistrationAction::Registered => {
                        ("client_registered", "client registered through /register")
                    }
                    RegistrationAction::Replaced => (
                        "client_registration_replaced",
                        "client replaced with its registration access token",
                    ),
                    RegistrationAction::Deleted => (
                        "client_registration_deleted",
                        "client deleted with its registration access token; its refresh tokens \
                         and codes are revoked",
                    ),
                };
                Fields {
                    event,
                    outcome: "success",
                    reason: (action == RegistrationAction::Registered).then_some(
                        if initial_access_token {
                            "initial_access_token"
                        } else {
                            "open"
                        },
                    ),
                    client_id: Some(client_id),
                    actor: Some("registration"),
                    message,
                    ..Fields::default()
                }
            }
            RegistrationTokenRejected { client_id } => Fields {
                event: "registration_token_rejected",
                outcome: "refused",
                reason: Some("invalid_registration_access_token"),
                client_id: Some(client_id),
                actor: Some("registration"),
                warn: true,
                message: "a registration client URI was called without that client's \
                          registration access token",
                ..Fields::default()
            },
            AdminChange {
                action,
                actor,
                actor_client_id,
                actor_sub,
                client_id,
                sub,
                username,
            } => {
                let (event, message) = action.describe();
                Fields {
                    event,
                    outcome: "success",
                    client_id,
                    sub,
                    username,
                    actor: Some(actor),
                    actor_client_id,
                    actor_sub,
                    message,
                    ..Fields::default()
                }
            }
        }
    }
}

/// Writes `event` to the audit log and counts it. The only writer of `ferrid::audit` lines.
pub fn record(event: AuditEvent<'_>) {
    let f = event.fields();
    super::metrics::audit_event(f.event, f.outcome, f.grant_type);
    macro_rules! emit {
        ($level:ident) => {
            tracing::$level!(
                target: "ferrid::audit",
                event = f.event,
                outcome = f.outcome,
                reason = f.reason,
                client_id = f.client_id,
                sub = f.sub,
                grant_type = f.grant_type,
                jti = f.jti,
                kid = f.kid,
                scope = f.scope,
                username = f.username,
                actor = f.actor,
                actor_client_id = f.actor_client_id,
                actor_sub = f.actor_sub,
                "{}",
                f.message
            )
        };
    }
    if f.warn {
        emit!(warn);
    } else {
        emit!(info);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable() {
        let cases = [
            (
                AuditEvent::LoginThrottled { client_id: "app" },
                "login",
                "throttled",
            ),
            (
                AuditEvent::TokenRevoked {
                    client_id: "app",
                    revoked: false,
                },
                "token_revoked",
                "no_match",
            ),
            (
                AuditEvent::KeyRotated {
                    kid: "k",
                    emergency: true,
                    withdraw_old: false,
                },
                "key_rotated",
                "success",
            ),
        ];
        let cases = cases.into_iter().chain([(
            AuditEvent::AdminChange {
                action: AdminAction::ClientSecretRotated,
                actor: "admin_api",
                actor_client_id: Some("ops"),
                actor_sub: Some("ops"),
                client_id: Some("billing"),
                sub: None,
                username: None,
            },
            "client_secret_rotated",
            "success",
        )]);
        for (event, name, outcome) in cases {
            assert_eq!(event.name(), name);
            assert_eq!(event.fields().outcome, outcome);
        }
    }
}
