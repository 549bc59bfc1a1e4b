//! People who log in. Passwords are Argon2id PHC strings (hashed on a blocking thread: Argon2 is
//! deliberately slow), never stored or logged in plain text. Each user has a stable random `id`
//! — the `sub` of their tokens — that survives renames and re-provisioning of the same username.
//! Bootstrap users come from `[[users]]` in the config; start-up records which ids it provisioned,
//! so that it deletes those the config no longer lists and no user created otherwise.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, UserConfig};
use crate::secret::{random_bytes, SecretString};
use crate::store::{self, keyspace, provisioned, Store, StoreError};

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
}

fn verify_hash(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// Checks a password for a looked-up user (blocking: run on a blocking thread). An unknown user
/// costs the same Argon2 work as a wrong password, so timing does not reveal which usernames
/// exist.
pub fn check_credentials(user: Option<&User>, password: &str) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    match user {
        Some(user) => user.verify_password(password),
        None => {
            let dummy =
                DUMMY.get_or_init(|| hash_password("ferrid timing equaliser").unwrap_or_default());
            let _ = verify_hash(dummy, password);
            false
        }
    }
}

/// Checks every `[[users]]` entry, naming the first bad one.
pub fn validate_configs(configs: &[UserConfig]) -> Result<(), ConfigError> {
    for (index, config) in configs.iter().enumerate() {
        let key = |field: &str| format!("users[{index}].{field}");
        if config.username.trim().is_empty() || config.username.chars().any(char::is_control) {
            return Err(ConfigError::new(
                key("username"),
                "must be a non-empty string without control characters",
            ));
        }
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

/// Looks a user up by stable id (the `sub` of their tokens).
pub async fn find_by_id(store: &dyn Store, id: &str) -> Result<Option<User>, StoreError> {
    store::get_json(store, &keyspace::user(id)).await
}

/// Looks a user up by username.
pub async fn find(store: &dyn Store, username: &str) -> Result<Option<User>, StoreError> {
    match store.get(&keyspace::username(username)).await? {
        Some(id) => find_by_id(store, &String::from_utf8_lossy(&id)).await,
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
    let user = User {
        id,
        username: config.username.clone(),
        password_hash,
        name: config.name.clone(),
        email: config.email.clone(),
        roles: config.roles.clone(),
    };
    store::put_json(store, &keyspace::user(&user.id), &user, None).await?;
    Ok(user)
}

/// The id of `username`, claimed for a new random one if it has none. The claim is `put_new`:
/// instances provisioning the same store at once all end up with the one id that won.
async fn user_id_of(store: &dyn Store, username: &str) -> Result<String, UserError> {
    let key = keyspace::username(username);
    loop {
        if let Some(id) = store.get(&key).await? {
            return Ok(String::from_utf8_lossy(&id).into_owned());
        }
        let id = URL_SAFE_NO_PAD
            .encode(random_bytes::<16>().map_err(|err| UserError::Hash(err.to_string()))?);
        if store.put_new(&key, id.clone().into_bytes(), None).await? {
            return Ok(id);
        }
    }
}

/// Deletes user `id` and its username (unless the username was given to another user since).
pub async fn delete(store: &dyn Store, id: &str) -> Result<Option<User>, StoreError> {
    let key = keyspace::user(id);
    let Some(raw) = store.take(&key).await? else {
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

async fn hash_in_background(password: SecretString) -> Result<String, UserError> {
    tokio::task::spawn_blocking(move || hash_password(password.expose()))
        .await
        .map_err(|err| UserError::Hash(err.to_string()))?
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::SystemClock;
    use crate::store::memory::MemoryStore;

    fn alice() -> UserConfig {
        UserConfig {
            username: "alice".into(),
            password: Some("wonderland".to_owned().into()),
            ..UserConfig::default()
        }
    }

    #[tokio::test]
    async fn passwords_are_argon2id_and_ids_are_stable() {
        let store = MemoryStore::new(Arc::new(SystemClock));
        let first = upsert_from_config(&store, &alice()).await.unwrap();
        assert!(first.password_hash.starts_with("$argon2id$"));
        assert!(first.verify_password("wonderland"));
        assert!(!first.verify_password("Wonderland"));
        assert!(!format!("{first:?}").contains("argon2"));
        let again = upsert_from_config(
            &store,
            &UserConfig {
                name: Some("Alice".into()),
                ..alice()
            },
        )
        .await
        .unwrap();
        assert_eq!(again.id, first.id);
        assert_eq!(
            find(&store, "alice")
                .await
                .unwrap()
                .unwrap()
                .name
                .as_deref(),
            Some("Alice")
        );
    }

    #[test]
    fn config_validation_names_the_entry() {
        assert!(validate_configs(&[alice()]).is_ok());
        let bad = UserConfig {
            username: "bob".into(),
            password: None,
            password_hash: Some("$2b$10$bcrypt".into()),
            ..alice()
        };
        assert_eq!(
            validate_configs(&[alice(), bad]).unwrap_err().key,
            "users[1].password_hash"
        );
        let hash = hash_password("x").unwrap();
        let hashed = UserConfig {
            password: None,
            password_hash: Some(hash),
            ..alice()
        };
        assert!(validate_configs(&[hashed]).is_ok());
    }
}
