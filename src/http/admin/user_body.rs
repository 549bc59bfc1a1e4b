//! The wire types of `/admin/users`: a new user, a profile, a password (write-only, never
//! `Debug`), the user and the sessions as answered.

use poem_openapi::Object;

use crate::session::Session;
use crate::users::{Profile, User};

/// A new user. No `Debug`: it holds a password.
#[derive(Clone, Object)]
#[oai(rename = "NewUser", example, deny_unknown_fields)]
pub struct NewUser {
    /// The login name, unique.
    pub username: String,
    /// The password (stored as Argon2id, never returned).
    #[oai(write_only)]
    pub password: String,
    /// Full name (`profile` scope).
    pub name: Option<String>,
    /// Email address (`email` scope).
    pub email: Option<String>,
    /// Roles (`roles` scope).
    #[oai(default)]
    pub roles: Vec<String>,
}

impl poem_openapi::types::Example for NewUser {
    fn example() -> Self {
        Self {
            username: "carol".into(),
            password: "a long passphrase".into(),
            name: Some("Carol Ann".into()),
            email: Some("carol@example.com".into()),
            roles: vec!["editor".into()],
        }
    }
}

/// A user's profile: everything but the password, replaced as a whole.
#[derive(Debug, Clone, Object)]
#[oai(rename = "UserProfile", deny_unknown_fields)]
pub struct UserProfile {
    /// The login name, unique.
    pub username: String,
    /// Full name.
    pub name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Roles.
    #[oai(default)]
    pub roles: Vec<String>,
}

impl From<UserProfile> for Profile {
    fn from(body: UserProfile) -> Self {
        Self {
            username: body.username,
            name: body.name,
            email: body.email,
            roles: body.roles,
        }
    }
}

/// A new password. No `Debug`: it is one.
#[derive(Clone, Object)]
#[oai(rename = "NewPassword", deny_unknown_fields)]
pub struct NewPassword {
    /// The password (stored as Argon2id, never returned).
    #[oai(write_only)]
    pub password: String,
}

/// A user (never the password).
#[derive(Debug, Clone, Object)]
#[oai(rename = "User")]
pub struct UserView {
    /// Stable id: the `sub` of the user's tokens.
    pub id: String,
    pub username: String,
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub email: Option<String>,
    pub roles: Vec<String>,
    /// Provisioned by `[[users]]` in the config file: change it there, not here.
    pub from_config: bool,
    /// When the user was created (seconds since the epoch; 0 when unknown).
    pub created_at: u64,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.clone(),
            username: user.username.clone(),
            name: user.name.clone(),
            email: user.email.clone(),
            roles: user.roles.clone(),
            from_config: user.from_config,
            created_at: user.created_at,
        }
    }
}

/// A page of users, in id order.
#[derive(Debug, Clone, Object)]
pub struct UserList {
    pub items: Vec<UserView>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next: Option<String>,
}

/// A browser session (single sign-on).
#[derive(Debug, Clone, Object)]
#[oai(rename = "Session")]
pub struct SessionView {
    /// Public session id (the `sid` of ID tokens).
    pub sid: String,
    /// When the person logged in (seconds since the epoch).
    pub auth_time: u64,
    /// When the session ends at the latest (seconds since the epoch).
    pub expires_at: u64,
    /// How the person authenticated (`pwd`).
    pub amr: Vec<String>,
    /// The clients signed into through this session.
    pub clients: Vec<String>,
}

impl From<Session> for SessionView {
    fn from(session: Session) -> Self {
        Self {
            sid: session.sid,
            auth_time: session.auth_time,
            expires_at: session.expires_at,
            amr: session.amr,
            clients: session.clients,
        }
    }
}

/// How many of a user's records an operation ended.
#[derive(Debug, Clone, Object)]
pub struct Ended {
    /// Browser sessions ended.
    pub sessions_ended: u64,
    /// Refresh-token families revoked (deletion only).
    #[oai(skip_serializing_if_is_none)]
    pub refresh_families_revoked: Option<u64>,
}
