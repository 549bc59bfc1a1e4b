//! The client side of DPoP (RFC 9449) for tests, as a client library does it: a P-256 key pair
//! made with aws-lc-rs, its public JWK and RFC 7638 thumbprint (computed here independently of
//! ferrid), and proofs — a fresh `jti` each, `htm`/`htu` of the request, `ath` when a token is
//! presented, the server's nonce when it asked for one. `jws` signs any header and claims, so
//! tests can also forge what an attacker would send.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ferrid::clock::{Clock, SystemClock};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `ath` of an access token: base64url SHA-256.
pub fn ath(access_token: &str) -> String {
    b64(&Sha256::digest(access_token.as_bytes()))
}

/// A client's DPoP key.
pub struct DpopKey {
    pair: EcdsaKeyPair,
}

impl DpopKey {
    pub fn new() -> Self {
        Self {
            pair: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
        }
    }

    /// The public JWK (RFC 7518 §6.2.1).
    pub fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])})
    }

    /// RFC 7638 §3: SHA-256 of the required members in lexicographic order, no whitespace.
    pub fn thumbprint(&self) -> String {
        let jwk = self.jwk();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        );
        b64(&Sha256::digest(canonical.as_bytes()))
    }

    /// The header of an honest proof.
    pub fn header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk()})
    }

    /// Signs `header` and `claims` as a compact JWS with this key.
    pub fn jws(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", b64(signature.as_ref()))
    }

    /// An honest proof for `method url`, presenting `access_token` if given.
    pub fn proof(&self, method: &str, url: &str, access_token: Option<&str>) -> String {
        self.jws(&self.header(), &claims(method, url, access_token, None))
    }

    /// An honest proof carrying the server's `nonce`.
    pub fn proof_with_nonce(&self, method: &str, url: &str, nonce: &str) -> String {
        self.jws(&self.header(), &claims(method, url, None, Some(nonce)))
    }
}

/// The claims of an honest proof, issued now with a fresh `jti`.
pub fn claims(method: &str, url: &str, access_token: Option<&str>, nonce: Option<&str>) -> Value {
    let mut claims = json!({
        "jti": ferrid::secret::random_token().unwrap(),
        "htm": method,
        "htu": url,
        "iat": SystemClock.now_secs(),
    });
    if let Some(token) = access_token {
        claims["ath"] = json!(ath(token));
    }
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    claims
}

/// The claims of a JWT, unverified (the test checks what ferrid put there).
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}
