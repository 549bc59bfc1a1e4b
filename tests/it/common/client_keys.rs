//! The client side of `private_key_jwt` (RFC 7523, OIDC Core §9) for tests, as a client library
//! does it: key pairs made with aws-lc-rs (ES256, RS256, PS256, EdDSA), their public JWKs, and
//! assertions — `iss` = `sub` = the client id, `aud`, a short `exp`, a fresh `jti`. `jws` signs
//! any header and claims, so tests can also forge what an attacker would send. `JwksServer` is a
//! client's `jwks_uri` on loopback HTTP that counts its fetches and can be made slow, big or
//! changed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, RsaSubjectPublicKey,
};
use ferrid::clock::{Clock, SystemClock};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::dpop::b64;

/// `client_assertion_type` of a JWT assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

enum Pair {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A client's signing key, with the `alg` it signs with and its `kid`.
pub struct ClientKey {
    pair: Pair,
    alg: &'static str,
    pub kid: Option<String>,
}

fn rsa_pkcs8() -> &'static [u8] {
    static DER: OnceLock<Vec<u8>> = OnceLock::new();
    DER.get_or_init(|| {
        ferrid::keys::rsa_key::generate_pkcs8(2048)
            .unwrap()
            .to_vec()
    })
}

impl ClientKey {
    pub fn es256(kid: Option<&str>) -> Self {
        let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        Self::new(Pair::Ec(pair), "ES256", kid)
    }

    /// The test binary's one client RSA key, signing with `alg` (`RS256` or `PS256`).
    pub fn rsa(alg: &'static str, kid: Option<&str>) -> Self {
        let pair = RsaKeyPair::from_pkcs8(rsa_pkcs8()).unwrap();
        Self::new(Pair::Rsa(pair), alg, kid)
    }

    pub fn eddsa(kid: Option<&str>) -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        Self::new(Pair::Ed(pair), "EdDSA", kid)
    }

    fn new(pair: Pair, alg: &'static str, kid: Option<&str>) -> Self {
        Self {
            pair,
            alg,
            kid: kid.map(String::from),
        }
    }

    pub fn alg(&self) -> &'static str {
        self.alg
    }

    /// The public JWK, with `kid` when the key has one.
    pub fn jwk(&self) -> Value {
        let mut jwk = match &self.pair {
            Pair::Ec(pair) => {
                let point = pair.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..])})
            }
            Pair::Rsa(pair) => {
                let public: &RsaSubjectPublicKey = pair.public_key();
                json!({
                    "kty": "RSA",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                })
            }
            Pair::Ed(pair) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref())})
            }
        };
        if let Some(kid) = &self.kid {
            jwk["kid"] = json!(kid);
        }
        jwk
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Ec(pair) => pair.sign(&rng, message).unwrap().as_ref().to_vec(),
            Pair::Rsa(pair) => {
                let padding: &dyn signature::RsaEncoding = if self.alg == "PS256" {
                    &signature::RSA_PSS_SHA256
                } else {
                    &signature::RSA_PKCS1_SHA256
                };
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, message, &mut out).unwrap();
                out
            }
            Pair::Ed(pair) => pair.sign(message).as_ref().to_vec(),
        }
    }

    /// Signs `header` and `claims` as a compact JWS with this key.
    pub fn jws(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = self.sign(input.as_bytes());
        format!("{input}.{}", b64(&signature))
    }

    /// The header of an honest assertion.
    pub fn header(&self) -> Value {
        let mut header = json!({"alg": self.alg, "typ": "JWT"});
        if let Some(kid) = &self.kid {
            header["kid"] = json!(kid);
        }
        header
    }

    /// An honest assertion of `client_id` for audience `aud`.
    pub fn assertion(&self, client_id: &str, aud: &str) -> String {
        self.jws(&self.header(), &claims(client_id, aud))
    }

    /// An assertion with these claims, signed honestly.
    pub fn assertion_with(&self, claims: &Value) -> String {
        self.jws(&self.header(), claims)
    }
}

/// A JWK Set of these keys' public halves.
pub fn jwks(keys: &[&ClientKey]) -> Value {
    json!({"keys": keys.iter().map(|key| key.jwk()).collect::<Vec<_>>()})
}

/// The claims of an honest assertion, issued now, valid a minute, with a fresh `jti`.
pub fn claims(client_id: &str, aud: &str) -> Value {
    claims_at(client_id, aud, SystemClock.now_secs())
}

/// The claims of an honest assertion issued at `now` (a test server's manual clock).
pub fn claims_at(client_id: &str, aud: &str, now: u64) -> Value {
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "iat": now,
        "exp": now + 60,
        "jti": ferrid::secret::random_token().unwrap(),
    })
}

/// A client's `jwks_uri`, served on `http://127.0.0.1:<port>/jwks.json`.
pub struct JwksServer {
    pub url: String,
    state: Arc<State>,
}

struct State {
    body: Mutex<String>,
    delay: Mutex<Option<Duration>>,
    hits: AtomicUsize,
}

impl JwksServer {
    /// Serves `jwks` until dropped with the test's runtime.
    pub async fn start(jwks: &Value) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let state = Arc::new(State {
            body: Mutex::new(jwks.to_string()),
            delay: Mutex::new(None),
            hits: AtomicUsize::new(0),
        });
        let serving = state.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let state = serving.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buffer[..n]),
                        }
                    }
                    state.hits.fetch_add(1, Ordering::SeqCst);
                    let delay = *state.delay.lock().unwrap();
                    if let Some(delay) = delay {
                        tokio::time::sleep(delay).await;
                    }
                    let body = state.body.lock().unwrap().clone();
                    // No Content-Length: the body ends with the connection, so a size limit
                    // must be enforced while reading, not from a header.
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                                connection: close\r\n\r\n";
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(body.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { url, state }
    }

    /// How many times the key set was fetched.
    pub fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    /// Serves `body` from now on.
    pub fn serve(&self, body: String) {
        *self.state.body.lock().unwrap() = body;
    }

    /// Answers only after `delay`.
    pub fn delay(&self, delay: Duration) {
        *self.state.delay.lock().unwrap() = Some(delay);
    }
}
