//! Administration: managing clients, users and signing keys while ferrid runs, for the admin API
//! (`http::admin`) and the CLI (`cli::client`, `cli::user`). Each operation is one function here
//! taking the acting party (`Actor`), so that both front ends apply the same rules — a record the
//! config provisioned is the config's (409), a secret is shown once and never logged, a deleted
//! client's or user's tokens and sessions end with it — and emit the same audit event.
//! `auth` decides who may call the admin API: a bearer access token issued by this ferrid with
//! the `admin` scope.

pub mod auth;
pub mod clients;
mod error;
pub mod keys;
pub mod registration_tokens;
pub mod users;

pub use error::AdminError;

use crate::telemetry::{self, AdminAction, AuditEvent};

/// Who performs an administrative change, as audit events name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `admin_api` or `cli`.
    pub via: &'static str,
    /// The client whose access token called the admin API.
    pub client_id: Option<String>,
    /// The token's subject (the client itself for client credentials, else the person).
    pub sub: Option<String>,
}

impl Actor {
    /// The operator running the `ferrid` command line on the store directly.
    pub fn cli() -> Self {
        Self {
            via: "cli",
            client_id: None,
            sub: None,
        }
    }

    /// The holder of an admin access token of `client_id` for `sub`.
    pub fn token(client_id: &str, sub: &str) -> Self {
        Self {
            via: "admin_api",
            client_id: Some(client_id.to_owned()),
            sub: Some(sub.to_owned()),
        }
    }

    /// The acting client's id, empty for the CLI.
    pub fn client_id(&self) -> &str {
        self.client_id.as_deref().unwrap_or_default()
    }

    /// The acting subject, empty for the CLI.
    pub fn sub(&self) -> &str {
        self.sub.as_deref().unwrap_or_default()
    }
    /// Records `action` on client `client_id` as this actor's (the audit event).
    pub fn audit_client(&self, action: AdminAction, client_id: &str) {
        self.record(action, Some(client_id), None, None);
    }

    /// Records `action` on user `sub` (named `username`, when known) as this actor's.
    pub fn audit_user(&self, action: AdminAction, sub: &str, username: Option<&str>) {
        self.record(action, None, Some(sub), username);
    }

    /// Records `action`, on neither a client nor a user, as this actor's.
    pub fn audit(&self, action: AdminAction) {
        self.record(action, None, None, None);
    }

    fn record(
        &self,
        action: AdminAction,
        client_id: Option<&str>,
        sub: Option<&str>,
        username: Option<&str>,
    ) {
        telemetry::record(AuditEvent::AdminChange {
            action,
            actor: self.via,
            actor_client_id: self.client_id.as_deref(),
            actor_sub: self.sub.as_deref(),
            client_id,
            sub,
            username,
        });
    }
}

/// How many records a listing returns when the caller does not say.
pub const DEFAULT_PAGE: usize = 50;

#[cfg(test)]
mod tests;
