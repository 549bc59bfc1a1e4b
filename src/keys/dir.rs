//! The key ring on local disk (memory store): the `keys/` directory (mode 0700) holds one
//! PKCS#8 PEM per key (`<kid>.pem`, mode 0600) and `ring.json` with the ring's revision and each
//! key's algorithm, state and transition times. Every file is written to a temporary file in
//! the same directory and renamed over the old one, so a reader sees the old ring or the new
//! one, never half of either; new PEM files land before the `ring.json` that names them, and
//! removed keys' files go after it.
//!
//! A running ferrid and `ferrid keys …` may change the ring at the same time, so changes take
//! `ring.lock` (created exclusively, holding a token and an expiry so a crashed holder cannot
//! block forever) and re-check that `ring.json` is still the one they read before writing.
//! Everything here is blocking file I/O; `persist` calls it on a blocking thread.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::material::{Algorithm, KeyMaterial, Lifecycle};
use super::persist::Snapshot;
use super::rsa_key;
use super::KeyError;
use crate::secret::random_token;

const RING_FILE: &str = "ring.json";
const LOCK_FILE: &str = "ring.lock";

#[derive(Serialize, Deserialize)]
struct DirRing {
    #[serde(default)]
    revision: u64,
    keys: Vec<DirEntry>,
}

#[derive(Serialize, Deserialize)]
struct DirEntry {
    kid: String,
    #[serde(default)]
    alg: Algorithm,
    #[serde(flatten)]
    lifecycle: Lifecycle,
}

/// The persisted ring, if any.
pub fn load(dir: &Path) -> Result<Option<Snapshot>, KeyError> {
    let Some(raw) = read_ring(dir)? else {
        return Ok(None);
    };
    let ring = parse(dir, &raw)?;
    let mut keys = Vec::with_capacity(ring.keys.len());
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
        let material = KeyMaterial::with_lifecycle(pkcs8, entry.alg, entry.lifecycle)?;
        if material.kid != entry.kid {
            return Err(KeyError::Invalid(format!(
                "{} holds key {}, not {}",
                path.display(),
                material.kid,
                entry.kid
            )));
        }
        keys.push(material);
    }
    Ok(Some(Snapshot {
        revision: ring.revision,
        keys,
        raw,
    }))
}

/// The persisted ring's revision, without reading any key.
pub fn revision(dir: &Path) -> Result<Option<u64>, KeyError> {
    match read_ring(dir)? {
        Some(raw) => Ok(Some(parse(dir, &raw)?.revision)),
        None => Ok(None),
    }
}

/// Writes `keys` as `revision` unless a ring exists; `true` when this call wrote it. The
/// `ring.json` is linked into place, which fails if another process created one meanwhile;
/// the loser then deletes the key files it wrote that the winner's ring does not name.
pub fn create(dir: &Path, keys: &[KeyMaterial], revision: u64) -> Result<bool, KeyError> {
    let ring_path = dir.join(RING_FILE);
    if ring_path.exists() {
        return Ok(false);
    }
    ensure_dir(dir)?;
    let mut written = Vec::new();
    for key in keys {
        let path = dir.join(format!("{}.pem", key.kid));
        if !path.exists() {
            let pem = rsa_key::pkcs8_to_pem(&key.pkcs8)?;
            write_atomically(&path, pem.as_bytes())?;
            written.push(key.kid.clone());
        }
    }
    let unique = random_token().map_err(|err| KeyError::Io(err.to_string()))?;
    let temp = dir.join(format!("{RING_FILE}.{unique}"));
    write_new(&temp, &ring_json(keys, revision)?)?;
    let linked = std::fs::hard_link(&temp, &ring_path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            let winner = read_ring(dir)?.map(|raw| parse(dir, &raw)).transpose()?;
            for kid in written {
                let named = winner
                    .as_ref()
                    .is_some_and(|ring| ring.keys.iter().any(|entry| entry.kid == kid));
                if !named {
                    let _ = std::fs::remove_file(dir.join(format!("{kid}.pem")));
                }
            }
            Ok(false)
        }
        Err(err) => Err(io_error(&ring_path, err)),
    }
}

/// Writes `keys` as the next revision if `ring.json` is still `current`; the new snapshot, or
/// `None` when the ring changed meanwhile. The caller holds the lock.
pub fn replace(
    dir: &Path,
    current: &Snapshot,
    keys: &[KeyMaterial],
) -> Result<Option<Snapshot>, KeyError> {
    if read_ring(dir)?.as_deref() != Some(current.raw.as_slice()) {
        return Ok(None);
    }
    let revision = current.revision + 1;
    let raw = write(dir, keys, revision, &current.keys)?;
    Ok(Some(Snapshot {
        revision,
        keys: keys.to_vec(),
        raw,
    }))
}

/// Takes `ring.lock` until `expires_at_ms` unless someone else holds it; the token to unlock
/// with, or `None` when it is held.
pub fn try_lock(
    dir: &Path,
    token: &str,
    now_ms: u64,
    expires_at_ms: u64,
) -> Result<Option<String>, KeyError> {
    ensure_dir(dir)?;
    let path = dir.join(LOCK_FILE);
    for _ in 0..2 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut file) => {
                file.write_all(format!("{token} {expires_at_ms}").as_bytes())
                    .map_err(|err| io_error(&path, err))?;
                return Ok(Some(token.to_owned()));
            }
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                let held_until = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|text| text.split_whitespace().nth(1)?.parse::<u64>().ok());
                // A lock past its expiry (or unreadable) was left by a holder that died.
                if held_until.is_some_and(|until| now_ms < until) {
                    return Ok(None);
                }
                let _ = std::fs::remove_file(&path);
            }
            Err(err) => return Err(io_error(&path, err)),
        }
    }
    Ok(None)
}

/// Releases `ring.lock` if `token` still holds it.
pub fn unlock(dir: &Path, token: &str) -> Result<(), KeyError> {
    let path = dir.join(LOCK_FILE);
    let held_by_us = std::fs::read_to_string(&path)
        .ok()
        .is_some_and(|text| text.split_whitespace().next() == Some(token));
    if held_by_us {
        std::fs::remove_file(&path).map_err(|err| io_error(&path, err))?;
    }
    Ok(())
}

fn read_ring(dir: &Path) -> Result<Option<Vec<u8>>, KeyError> {
    let path = dir.join(RING_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io_error(&path, err)),
    }
}

fn parse(dir: &Path, raw: &[u8]) -> Result<DirRing, KeyError> {
    serde_json::from_slice(raw)
        .map_err(|err| KeyError::Io(format!("{}: {err}", dir.join(RING_FILE).display())))
}

fn ensure_dir(dir: &Path) -> Result<(), KeyError> {
    std::fs::create_dir_all(dir).map_err(|err| io_error(dir, err))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|err| io_error(dir, err))
}

/// Writes the PEMs of keys not on disk yet, then `ring.json`, then deletes the PEMs of
/// `previous` keys no longer in the ring. Returns the `ring.json` bytes.
fn write(
    dir: &Path,
    keys: &[KeyMaterial],
    revision: u64,
    previous: &[KeyMaterial],
) -> Result<Vec<u8>, KeyError> {
    ensure_dir(dir)?;
    for key in keys {
        let path = dir.join(format!("{}.pem", key.kid));
        if !previous.iter().any(|old| old.kid == key.kid) || !path.exists() {
            let pem = rsa_key::pkcs8_to_pem(&key.pkcs8)?;
            write_atomically(&path, pem.as_bytes())?;
        }
    }
    let json = ring_json(keys, revision)?;
    write_atomically(&dir.join(RING_FILE), &json)?;
    for old in previous {
        if !keys.iter().any(|key| key.kid == old.kid) {
            let path = dir.join(format!("{}.pem", old.kid));
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(io_error(&path, err)),
            }
        }
    }
    Ok(json)
}

fn ring_json(keys: &[KeyMaterial], revision: u64) -> Result<Vec<u8>, KeyError> {
    let ring = DirRing {
        revision,
        keys: keys
            .iter()
            .map(|key| DirEntry {
                kid: key.kid.clone(),
                alg: key.alg,
                lifecycle: key.lifecycle,
            })
            .collect(),
    };
    serde_json::to_vec_pretty(&ring).map_err(|err| KeyError::Io(err.to_string()))
}

/// Writes to a temporary file (mode 0600) in the same directory, then renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let temp = path.with_extension("tmp");
    write_file(&temp, bytes, false)?;
    std::fs::rename(&temp, path).map_err(|err| io_error(path, err))
}

/// Writes a file that must not exist yet (mode 0600).
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    write_file(path, bytes, true)
}

fn write_file(path: &Path, bytes: &[u8], create_new: bool) -> Result<(), KeyError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(!create_new)
        .create_new(create_new)
        .truncate(!create_new)
        .mode(0o600)
        .open(path)
        .map_err(|err| io_error(path, err))?;
    file.write_all(bytes).map_err(|err| io_error(path, err))?;
    file.sync_all().map_err(|err| io_error(path, err))
}

fn io_error(path: &Path, err: std::io::Error) -> KeyError {
    KeyError::Io(format!("{}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyState;

    fn key() -> KeyMaterial {
        let pkcs8 = rsa_key::generate_pkcs8(2048).unwrap();
        KeyMaterial::from_pkcs8(pkcs8, KeyState::Active, 1_700_000_000).unwrap()
    }

    #[test]
    fn create_writes_once_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        let (first, second) = (key(), key());
        assert!(create(&path, std::slice::from_ref(&first), 1).unwrap());
        assert!(!create(&path, std::slice::from_ref(&second), 1).unwrap());
        let mut files: Vec<String> = std::fs::read_dir(&path)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        let mut expected = vec![format!("{}.pem", first.kid), "ring.json".to_owned()];
        expected.sort();
        assert_eq!(files, expected);
        let snapshot = load(&path).unwrap().unwrap();
        assert_eq!(snapshot.revision, 1);
        assert_eq!(snapshot.keys.len(), 1);
        assert_eq!(snapshot.keys[0].kid, first.kid);
    }

    #[test]
    fn the_lock_is_exclusive_until_released_or_expired() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        assert!(try_lock(&path, "a", 1_000, 2_000).unwrap().is_some());
        assert!(try_lock(&path, "b", 1_500, 2_500).unwrap().is_none());
        unlock(&path, "b").unwrap();
        assert!(
            try_lock(&path, "b", 1_500, 2_500).unwrap().is_none(),
            "only the holder releases"
        );
        assert!(
            try_lock(&path, "b", 2_000, 3_000).unwrap().is_some(),
            "an expired lock is taken over"
        );
        unlock(&path, "b").unwrap();
        assert!(try_lock(&path, "c", 2_100, 3_100).unwrap().is_some());
    }
}
