//! A small API that trusts ferrid's access tokens the way a resource server should: offline,
//! with the JWKS fetched from discovery (cached, refetched when a token names an unknown `kid`),
//! RS256 only, checking `iss`, `aud`, `exp`, the RFC 9068 `typ`, and the scope the route needs.
//! A DPoP-bound token (`cnf.jkt`, RFC 9449) is accepted only as `Authorization: DPoP <token>`
//! with a `DPoP` proof for this request, signed by the bound key, carrying the token's hash
//! (`ath`) and never seen before (a `jti` cache); it is refused as Bearer. The proof is checked
//! with ferrid's own pure verifier (`ferrid::oauth::dpop::proof`). Failures are RFC 6750 / RFC
//! 9449: 401 `invalid_token` / `invalid_dpop_proof` or 403 `insufficient_scope` with
//! `WWW-Authenticate`.
//!
//! ```sh
//! cargo run --release -- --config examples/ferrid.toml    # ferrid on :8080
//! cargo run --release --example resource_server            # this API on :4000
//! TOKEN=$(curl -s -u example-service:example-service-secret -d grant_type=client_credentials \
//!   http://127.0.0.1:8080/token | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:4000/reports
//! ```
//! Environment (its own names, not `FERRID_*`, which ferrid refuses as unknown settings):
//! `RESOURCE_SERVER_ISSUER` (http://127.0.0.1:8080), `RESOURCE_SERVER_URL`
//! (http://127.0.0.1:4000, also the expected audience), `RESOURCE_SERVER_SCOPE` (reports:read).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use ferrid::clock::{Clock, SystemClock};
use ferrid::oauth::dpop::proof::{self, Expected};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use poem::http::StatusCode;
use poem::listener::TcpListener;
use poem::web::{Data, Json};
use poem::{get, handler, EndpointExt, IntoResponse, Request, Response, Route, Server};
use serde_json::{json, Value};

struct Verifier {
    issuer: String,
    audience: String,
    jwks_uri: String,
    required_scope: String,
    /// kid → key, from the last JWKS fetch.
    keys: RwLock<Vec<(String, DecodingKey)>>,
    /// The DPoP proofs seen (thumbprint and `jti`) → when they stop being acceptable anyway.
    seen_proofs: Mutex<HashMap<String, u64>>,
}

/// How long a DPoP proof is accepted after its `iat`, and how far ahead a client's clock may be.
const PROOF_MAX_AGE_SECS: u64 = 60;
const PROOF_SKEW_SECS: u64 = 5;

enum Rejection {
    InvalidToken(String, Scheme),
    InvalidProof(String),
    InsufficientScope(Scheme),
}

#[derive(Clone, Copy, PartialEq)]
enum Scheme {
    Bearer,
    DPoP,
}

impl Verifier {
    async fn key(&self, kid: &str) -> Option<DecodingKey> {
        let cached = self
            .keys
            .read()
            .ok()?
            .iter()
            .find(|(k, _)| k == kid)
            .map(|(_, key)| key.clone());
        if cached.is_some() {
            return cached;
        }
        // Unknown kid: the ring may have rotated; fetch the JWKS again.
        let jwks: Value = serde_json::from_slice(
            &http()
                .get(&self.jwks_uri)
                .send()
                .await
                .ok()?
                .bytes()
                .await
                .ok()?,
        )
        .ok()?;
        let keys: Vec<(String, DecodingKey)> = jwks["keys"]
            .as_array()?
            .iter()
            .filter_map(|jwk| {
                let key = DecodingKey::from_rsa_components(jwk["n"].as_str()?, jwk["e"].as_str()?)
                    .ok()?;
                Some((jwk["kid"].as_str()?.to_owned(), key))
            })
            .collect();
        let found = keys
            .iter()
            .find(|(k, _)| k == kid)
            .map(|(_, key)| key.clone());
        if let Ok(mut cache) = self.keys.write() {
            *cache = keys;
        }
        found
    }

    async fn check(&self, request: &Request) -> Result<Value, Rejection> {
        let authorization = request
            .headers()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let (scheme, token) = match authorization.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                (Scheme::Bearer, token.trim())
            }
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("dpop") => {
                (Scheme::DPoP, token.trim())
            }
            _ => {
                return Err(Rejection::InvalidToken(
                    "a Bearer or DPoP access token is required".into(),
                    Scheme::Bearer,
                ))
            }
        };
        let invalid = |why: &str| Rejection::InvalidToken(why.into(), scheme);
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("not a JWT"))?;
        if header.typ.as_deref() != Some("at+jwt") {
            return Err(invalid("not an access token"));
        }
        let kid = header.kid.ok_or_else(|| invalid("no kid"))?;
        let key = self
            .key(&kid)
            .await
            .ok_or_else(|| invalid("unknown signing key"))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|_| invalid("invalid, expired or not for this API"))?
            .claims;
        match (scheme, claims["cnf"]["jkt"].as_str()) {
            (Scheme::Bearer, None) => {}
            // RFC 9449 §7.2: a DPoP-bound token is never accepted as a bearer token.
            (Scheme::Bearer, Some(_)) => {
                return Err(Rejection::InvalidToken(
                    "the token is DPoP-bound: use the DPoP scheme with a proof".into(),
                    Scheme::DPoP,
                ))
            }
            (Scheme::DPoP, None) => return Err(invalid("the token is not DPoP-bound")),
            (Scheme::DPoP, Some(jkt)) => self.check_proof(request, token, jkt)?,
        }
        let scopes = claims["scope"].as_str().unwrap_or_default();
        if !scopes.split(' ').any(|s| s == self.required_scope) {
            return Err(Rejection::InsufficientScope(scheme));
        }
        Ok(claims)
    }

    /// RFC 9449 §7.1: one proof for this method and URL, over this token, by the bound key,
    /// used once.
    fn check_proof(&self, request: &Request, token: &str, jkt: &str) -> Result<(), Rejection> {
        let mut proofs = request.headers().get_all("dpop").iter();
        let (Some(proof), None) = (proofs.next(), proofs.next()) else {
            return Err(Rejection::InvalidProof(
                "send exactly one DPoP proof".into(),
            ));
        };
        let proof = proof
            .to_str()
            .map_err(|_| Rejection::InvalidProof("the DPoP header is not ASCII".into()))?;
        let url = format!("{}{}", self.audience, request.uri().path());
        let now = SystemClock.now_secs();
        let expected = Expected {
            method: request.method().as_str(),
            url: &url,
            access_token: Some(token),
            now,
            max_age_secs: PROOF_MAX_AGE_SECS,
            clock_skew_secs: PROOF_SKEW_SECS,
        };
        let proof = proof::verify(proof, &expected).map_err(|err| {
            Rejection::InvalidProof(err.description().unwrap_or("invalid").to_owned())
        })?;
        if proof.jkt != jkt {
            return Err(Rejection::InvalidProof(
                "the proof is signed by another key than the token is bound to".into(),
            ));
        }
        let mut seen = self
            .seen_proofs
            .lock()
            .map_err(|_| Rejection::InvalidProof("replay cache unavailable".into()))?;
        seen.retain(|_, until| *until >= now);
        let until = proof.iat + PROOF_MAX_AGE_SECS + PROOF_SKEW_SECS;
        if seen
            .insert(format!("{}:{}", proof.jkt, proof.jti), until)
            .is_some()
        {
            return Err(Rejection::InvalidProof("the proof was already used".into()));
        }
        Ok(())
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let (status, error, description, scheme) = match self {
            Self::InvalidToken(why, scheme) => {
                (StatusCode::UNAUTHORIZED, "invalid_token", why, scheme)
            }
            Self::InvalidProof(why) => (
                StatusCode::UNAUTHORIZED,
                "invalid_dpop_proof",
                why,
                Scheme::DPoP,
            ),
            Self::InsufficientScope(scheme) => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "the token lacks the required scope".to_owned(),
                scheme,
            ),
        };
        let challenge = match scheme {
            Scheme::Bearer => format!(
                "Bearer realm=\"api\", error=\"{error}\", error_description=\"{description}\""
            ),
            Scheme::DPoP => format!(
                "DPoP realm=\"api\", error=\"{error}\", error_description=\"{description}\", \
                 algs=\"ES256 PS256 RS256 EdDSA\""
            ),
        };
        Response::builder()
            .status(status)
            .header("WWW-Authenticate", challenge)
            .content_type("application/json")
            .body(json!({"error": error, "error_description": description}).to_string())
    }
}

fn http() -> oauth2::reqwest::Client {
    oauth2::reqwest::Client::new()
}

#[handler]
fn public() -> Json<Value> {
    Json(json!({"message": "anyone can read this"}))
}

#[handler]
async fn reports(verifier: Data<&Arc<Verifier>>, request: &Request) -> Response {
    match verifier.check(request).await {
        Ok(claims) => Json(json!({"reports": ["q1", "q2"], "for": claims["sub"]})).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ferrid =
        std::env::var("RESOURCE_SERVER_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let api_url =
        std::env::var("RESOURCE_SERVER_URL").unwrap_or_else(|_| "http://127.0.0.1:4000".into());
    let discovery: Value = serde_json::from_slice(
        &http()
            .get(format!("{ferrid}/.well-known/openid-configuration"))
            .send()
            .await?
            .bytes()
            .await?,
    )?;
    let verifier = Arc::new(Verifier {
        issuer: discovery["issuer"].as_str().unwrap_or(&ferrid).to_owned(),
        audience: api_url.clone(),
        jwks_uri: discovery["jwks_uri"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        required_scope: std::env::var("RESOURCE_SERVER_SCOPE")
            .unwrap_or_else(|_| "reports:read".into()),
        keys: RwLock::new(Vec::new()),
        seen_proofs: Mutex::new(HashMap::new()),
    });
    let app = Route::new()
        .at("/public", get(public))
        .at("/reports", get(reports))
        .data(verifier);
    println!("resource server on {api_url}");
    Server::new(TcpListener::bind(
        api_url.trim_start_matches("http://").to_owned(),
    ))
    .run(app)
    .await?;
    Ok(())
}
