//! The client app side of the code flow for tests: clients and a user to log in, the `oauth2`
//! crate configured as a third-party app (with the ID token kept), and helpers that start the
//! flow, complete it in a `Browser`, redeem the code and verify what comes back.

use std::collections::HashMap;

use ferrid::config::{ClientConfig, UserConfig};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::browser::{callback, consent, log_in, Browser, CALLBACK};
use super::{http, service_client, Backend, Options, Reply, TestServer};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenField {
    pub id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

pub type Tokens = StandardTokenResponse<IdTokenField, BasicTokenType>;
pub type OidcClient = oauth2::Client<
    BasicErrorResponse,
    Tokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

pub fn web_app(id: &str) -> ClientConfig {
    ClientConfig {
        id: id.into(),
        name: Some(format!("{id} app")),
        secret: Some(format!("{id}-secret").into()),
        grant_types: vec!["authorization_code".into()],
        scopes: ["openid", "profile", "email", "roles", "files:read"]
            .map(String::from)
            .to_vec(),
        default_scopes: Some(vec!["openid".into()]),
        redirect_uris: vec![CALLBACK.into()],
        ..ClientConfig::default()
    }
}

pub fn spa(id: &str) -> ClientConfig {
    ClientConfig {
        public: true,
        secret: None,
        ..web_app(id)
    }
}

pub fn alice() -> UserConfig {
    UserConfig {
        username: "alice".into(),
        password_hash: Some(crate::common::cheap_password_hash("wonderland")),
        name: Some("Alice Liddell".into()),
        email: Some("alice@example.com".into()),
        roles: vec!["admin".into()],
        ..UserConfig::default()
    }
}

pub async fn server(backend: Backend) -> TestServer {
    let mut first_party = web_app("portal");
    first_party.skip_consent = true;
    let clients = vec![
        web_app("webapp"),
        spa("spa"),
        first_party,
        service_client("svc", &["x"]),
    ];
    TestServer::start_with(Options::new(backend).clients(clients), |settings| {
        settings.users = vec![alice()]
    })
    .await
}

pub fn oauth_client(server: &TestServer, id: &str, secret: Option<&str>) -> OidcClient {
    type Unset = oauth2::Client<
        BasicErrorResponse,
        Tokens,
        BasicTokenIntrospectionResponse,
        StandardRevocableToken,
        BasicRevocationErrorResponse,
    >;
    let client = Unset::new(ClientId::new(id.into()))
        .set_auth_uri(AuthUrl::new(server.at("/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(server.at("/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());
    match secret {
        Some(secret) => client
            .set_client_secret(ClientSecret::new(secret.into()))
            .set_auth_type(AuthType::BasicAuth),
        None => client.set_auth_type(AuthType::RequestBody),
    }
}

pub struct Start {
    pub url: String,
    pub state: String,
    pub verifier: PkceCodeVerifier,
}

pub fn start(client: &OidcClient, scopes: &[&str], nonce: &str, extra: &[(&str, &str)]) -> Start {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .add_extra_param("nonce", nonce);
    for scope in scopes {
        request = request.add_scope(Scope::new(scope.to_string()));
    }
    for (name, value) in extra {
        request = request.add_extra_param(*name, *value);
    }
    let (url, state) = request.url();
    Start {
        url: url.to_string(),
        state: state.secret().clone(),
        verifier,
    }
}

/// Runs login + consent for `client` and returns the callback parameters.
pub async fn authorize(
    server: &TestServer,
    browser: &Browser,
    client: &OidcClient,
    scopes: &[&str],
) -> (Start, HashMap<String, String>) {
    let start = start(client, scopes, "n-0S6_WzA2Mj", &[]);
    let page = browser.get(&start.url).await;
    let page = log_in(server, browser, page, "wonderland").await;
    let page = consent(server, browser, page, "allow").await;
    let params = callback(&page);
    (start, params)
}

pub async fn jwks_key(server: &TestServer, token: &str) -> DecodingKey {
    let jwks: Value = Reply::from(
        http()
            .get(server.at("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .json;
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap();
    DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
        .unwrap()
}

pub async fn verify_id_token(server: &TestServer, id_token: &str, client_id: &str) -> Value {
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&server.url]);
    validation.set_audience(&[client_id]);
    jsonwebtoken::decode::<Value>(id_token, &jwks_key(server, id_token).await, &validation)
        .unwrap()
        .claims
}

pub async fn userinfo(server: &TestServer, token: &str) -> Reply {
    Reply::from(
        http()
            .get(server.at("/userinfo"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub async fn exchange(
    client: &OidcClient,
    code: &str,
    verifier: PkceCodeVerifier,
) -> Result<Tokens, String> {
    client
        .exchange_code(AuthorizationCode::new(code.into()))
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .map_err(|err| match err {
            RequestTokenError::ServerResponse(response) => response.error().to_string(),
            other => format!("{other:?}"),
        })
}
