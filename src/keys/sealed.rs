//! Private keys at rest in a shared store are sealed with AES-256-GCM under a key derived by
//! HKDF-SHA256 from the system secret; the kid is the associated data, so a sealed key cannot be
//! swapped onto another key's entry. A wrong secret or tampered data fails to open with a clear
//! error instead of yielding garbage.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::KeyError;
use crate::secret::random_bytes;

const HKDF_SALT: &[u8] = b"ferrid/keys/v1";
const HKDF_INFO: &[u8] = b"aes-256-gcm private key sealing";

/// A sealed private key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealedBlob {
    /// 96-bit nonce, base64.
    pub nonce: String,
    /// Ciphertext followed by the GCM tag, base64.
    pub ciphertext: String,
}

/// Seals and opens private keys under the system secret.
pub struct Sealer {
    key: LessSafeKey,
}

impl Sealer {
    /// Derives the sealing key from the system secret.
    pub fn from_secret(secret: &str) -> Result<Self, KeyError> {
        let prk = Salt::new(HKDF_SHA256, HKDF_SALT).extract(secret.as_bytes());
        let okm = prk
            .expand(&[HKDF_INFO], &AES_256_GCM)
            .map_err(|_| KeyError::Sealed("key derivation failed".into()))?;
        let key = UnboundKey::from(okm);
        Ok(Self {
            key: LessSafeKey::new(key),
        })
    }

    /// Encrypts `plaintext`, binding it to `kid`.
    pub fn seal(&self, kid: &str, plaintext: &[u8]) -> Result<SealedBlob, KeyError> {
        let nonce_bytes =
            random_bytes::<NONCE_LEN>().map_err(|err| KeyError::Sealed(err.to_string()))?;
        let mut buffer = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(kid.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| KeyError::Sealed("encryption failed".into()))?;
        Ok(SealedBlob {
            nonce: STANDARD.encode(nonce_bytes),
            ciphertext: STANDARD.encode(buffer),
        })
    }

    /// Decrypts a blob sealed for `kid`.
    pub fn open(&self, kid: &str, blob: &SealedBlob) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let refused = || {
            KeyError::Sealed(format!(
                "key {kid} does not decrypt: the system secret differs from the one that \
                 sealed it, or the stored data was altered"
            ))
        };
        let nonce: [u8; NONCE_LEN] = STANDARD
            .decode(&blob.nonce)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(refused)?;
        let mut buffer = Zeroizing::new(STANDARD.decode(&blob.ciphertext).map_err(|_| refused())?);
        let plaintext_len = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| refused())?
            .len();
        buffer.truncate(plaintext_len);
        Ok(buffer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trip() {
        let sealer = Sealer::from_secret(SECRET).unwrap();
        let blob = sealer.seal("kid-1", b"private").unwrap();
        assert_eq!(sealer.open("kid-1", &blob).unwrap().as_slice(), b"private");
    }

    #[test]
    fn wrong_secret_tampering_and_swapped_kid_are_refused() {
        let sealer = Sealer::from_secret(SECRET).unwrap();
        let blob = sealer.seal("kid-1", b"private").unwrap();
        let other = Sealer::from_secret("another secret of at least 32 chars").unwrap();
        assert!(matches!(
            other.open("kid-1", &blob),
            Err(KeyError::Sealed(_))
        ));
        assert!(sealer.open("kid-2", &blob).is_err());
        let mut tampered = blob.clone();
        let mut bytes = STANDARD.decode(&tampered.ciphertext).unwrap();
        bytes[0] ^= 1;
        tampered.ciphertext = STANDARD.encode(bytes);
        assert!(sealer.open("kid-1", &tampered).is_err());
    }
}
