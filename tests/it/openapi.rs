//! The OpenAPI document: the checked-in copy matches the code, every response is described,
//! and the served spec and Swagger UI are reachable.

use crate::common::{http, Backend, Reply, TestServer};
use ferrid::config::Settings;
use serde_json::Value;

const REGENERATE: &str = "regenerate it with `cargo run -- openapi > openapi/openapi.json`";

fn generated() -> Value {
    serde_json::from_str(&ferrid::http::openapi_json(&Settings::default())).unwrap()
}

#[test]
fn checked_in_spec_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let checked_in =
        std::fs::read_to_string(path).unwrap_or_else(|_| panic!("{path} is missing; {REGENERATE}"));
    let checked_in: Value = serde_json::from_str(&checked_in).unwrap();
    assert!(
        checked_in == generated(),
        "openapi/openapi.json differs from the code; {REGENERATE}"
    );
}

#[test]
fn every_operation_is_documented_with_described_responses() {
    let spec = generated();
    let paths = spec["paths"].as_object().unwrap();
    for expected in [
        "/token",
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
        "/healthz",
        "/readyz",
        "/logout",
        "/revoke",
        "/introspect",
        "/authorize",
        "/userinfo",
    ] {
        assert!(paths.contains_key(expected), "{expected} is not documented");
    }
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            assert!(
                !operation["summary"].as_str().unwrap_or_default().is_empty(),
                "{method} {path} has no summary"
            );
            for (status, response) in operation["responses"].as_object().unwrap() {
                let description = response["description"].as_str().unwrap_or_default();
                assert!(
                    !description.is_empty(),
                    "{method} {path} {status} has no description"
                );
            }
        }
    }
    let token = &spec["paths"]["/token"]["post"];
    let statuses: Vec<&String> = token["responses"].as_object().unwrap().keys().collect();
    assert_eq!(statuses, ["200", "400", "401", "413", "500", "503"]);
    assert!(token["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object());
    assert_eq!(
        token["security"],
        serde_json::json!([{"ClientBasic": []}, {}])
    );
    assert_eq!(spec["servers"][0]["url"], "http://127.0.0.1:8080");
}

/// Every endpoint discovery advertises is an operation of the spec, so what clients find through
/// discovery can be read and tried in Swagger UI.
#[tokio::test]
async fn every_endpoint_discovery_advertises_is_documented() {
    let server = TestServer::start(Backend::Memory, vec![]).await;
    let spec = generated();
    let paths = spec["paths"].as_object().unwrap();
    for document in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let metadata = Reply::from(http().get(server.at(document)).send().await.unwrap())
            .await
            .json;
        let advertised: Vec<(&String, &str)> = metadata
            .as_object()
            .unwrap()
            .iter()
            .filter(|(name, _)| name.ends_with("_endpoint") || name.as_str() == "jwks_uri")
            .map(|(name, url)| (name, url.as_str().unwrap()))
            .collect();
        assert!(advertised.len() >= 6, "{document}: {advertised:?}");
        for (name, url) in advertised {
            let path = url
                .strip_prefix(server.url.as_str())
                .unwrap_or_else(|| panic!("{name} {url} is not under the issuer"));
            assert!(
                paths.contains_key(path),
                "{document} advertises {name} = {path}, which the spec does not document"
            );
        }
    }
}

/// The token form documents every grant type discovery lists.
#[tokio::test]
async fn the_token_form_names_every_supported_grant_type() {
    let server = TestServer::start(Backend::Memory, vec![]).await;
    let discovery = server.at("/.well-known/openid-configuration");
    let metadata = Reply::from(http().get(discovery).send().await.unwrap())
        .await
        .json;
    let spec = generated();
    let described = spec["components"]["schemas"]["TokenRequest"]["properties"]["grant_type"]
        ["description"]
        .as_str()
        .unwrap();
    for grant_type in metadata["grant_types_supported"].as_array().unwrap() {
        let grant_type = grant_type.as_str().unwrap();
        assert!(
            described.contains(&format!("`{grant_type}`")),
            "grant_type's description does not name {grant_type}: {described}"
        );
    }
}

#[tokio::test]
async fn the_spec_and_swagger_ui_are_served() {
    let server = TestServer::start(Backend::Memory, vec![]).await;
    let served: Value = serde_json::from_slice(
        &http()
            .get(server.at("/openapi.json"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(served["servers"][0]["url"], server.url.as_str());
    assert_eq!(served["paths"], generated()["paths"]);
    let docs = http().get(server.at("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert_eq!(docs.headers()["x-frame-options"], "DENY");
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger"), "Swagger UI page expected");
    assert!(
        html.contains("usePkceWithAuthorizationCodeGrant: true"),
        "PKCE must be on"
    );
    assert!(html.contains("clientId: \"swagger-ui\""));
    assert!(html.contains("window.location.origin + \"/docs/oauth-receiver.html\""));
    let receiver = http()
        .get(server.at("/docs/oauth-receiver.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(receiver.status(), 200);
    assert!(receiver.text().await.unwrap().contains("oauth2"));
}

#[tokio::test]
async fn swagger_ui_can_start_a_pkce_login_against_ferrid() {
    let server = TestServer::start(Backend::Memory, vec![]).await;
    let spec = generated();
    let flow = &spec["components"]["securitySchemes"]["OAuth2"]["flows"]["authorizationCode"];
    assert_eq!(flow["authorizationUrl"], "/authorize");
    assert_eq!(flow["tokenUrl"], "/token");
    // What Swagger UI sends when "Authorize" is pressed: the built-in public client with PKCE.
    let url = format!(
        "{}?response_type=code&client_id=swagger-ui&redirect_uri={}/docs/oauth-receiver.html&scope=openid&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        server.at("/authorize"),
        server.url
    );
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert!(response.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login?interaction="));
}
