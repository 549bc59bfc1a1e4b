//! RFC 9110 §15.5.6: a 405 answer MUST carry `Allow`, listing the methods the resource supports.
//! Checked for a few paths by hand and for every path of the served OpenAPI document, with a
//! method it does not document; a path answering GET also answers HEAD.

use std::collections::BTreeSet;

use oauth2::reqwest::Method;
use serde_json::Value;

use crate::common::{http, Backend, Reply, TestServer};

async fn allow(server: &TestServer, method: Method, path: &str) -> BTreeSet<String> {
    let reply = Reply::from(
        http()
            .request(method.clone(), server.at(path))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 405, "{method} {path}");
    let allow = reply
        .header("allow")
        .unwrap_or_else(|| panic!("{method} {path}: 405 without Allow"));
    allow.split(',').map(|m| m.trim().to_owned()).collect()
}

fn set(methods: &[&str]) -> BTreeSet<String> {
    methods.iter().map(|m| m.to_string()).collect()
}

async fn method_not_allowed_names_the_allowed_methods(backend: Backend) {
    let server = TestServer::start(backend, vec![]).await;
    assert_eq!(allow(&server, Method::GET, "/token").await, set(&["POST"]));
    assert_eq!(allow(&server, Method::HEAD, "/token").await, set(&["POST"]));
    assert_eq!(
        allow(&server, Method::PUT, "/userinfo").await,
        set(&["GET", "HEAD", "POST"])
    );
    assert_eq!(
        allow(&server, Method::DELETE, "/.well-known/jwks.json").await,
        set(&["GET", "HEAD"])
    );
    assert_eq!(
        allow(&server, Method::PATCH, "/login").await,
        set(&["GET", "HEAD", "POST"])
    );
    assert_eq!(
        allow(&server, Method::OPTIONS, "/revoke").await,
        set(&["POST"])
    );

    // Every documented path, with a method it does not document.
    let spec: Value = Reply::from(http().get(server.at("/openapi.json")).send().await.unwrap())
        .await
        .json;
    let paths = spec["paths"].as_object().unwrap();
    assert!(paths.len() >= 10, "{:?}", paths.keys());
    for (path, operations) in paths {
        let mut documented: BTreeSet<String> = operations
            .as_object()
            .unwrap()
            .keys()
            .map(|m| m.to_uppercase())
            .collect();
        if documented.contains("GET") {
            documented.insert("HEAD".into());
        }
        assert_eq!(
            allow(&server, Method::PATCH, path).await,
            documented,
            "{path}"
        );
    }
}

for_each_backend!(method_not_allowed_names_the_allowed_methods);
