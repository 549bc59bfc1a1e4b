//! A small third-party web app that logs people in through ferrid: the authorization code flow
//! with PKCE (S256), `state` and `nonce`, using the `oauth2` crate; the ID token is verified
//! against ferrid's JWKS with `jsonwebtoken` and its claims are shown.
//!
//! ```sh
//! cargo run --release -- --config examples/ferrid.toml     # ferrid on :8080
//! cargo run --release --example client_app                  # this app on :3000
//! ```
//! Then open <http://127.0.0.1:3000> and sign in as alice / wonderland.
//! Environment (its own names: ferrid refuses unknown `FERRID_*` variables, so exporting one for
//! this app would stop ferrid in the same shell): `CLIENT_APP_ISSUER` (default
//! http://127.0.0.1:8080), `CLIENT_APP_URL` (http://127.0.0.1:3000), `CLIENT_APP_CLIENT_ID`
//! (example-app), `CLIENT_APP_CLIENT_SECRET` (example-app-secret).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use poem::listener::TcpListener;
use poem::web::{Data, Html, Query, Redirect};
use poem::{get, handler, EndpointExt, IntoResponse, Response, Route, Server};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdTokenField {
    id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

type Client = oauth2::Client<
    BasicErrorResponse,
    StandardTokenResponse<IdTokenField, BasicTokenType>,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// Logins in flight: state → (PKCE verifier, nonce).
struct AppState {
    client: Client,
    ferrid: String,
    client_id: String,
    pending: Mutex<HashMap<String, (String, String)>>,
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ferrid = env("CLIENT_APP_ISSUER", "http://127.0.0.1:8080");
    let app_url = env("CLIENT_APP_URL", "http://127.0.0.1:3000");
    let client_id = env("CLIENT_APP_CLIENT_ID", "example-app");
    // Endpoints come from discovery, as any OpenID Connect client finds them.
    let discovery: Value = serde_json::from_slice(
        &http()
            .get(format!("{ferrid}/.well-known/openid-configuration"))
            .send()
            .await?
            .bytes()
            .await?,
    )?;
    let endpoint = |name: &str| discovery[name].as_str().unwrap_or_default().to_owned();
    let client = oauth2::Client::new(ClientId::new(client_id.clone()))
        .set_client_secret(ClientSecret::new(env(
            "CLIENT_APP_CLIENT_SECRET",
            "example-app-secret",
        )))
        .set_auth_uri(AuthUrl::new(endpoint("authorization_endpoint"))?)
        .set_token_uri(TokenUrl::new(endpoint("token_endpoint"))?)
        .set_redirect_uri(RedirectUrl::new(format!("{app_url}/callback"))?);
    let state = Arc::new(AppState {
        client,
        ferrid,
        client_id,
        pending: Mutex::new(HashMap::new()),
    });
    let app = Route::new()
        .at("/", get(home))
        .at("/login", get(login))
        .at("/callback", get(callback))
        .data(state);
    let bind = app_url.trim_start_matches("http://").to_owned();
    println!("example app on {app_url}");
    Server::new(TcpListener::bind(bind)).run(app).await?;
    Ok(())
}

fn http() -> oauth2::reqwest::Client {
    oauth2::reqwest::ClientBuilder::new()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

#[handler]
fn home() -> Html<&'static str> {
    Html(
        r#"<!doctype html><title>Example App</title><h1>Example App</h1><p><a href="/login">Sign in with ferrid</a></p>"#,
    )
}

#[handler]
fn login(state: Data<&Arc<AppState>>) -> Response {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = CsrfToken::new_random().secret().clone();
    let (url, csrf) = state
        .client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(["openid", "profile", "email"].map(|s| Scope::new(s.into())))
        .add_extra_param("nonce", &nonce)
        .set_pkce_challenge(challenge)
        .url();
    if let Ok(mut pending) = state.pending.lock() {
        pending.insert(csrf.secret().clone(), (verifier.secret().clone(), nonce));
    }
    Redirect::see_other(url.to_string()).into_response()
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[handler]
async fn callback(state: Data<&Arc<AppState>>, Query(params): Query<Callback>) -> Html<String> {
    match finish(&state, params).await {
        Ok(claims) => Html(format!(
            "<!doctype html><title>Signed in</title><h1>Signed in</h1><p>ID token claims:</p><pre>{}</pre><p><a href=\"/\">Home</a></p>",
            escape(&serde_json::to_string_pretty(&claims).unwrap_or_default())
        )),
        Err(err) => Html(format!("<!doctype html><title>Error</title><h1>Sign-in failed</h1><p>{}</p>", escape(&err))),
    }
}

async fn finish(state: &AppState, params: Callback) -> Result<Value, String> {
    if let Some(error) = params.error {
        return Err(format!(
            "{error}: {}",
            params.error_description.unwrap_or_default()
        ));
    }
    let (verifier, nonce) = params
        .state
        .and_then(|s| state.pending.lock().ok()?.remove(&s))
        .ok_or("unknown state: start again")?;
    let tokens = state
        .client
        .exchange_code(AuthorizationCode::new(params.code.ok_or("no code")?))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http())
        .await
        .map_err(|err| format!("token request failed: {err:?}"))?;
    let id_token = tokens
        .extra_fields()
        .id_token
        .clone()
        .ok_or("no ID token")?;
    let claims = verify(state, &id_token).await?;
    if claims["nonce"] != nonce.as_str() {
        return Err("nonce mismatch".into());
    }
    println!(
        "signed in: access token of {} characters, scopes {:?}",
        tokens.access_token().secret().len(),
        tokens.scopes()
    );
    Ok(claims)
}

/// Verifies the ID token's signature, `iss`, `aud` and `exp` against ferrid's JWKS.
async fn verify(state: &AppState, id_token: &str) -> Result<Value, String> {
    let response = http()
        .get(format!("{}/.well-known/jwks.json", state.ferrid))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let jwks: Value = serde_json::from_slice(&response.bytes().await.map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let kid = jsonwebtoken::decode_header(id_token)
        .map_err(|e| e.to_string())?
        .kid
        .ok_or("no kid")?;
    let jwk = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
        .ok_or("unknown kid")?;
    let key = DecodingKey::from_rsa_components(
        jwk["n"].as_str().unwrap_or_default(),
        jwk["e"].as_str().unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&state.ferrid]);
    validation.set_audience(&[&state.client_id]);
    jsonwebtoken::decode::<Value>(id_token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| e.to_string())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
