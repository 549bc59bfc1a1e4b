//! `/userinfo` as a protected resource, the RFC 6750 details a client relies on: a POST that
//! carries its token in the `Authorization` header alone — no body, so no `Content-Type` — is
//! served like the GET (§2.1); a request without any credentials gets a bare
//! `WWW-Authenticate: Bearer realm=…` challenge without an error code (§3.1, beside the DPoP
//! scheme of RFC 9449 §7.1), while a bad token keeps `error="invalid_token"`.

use oauth2::TokenResponse;

use crate::common::browser::Browser;
use crate::common::code_flow::*;
use crate::common::{http, Backend, Reply, TestServer};

async fn access_token(server: &TestServer) -> String {
    let browser = Browser::new();
    let client = oauth_client(server, "webapp", Some("webapp-secret"));
    let (start, params) = authorize(server, &browser, &client, &["openid", "email"]).await;
    let tokens = exchange(&client, &params["code"], start.verifier)
        .await
        .unwrap();
    tokens.access_token().secret().clone()
}

async fn a_post_with_only_the_authorization_header_is_served(backend: Backend) {
    let server = server(backend).await;
    let token = access_token(&server).await;
    let get = userinfo(&server, &token).await;
    assert_eq!(get.status, 200, "{}", get.json);

    // No body and no Content-Type at all, as `curl -X POST -H 'Authorization: Bearer …'` sends.
    let addr = server.url.trim_start_matches("http://").to_owned();
    let request = format!(
        "POST /userinfo HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\nconnection: close\r\n\r\n"
    );
    let response = raw_exchange(&addr, request.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("alice@example.com"), "{response}");

    // The same through an HTTP client: an empty POST, and an empty form.
    let empty = Reply::from(
        http()
            .post(server.at("/userinfo"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(empty.status, 200, "{}", empty.json);
    assert_eq!(empty.json, get.json);
    let empty_form = Reply::from(
        http()
            .post(server.at("/userinfo"))
            .bearer_auth(&token)
            .header("content-type", "application/x-www-form-urlencoded")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(empty_form.json, get.json);

    // A body still has to be the documented form.
    let json = Reply::from(
        http()
            .post(server.at("/userinfo"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(json.status, 400, "{}", json.json);
    assert_eq!(json.json["error"], "invalid_request");
    let untyped = Reply::from(
        http()
            .post(server.at("/userinfo"))
            .bearer_auth(&token)
            .body("access_token=x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(untyped.status, 400, "{}", untyped.json);
}

async fn raw_exchange(addr: &str, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

async fn no_credentials_get_a_challenge_without_an_error_code(backend: Backend) {
    let server = server(backend).await;
    let requests = [
        http().get(server.at("/userinfo")),
        http().post(server.at("/userinfo")),
        http().post(server.at("/userinfo")).form(&[("scope", "x")]),
        http()
            .post(server.at("/userinfo"))
            .form(&[("access_token", "")]),
    ];
    for (index, request) in requests.into_iter().enumerate() {
        let reply = Reply::from(request.send().await.unwrap()).await;
        assert_eq!(reply.status, 401, "request {index}: {}", reply.json);
        // RFC 6750 §3.1 names no error; RFC 9449 §7.1 offers the DPoP scheme beside Bearer.
        assert_eq!(
            reply.header("www-authenticate"),
            Some(
                "Bearer realm=\"ferrid\", DPoP realm=\"ferrid\", algs=\"ES256 PS256 RS256 EdDSA\""
            ),
            "request {index}"
        );
    }
    // A token that does not verify is an error, and says so.
    for request in [
        http().get(server.at("/userinfo")).bearer_auth("garbage"),
        http().post(server.at("/userinfo")).bearer_auth("a.b.c"),
        http()
            .post(server.at("/userinfo"))
            .form(&[("access_token", "garbage")]),
    ] {
        let reply = Reply::from(request.send().await.unwrap()).await;
        assert_eq!(reply.status, 401);
        let challenge = reply.header("www-authenticate").unwrap();
        assert!(
            challenge.starts_with("Bearer realm=\"ferrid\", error=\"invalid_token\""),
            "{challenge}"
        );
        assert_eq!(reply.json["error"], "invalid_token");
    }
}

for_each_backend!(
    a_post_with_only_the_authorization_header_is_served,
    no_credentials_get_a_challenge_without_an_error_code,
);
