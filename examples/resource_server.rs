//! A small API that trusts ferrid's access tokens the way a resource server should: offline,
//! with the JWKS fetched from discovery (cached, refetched when a token names an unknown `kid`),
//! RS256 only, checking `iss`, `aud`, `exp`, the RFC 9068 `typ`, and the scope the route needs.
//! Failures are RFC 6750: 401 `invalid_token` or 403 `insufficient_scope` with
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

use std::sync::{Arc, RwLock};

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
}

enum Rejection {
    InvalidToken(&'static str),
    InsufficientScope,
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
        let token = request
            .headers()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(Rejection::InvalidToken("a bearer token is required"))?;
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| Rejection::InvalidToken("not a JWT"))?;
        if header.typ.as_deref() != Some("at+jwt") {
            return Err(Rejection::InvalidToken("not an access token"));
        }
        let kid = header.kid.ok_or(Rejection::InvalidToken("no kid"))?;
        let key = self
            .key(&kid)
            .await
            .ok_or(Rejection::InvalidToken("unknown signing key"))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|_| Rejection::InvalidToken("invalid, expired or not for this API"))?
            .claims;
        let scopes = claims["scope"].as_str().unwrap_or_default();
        if !scopes.split(' ').any(|s| s == self.required_scope) {
            return Err(Rejection::InsufficientScope);
        }
        Ok(claims)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let (status, error, description) = match self {
            Self::InvalidToken(why) => (StatusCode::UNAUTHORIZED, "invalid_token", why),
            Self::InsufficientScope => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "the token lacks the required scope",
            ),
        };
        Response::builder()
            .status(status)
            .header(
                "WWW-Authenticate",
                format!(
                    "Bearer realm=\"api\", error=\"{error}\", error_description=\"{description}\""
                ),
            )
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
