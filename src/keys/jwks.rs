//! The JWKS document, built once per key-ring change: the public members of every published key
//! (`next`, `active`, `retired`), never a private one, plus a strong `ETag` over the bytes.

use serde::Serialize;

use super::signing_key::{PublicMembers, SigningKey};
use crate::secret::etag;

#[derive(Serialize)]
struct Jwks<'a> {
    keys: Vec<Jwk<'a>>,
}

#[derive(Serialize)]
struct Jwk<'a> {
    #[serde(flatten)]
    members: PublicMembers<'a>,
    #[serde(rename = "use")]
    use_: &'static str,
    alg: &'static str,
    kid: &'a str,
}

/// Serialises the public JWKS of `keys` and its ETag.
pub fn build(keys: &[SigningKey]) -> Result<(Vec<u8>, String), serde_json::Error> {
    let jwks = Jwks {
        keys: keys
            .iter()
            .filter(|key| key.state().is_published())
            .map(|key| Jwk {
                members: key.public_members(),
                use_: "sig",
                alg: key.alg(),
                kid: key.kid(),
            })
            .collect(),
    };
    let bytes = serde_json::to_vec(&jwks)?;
    let etag = etag(&bytes);
    Ok((bytes, etag))
}
