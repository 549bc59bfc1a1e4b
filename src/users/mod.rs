//! People who log in. Passwords are Argon2id PHC strings (hashed on a blocking thread: Argon2 is
//! deliberately slow), never stored or logged in plain text. Each user has a stable random `id`
//! — the `sub` of their tokens — that survives renames and re-provisioning of the same username.
//! Bootstrap users come from `[[users]]` in the config; start-up records which ids it provisioned,
//! so that it deletes those the config no longer lists and no user created otherwise. Users
//! created at runtime (admin API, CLI) go through `records`; a username is unique, a user's
//! profile is checked by `validate_profile` whichever way it comes; `records` keeps them.

pub mod records;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, UserConfig};
use crate::secret::{random_bytes, SecretString};
use crate::store::{self, keyspace, provisioned, registry, Store, StoreError};

/// A user record.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Stable subject identifier.
    pub id: String,
    pub username: String,
    password_hash: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub roles: Vec<String>,
    /// Provisioned from `[[users]]`: the config owns it, the admin API may not change it.
    #[serde(default)]
    pub from_config: bool,
    /// When the user was created (seconds since the epoch; 0 when unknown).
    #[serde(default)]
    pub created_at: u64,
}

/// What an administrator sets about a person (everything but the password).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub username: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub roles: Vec<String>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Why a user could not be provisioned.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Longest username, name, email address, role or password accepted.
const MAX_TEXT: usize = 255;
/// Longest password accepted: Argon2 hashes any length, so bound the work a request can ask.
const MAX_PASSWORD: usize = 1024;

/// Checks a user's profile (config, admin API, CLI); the error is `(field, message)`.
pub fn validate_profile(profile: &Profile) -> Result<(), (&'static str, String)> {
    let username = &profile.username;
    if username.trim().is_empty()
        || username.trim() != username
        || username.chars().count() > MAX_TEXT
        || username.chars().any(char::is_control)
    {
        return Err((
            "username",
            "must be 1 to 255 characters without control characters or surrounding spaces".into(),
        ));
    }
    for (field, value) in [("name", &profile.name), ("email", &profile.email)] {
        if let Some(value) = value {
            if value.trim().is_empty()
                || value.chars().count() > MAX_TEXT
                || value.chars().any(char::is_control)
            {
                return Err((
                    field,
                    "must be 1 to 255 characters without control characters".into(),
                ));
            }
        }
    }
    if let Some(email) = &profile.email {
        if !email.contains('@') || email.contains(char::is_whitespace) {
            return Err(("email", format!("`{email}` is not an email address")));
        }
    }
    for role in &profile.roles {
        if role.is_empty()
            || role.chars().count() > MAX_TEXT
            || role.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err((
                "roles",
                format!("`{role}` must be 1 to 255 characters without spaces"),
            ));
        }
    }
    Ok(())
}

/// Checks a new password: not empty, at most 1024 characters.
pub fn validate_password(password: &str) -> Result<(), String> {
    if password.is_empty() {
        return Err("must not be empty".into());
    }
    if password.chars().count() > MAX_PASSWORD {
        return Err(format!("must be at most {MAX_PASSWORD} characters"));
    }
    Ok(())
}

/// Argon2id PHC string for `password` (blocking; ~tens of ms by design).
pub fn hash_password(password: &str) -> Result<String, UserError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| UserError::Hash(err.to_string()))
}

impl User {
    /// Whether `password` is this user's password (blocking, constant-time inside Argon2).
    pub fn verify_password(&self, password: &str) -> bool {
        verify_hash(&self.password_hash, password)
    }

    /// A new user `id` with `profile` and the Argon2id PHC string `password_hash`.
    pub fn new(id: String, profile: Profile, password_hash: String, created_at: u64) -> Self {
        Self {
            id,
            username: profile.username,
            password_hash,
            name: profile.name,
            email: profile.email,
            roles: profile.roles,
            from_config: false,
            created_at,
        }
    }

    /// The user's profile.
    pub fn profile(&self) -> Profile {
        Profile {
            username: self.username.clone(),
            name: self.name.clone(),
            email: self.email.clone(),
            roles: self.roles.clone(),
        }
    }

    /// The user with `profile` instead of theirs.
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.username = profile.username;
        self.name = profile.name;
        self.email = profile.email;
        self.roles = profile.roles;
        self
    }

    /// The user with the Argon2id PHC string `password_hash` instead of theirs.
    pub fn with_password_hash(mut self, password_hash: String) -> Self {
        self.password_hash = password_hash;
        self
    }
}

fn verify_hash(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// The hash of "ferrid timing equaliser" with the parameters `hash_password` uses (Argon2id,
/// 19 MiB, two passes): a constant, so the work for an unknown username can never silently
/// shrink to nothing.
const TIMING_EQUALISER: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$8W4dRlBtOj6lW43QlaSg5Q$kzEEvL3iCtO70SCwlrCh3wHIpQHoDHCdRbb5b/8IYo0";

/// Checks a password for a looked-up user (blocking: run on a blocking thread). An unknown user
/// costs the same Argon2 work as a wrong password, so timing does not reveal which usernames
/// exist.
pub fn check_credentials(user: Option<&User>, password: &str) -> bool {
    match user {
        Some(user) => user.verify_password(password),
        None => {
            let _ = verify_hash(TIMING_EQUALISER, password);
            false
        }
    }
}

/// Checks every `[[users]]` entry, naming the first bad one.
pub fn validate_configs(configs: &[UserConfig]) -> Result<(), ConfigError> {
    for (index, config) in configs.iter().enumerate() {
        let key = |field: &str| format!("users[{index}].{field}");
        validate_profile(&profile_of(config))
            .map_err(|(field, message)| ConfigError::new(key(field), message))?;
        if configs[..index]
            .iter()
            .any(|other| other.username == config.username)
        {
            return Err(ConfigError::new(
                key("username"),
                format!("`{}` is listed twice", config.username),
            ));
        }
        match (&config.password, &config.password_hash) {
            (Some(_), Some(_)) => return Err(ConfigError::new(key("password"), "give `password` or `password_hash`, not both")),
            (None, None) => return Err(ConfigError::new(key("password"), "`password` or `password_hash` is required")),
            (Some(password), None) if password.is_empty() => return Err(ConfigError::new(key("password"), "must not be empty")),
            (None, Some(hash)) if !hash.starts_with("$argon2id$") || PasswordHash::new(hash).is_err() => {
                return Err(ConfigError::new(key("password_hash"), "must be an Argon2id PHC string ($argon2id$...); `ferrid hash-password` makes one"))
            }
            _ => {}
        }
    }
    Ok(())
}

fn profile_of(config: &UserConfig) -> Profile {
    Profile {
        username: config.username.clone(),
        name: config.name.clone(),
        email: config.email.clone(),
        roles: config.roles.clone(),
    }
}

/// Looks a user up by stable id (the `sub` of their tokens).
pub async fn find_by_id(store: &dyn Store, id: &str) -> Result<Option<User>, StoreError> {
    store::get_json(store, &keyspace::user(id)).await
}

/// Looks a user up by username (a stale claim, left by a rename that stopped half-way, finds
/// nobody).
pub async fn find(store: &dyn Store, username: &str) -> Result<Option<User>, StoreError> {
    match store.get(&keyspace::username(username)).await? {
        Some(id) => Ok(find_by_id(store, &String::from_utf8_lossy(&id))
            .await?
            .filter(|user| user.username == username)),
        None => Ok(None),
    }
}

/// Looks up the user logging in as `username`. Finding nobody is an answer only while the store
/// holds what start-up provisioned; after the store lost it, `Unavailable` (503) until the
/// configured users are back.
pub async fn find_for_login(store: &dyn Store, username: &str) -> Result<Option<User>, StoreError> {
    let user = find(store, username).await?;
    if user.is_none() {
        provisioned::confirm_absent(store).await?;
    }
    Ok(user)
}

/// Creates or updates a user from its config entry, keeping an existing user's id.
pub async fn upsert_from_config(store: &dyn Store, config: &UserConfig) -> Result<User, UserError> {
    let password_hash = match (&config.password, &config.password_hash) {
        (_, Some(hash)) => hash.clone(),
        (Some(password), None) => hash_in_background(password.clone()).await?,
        (None, None) => return Err(UserError::Hash("no password given".into())),
    };
    let id = user_id_of(store, &config.username).await?;
    let created_at = find_by_id(store, &id)
        .await?
        .map_or(0, |existing| existing.created_at);
    let mut user = User::new(id, profile_of(config), password_hash, created_at);
    user.from_config = true;
    records::put(store, &user).await?;
    Ok(user)
}

/// A new random user id (128 bits, base64url).
pub fn new_user_id() -> Result<String, UserError> {
    Ok(URL_SAFE_NO_PAD
        .encode(random_bytes::<16>().map_err(|err| UserError::Hash(err.to_string()))?))
}

/// The id of `username`, claimed for a new random one if it has none. The claim is `put_new`:
/// instances provisioning the same store at once all end up with the one id that won. A claim
/// whose user now has another name (a rename stopped half-way) is replaced.
async fn user_id_of(store: &dyn Store, username: &str) -> Result<String, UserError> {
    let key = keyspace::username(username);
    loop {
        if let Some(holder) = store.get(&key).await? {
            let id = String::from_utf8_lossy(&holder).into_owned();
            match find_by_id(store, &id).await? {
                Some(user) if user.username != username => {
                    let fresh = new_user_id()?;
                    if store
                        .compare_and_swap(&key, &holder, fresh.clone().into_bytes(), None)
                        .await?
                    {
                        return Ok(fresh);
                    }
                    continue;
                }
                _ => return Ok(id),
            }
        }
        let id = new_user_id()?;
        if store.put_new(&key, id.clone().into_bytes(), None).await? {
            return Ok(id);
        }
    }
}

/// Deletes user `id`, unlists it, and frees its username (unless the username was given to
/// another user since).
pub async fn delete(store: &dyn Store, id: &str) -> Result<Option<User>, StoreError> {
    let key = keyspace::user(id);
    let Some(raw) = registry::take(store, keyspace::USER_INDEX, id, &key).await? else {
        return Ok(None);
    };
    let user: User = store::decode(&key, &raw)?;
    store
        .delete_if(&keyspace::username(&user.username), id.as_bytes())
        .await?;
    Ok(Some(user))
}

/// The ids of the users the config provisioned at the last start.
pub async fn provisioned_ids(store: &dyn Store) -> Result<Vec<String>, StoreError> {
    Ok(store::get_json(store, keyspace::BOOTSTRAP_USERS)
        .await?
        .unwrap_or_default())
}

/// Records the ids of the users the config provisions now, so that a later start can tell the
/// users the config removed from users created any other way.
pub async fn record_provisioned_ids(store: &dyn Store, ids: &[String]) -> Result<(), StoreError> {
    store::put_json(store, keyspace::BOOTSTRAP_USERS, &ids, None).await
}

/// Hashes `password` with Argon2id on a blocking thread.
pub async fn hash_in_background(password: SecretString) -> Result<String, UserError> {
    tokio::task::spawn_blocking(move || hash_password(password.expose()))
        .await
        .map_err(|err| UserError::Hash(err.to_string()))?
}

#[cfg(test)]
mod tests;
