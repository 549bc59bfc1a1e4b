//! Where the key ring lives between restarts. With the memory store: the `keys/` directory, one
//! PKCS#8 PEM per key (mode 0600, directory 0700) plus `ring.json` with each key's state,
//! written atomically by rename. With Redis: one store entry, every private key sealed under
//! the system secret (`sealed`). The first instance to create a ring wins (`put_new`); the
//! others load what it wrote.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::rsa_key::{self, DEFAULT_BITS};
use super::sealed::{SealedBlob, Sealer};
use super::{KeyError, KeyMaterial, KeyRing, KeyState};
use crate::clock::Clock;
use crate::store::{self, SharedStore};

/// Store key of the sealed ring.
pub const RING_KEY: &str = "keys:ring";
const RING_FILE: &str = "ring.json";

/// The persistent home of the key ring.
pub enum KeyPersistence {
    /// A directory on local disk.
    Dir(PathBuf),
    /// The shared store, private keys sealed.
    Store { store: SharedStore, sealer: Sealer },
}

#[derive(Serialize, Deserialize)]
struct DirRing {
    keys: Vec<DirEntry>,
}

#[derive(Serialize, Deserialize)]
struct DirEntry {
    kid: String,
    state: KeyState,
    created_at: u64,
}

#[derive(Serialize, Deserialize)]
struct StoredRing {
    version: u32,
    keys: Vec<StoredKey>,
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    state: KeyState,
    created_at: u64,
    #[serde(flatten)]
    sealed: SealedBlob,
}

impl KeyPersistence {
    /// Says where keys live, for the start-up log.
    pub fn describe(&self) -> String {
        match self {
            Self::Dir(dir) => format!("directory {}", dir.display()),
            Self::Store { .. } => format!("store entry `{RING_KEY}` (sealed)"),
        }
    }

    /// The persisted ring, if any.
    pub async fn load(&self) -> Result<Option<Vec<KeyMaterial>>, KeyError> {
        match self {
            Self::Dir(dir) => {
                let dir = dir.clone();
                blocking(move || load_dir(&dir)).await
            }
            Self::Store { store, sealer } => {
                let Some(ring) = store::get_json::<StoredRing>(store.as_ref(), RING_KEY).await?
                else {
                    return Ok(None);
                };
                let materials = ring
                    .keys
                    .iter()
                    .map(|key| {
                        let pkcs8 = sealer.open(&key.kid, &key.sealed)?;
                        KeyMaterial::from_pkcs8(pkcs8, key.state, key.created_at)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Some(materials))
            }
        }
    }

    /// Persists `materials` unless a ring already exists; `true` when this call wrote it.
    pub async fn create(&self, materials: &[KeyMaterial]) -> Result<bool, KeyError> {
        match self {
            Self::Dir(dir) => {
                let dir = dir.clone();
                let materials = materials.to_vec();
                blocking(move || {
                    if dir.join(RING_FILE).exists() {
                        return Ok(false);
                    }
                    save_dir(&dir, &materials).map(|_| true)
                })
                .await
            }
            Self::Store { store, sealer } => {
                let keys = materials
                    .iter()
                    .map(|m| {
                        Ok(StoredKey {
                            kid: m.kid.clone(),
                            state: m.state,
                            created_at: m.created_at,
                            sealed: sealer.seal(&m.kid, &m.pkcs8)?,
                        })
                    })
                    .collect::<Result<Vec<_>, KeyError>>()?;
                let bytes = store::encode(&StoredRing { version: 1, keys })?;
                Ok(store.put_new(RING_KEY, bytes, None).await?)
            }
        }
    }
}

/// Loads the persisted ring, or generates a first RSA-2048 key and persists it. Returns the ring
/// and whether a key was generated.
pub async fn load_or_create(
    persistence: &KeyPersistence,
    clock: &dyn Clock,
) -> Result<(KeyRing, bool), KeyError> {
    if let Some(materials) = persistence.load().await? {
        return Ok((KeyRing::from_materials(&materials)?, false));
    }
    let pkcs8 = blocking(|| rsa_key::generate_pkcs8(DEFAULT_BITS)).await?;
    let material = KeyMaterial::from_pkcs8(pkcs8, KeyState::Active, clock.now_secs())?;
    if persistence.create(std::slice::from_ref(&material)).await? {
        return Ok((KeyRing::from_materials(&[material])?, true));
    }
    // Another instance created the ring first: use its keys, not ours.
    let materials = persistence
        .load()
        .await?
        .ok_or_else(|| KeyError::Ring("key ring vanished while being created".into()))?;
    Ok((KeyRing::from_materials(&materials)?, false))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, KeyError> + Send + 'static,
) -> Result<T, KeyError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| KeyError::Io(format!("key task failed: {err}")))?
}

fn io_error(path: &Path, err: std::io::Error) -> KeyError {
    KeyError::Io(format!("{}: {err}", path.display()))
}

fn load_dir(dir: &Path) -> Result<Option<Vec<KeyMaterial>>, KeyError> {
    let ring_path = dir.join(RING_FILE);
    let bytes = match std::fs::read(&ring_path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_error(&ring_path, err)),
    };
    let ring: DirRing = serde_json::from_slice(&bytes)
        .map_err(|err| KeyError::Io(format!("{}: {err}", ring_path.display())))?;
    let mut materials = Vec::with_capacity(ring.keys.len());
    for entry in ring.keys {
        let path = dir.join(format!("{}.pem", entry.kid));
        let metadata = std::fs::metadata(&path).map_err(|err| io_error(&path, err))?;
        if metadata.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "private key file is readable by others; chmod 600 it");
        }
        let pem = zeroize::Zeroizing::new(
            std::fs::read_to_string(&path).map_err(|err| io_error(&path, err))?,
        );
        let pkcs8 = rsa_key::pkcs8_from_pem(&pem)?;
        let material = KeyMaterial::from_pkcs8(pkcs8, entry.state, entry.created_at)?;
        if material.kid != entry.kid {
            return Err(KeyError::Invalid(format!(
                "{} holds key {}, not {}",
                path.display(),
                material.kid,
                entry.kid
            )));
        }
        materials.push(material);
    }
    Ok(Some(materials))
}

fn save_dir(dir: &Path, materials: &[KeyMaterial]) -> Result<(), KeyError> {
    std::fs::create_dir_all(dir).map_err(|err| io_error(dir, err))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|err| io_error(dir, err))?;
    for material in materials {
        let pem = rsa_key::pkcs8_to_pem(&material.pkcs8)?;
        write_atomically(&dir.join(format!("{}.pem", material.kid)), pem.as_bytes())?;
    }
    let ring = DirRing {
        keys: materials
            .iter()
            .map(|m| DirEntry {
                kid: m.kid.clone(),
                state: m.state,
                created_at: m.created_at,
            })
            .collect(),
    };
    let json = serde_json::to_vec_pretty(&ring).map_err(|err| KeyError::Io(err.to_string()))?;
    write_atomically(&dir.join(RING_FILE), &json)
}

/// Writes to a temporary file (mode 0600) in the same directory, then renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let temp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .map_err(|err| io_error(&temp, err))?;
    file.write_all(bytes).map_err(|err| io_error(&temp, err))?;
    file.sync_all().map_err(|err| io_error(&temp, err))?;
    std::fs::rename(&temp, path).map_err(|err| io_error(path, err))
}
