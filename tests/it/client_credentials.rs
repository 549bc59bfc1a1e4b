//! The client credentials grant as a real client app and a real resource server see it: the
//! `oauth2` crate obtains the token; `jsonwebtoken` verifies it against the JWKS fetched over HTTP.

use crate::common::{http, post_token, service_client, Backend, TestServer};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use serde_json::Value;

/// Verifies `token` the way a resource server does: JWKS over HTTP, key by `kid`, RS256 only.
async fn verify(server: &TestServer, token: &str, audience: &str) -> Value {
    let discovery: Value = http()
        .get(server.at("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    let jwks: Value = http()
        .get(discovery["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let kid = header.kid.expect("kid");
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"] == kid.as_str())
        .expect("the token's kid is in the JWKS");
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[discovery["issuer"].as_str().unwrap()]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims
}

trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for oauth2::reqwest::Response {
    async fn json_value(self) -> Value {
        serde_json::from_slice(&self.bytes().await.unwrap()).unwrap()
    }
}

fn oauth2_client(
    server: &TestServer,
    id: &str,
    secret: &str,
    auth: AuthType,
) -> BasicClient<
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
> {
    BasicClient::new(ClientId::new(id.into()))
        .set_client_secret(ClientSecret::new(secret.into()))
        .set_token_uri(TokenUrl::new(server.at("/token")).unwrap())
        .set_auth_type(auth)
}

async fn oauth2_crate_gets_a_verifiable_token(backend: Backend) {
    let server = TestServer::start(
        backend,
        vec![service_client(
            "billing",
            &["invoices:read", "invoices:write"],
        )],
    )
    .await;
    let client = oauth2_client(&server, "billing", "billing-secret", AuthType::BasicAuth);
    let token = client
        .exchange_client_credentials()
        .add_scope(Scope::new("invoices:read".into()))
        .request_async(&http())
        .await
        .unwrap();
    assert_eq!(token.token_type(), &oauth2::basic::BasicTokenType::Bearer);
    assert_eq!(token.expires_in().unwrap().as_secs(), 600);
    assert_eq!(token.scopes().unwrap()[0].as_str(), "invoices:read");
    assert!(token.refresh_token().is_none());

    let claims = verify(&server, token.access_token().secret(), &server.url).await;
    assert_eq!(claims["iss"], server.url.as_str());
    assert_eq!(claims["sub"], "billing");
    assert_eq!(claims["client_id"], "billing");
    assert_eq!(claims["aud"], server.url.as_str());
    assert_eq!(claims["scope"], "invoices:read");
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        600
    );
    assert!(claims["jti"].as_str().unwrap().len() >= 22);
    assert!(
        claims.get("nbf").is_none(),
        "no nbf: resource servers with slow clocks reject it"
    );
}

async fn absent_scope_grants_the_default_scopes(backend: Backend) {
    let server = TestServer::start(backend, vec![service_client("billing", &["a", "b"])]).await;
    let reply = post_token(
        &server,
        Some(("billing", "billing-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(reply.json["scope"], "a b");
    assert_eq!(reply.json["token_type"], "Bearer");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("pragma"), Some("no-cache"));
    let claims = verify(
        &server,
        reply.json["access_token"].as_str().unwrap(),
        &server.url,
    )
    .await;
    assert_eq!(claims["scope"], "a b");
}

async fn client_secret_post_and_encoded_basic_credentials_work(backend: Backend) {
    let mut poster = service_client("poster", &["x"]);
    poster.token_endpoint_auth_method = Some("client_secret_post".into());
    let mut odd = service_client("odd id:1", &["x"]);
    odd.secret = Some("p@ss:w/rd+%&=".to_owned().into());
    let server = TestServer::start(backend, vec![poster, odd]).await;

    let client = oauth2_client(&server, "poster", "poster-secret", AuthType::RequestBody);
    let token = client
        .exchange_client_credentials()
        .request_async(&http())
        .await
        .unwrap();
    assert!(!token.access_token().secret().is_empty());

    // The oauth2 crate form-urlencodes id and secret before base64 (RFC 6749 §2.3.1).
    let client = oauth2_client(&server, "odd id:1", "p@ss:w/rd+%&=", AuthType::BasicAuth);
    let token = client
        .exchange_client_credentials()
        .request_async(&http())
        .await
        .unwrap();
    let claims = verify(&server, token.access_token().secret(), &server.url).await;
    assert_eq!(claims["sub"], "odd id:1");
}

async fn audience_follows_resource_or_audience(backend: Backend) {
    let mut client = service_client("reports", &["r"]);
    client.audiences = vec![
        "https://api.example.com".into(),
        "https://files.example.com".into(),
    ];
    let server = TestServer::start(backend, vec![client]).await;
    let creds = Some(("reports", "reports-secret"));

    let reply = post_token(
        &server,
        creds,
        &[
            ("grant_type", "client_credentials"),
            ("resource", "https://files.example.com"),
        ],
    )
    .await;
    let claims = verify(
        &server,
        reply.json["access_token"].as_str().unwrap(),
        "https://files.example.com",
    )
    .await;
    assert_eq!(claims["aud"], "https://files.example.com");

    let reply = post_token(
        &server,
        creds,
        &[
            ("grant_type", "client_credentials"),
            ("audience", "https://api.example.com"),
        ],
    )
    .await;
    let claims = verify(
        &server,
        reply.json["access_token"].as_str().unwrap(),
        "https://api.example.com",
    )
    .await;
    assert_eq!(claims["aud"], "https://api.example.com");

    let reply = post_token(&server, creds, &[("grant_type", "client_credentials")]).await;
    let claims = verify(
        &server,
        reply.json["access_token"].as_str().unwrap(),
        "https://api.example.com",
    )
    .await;
    assert_eq!(
        claims["aud"],
        serde_json::json!(["https://api.example.com", "https://files.example.com"])
    );
}

async fn a_token_does_not_verify_for_another_audience(backend: Backend) {
    let server = TestServer::start(backend, vec![service_client("billing", &["a"])]).await;
    let reply = post_token(
        &server,
        Some(("billing", "billing-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    let token = reply.json["access_token"].as_str().unwrap();
    let ring = server.ctx.key_ring().unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["https://someone-else.example.com"]);
    assert!(ring.verify::<Value>(token, &validation).is_err());
}

for_each_backend!(
    oauth2_crate_gets_a_verifiable_token,
    absent_scope_grants_the_default_scopes,
    client_secret_post_and_encoded_basic_credentials_work,
    audience_follows_resource_or_audience,
    a_token_does_not_verify_for_another_audience,
);
