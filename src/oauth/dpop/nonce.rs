//! DPoP server nonces (RFC 9449 §8, §9), stateless: a nonce is a time window's number and its
//! MAC under a key derived from the system secret, so every instance sharing the secret issues
//! and accepts the same nonces and nothing is stored. A nonce is accepted during its own window
//! and the next, so a client always has at least one window's time to use the one it was given.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::secret::DerivedKeys;

/// Length of a nonce window.
pub const WINDOW_SECS: u64 = 60;
/// How much of the MAC a nonce carries (128 bits).
const TAG_LEN: usize = 16;

/// The nonce of the current window.
pub fn issue(keys: &DerivedKeys, now: u64) -> String {
    encode(keys, now / WINDOW_SECS)
}

fn encode(keys: &DerivedKeys, window: u64) -> String {
    let tag = keys.dpop_nonce_tag(window);
    let mut bytes = Vec::with_capacity(8 + TAG_LEN);
    bytes.extend_from_slice(&window.to_be_bytes());
    bytes.extend_from_slice(&tag.as_ref()[..TAG_LEN]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `nonce` was issued by a ferrid sharing this secret, in this window or the previous.
pub fn accept(keys: &DerivedKeys, nonce: &str, now: u64) -> bool {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else {
        return false;
    };
    let Some((window, tag)) = bytes.split_first_chunk::<8>() else {
        return false;
    };
    let window = u64::from_be_bytes(*window);
    let current = now / WINDOW_SECS;
    if tag.len() != TAG_LEN || !(current.saturating_sub(1)..=current).contains(&window) {
        return false;
    }
    keys.dpop_nonce_tag(window).as_ref()[..TAG_LEN]
        .ct_eq(tag)
        .into()
}
