//! Every token-endpoint error a client can provoke (RFC 6749 §5.2): status, `error`, headers and
//! an actionable `error_description`; and nothing a client sends gives a 5xx.

use crate::common::{http, post_token, service_client, Backend, Reply, TestServer};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

const CC: (&str, &str) = ("grant_type", "client_credentials");

async fn server(backend: Backend) -> TestServer {
    let mut poster = service_client("poster", &["a"]);
    poster.token_endpoint_auth_method = Some("client_secret_post".into());
    let mut no_grants = service_client("no-grants", &["a"]);
    no_grants.grant_types = vec![];
    let mut targeted = service_client("targeted", &["a"]);
    targeted.audiences = vec!["https://api.example.com".into()];
    TestServer::start(
        backend,
        vec![
            service_client("billing", &["a", "b"]),
            poster,
            no_grants,
            targeted,
        ],
    )
    .await
}

async fn raw(server: &TestServer, headers: &[(&str, &str)], body: impl Into<String>) -> Reply {
    let mut request = http().post(server.at("/token")).body(body.into());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Reply::from(request.send().await.unwrap()).await
}

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

async fn wrong_or_missing_credentials_are_invalid_client(backend: Backend) {
    let server = server(backend).await;
    for creds in [("billing", "nope"), ("nobody", "x")] {
        let reply = post_token(&server, Some(creds), &[CC]).await;
        reply.assert_error(401, "invalid_client");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Basic realm=\"ferrid\"")
        );
    }
    let reply = post_token(&server, None, &[CC]).await;
    reply.assert_error(401, "invalid_client");
    assert!(reply
        .header("www-authenticate")
        .unwrap()
        .starts_with("Basic realm="));
    let reply = post_token(
        &server,
        None,
        &[CC, ("client_id", "poster"), ("client_secret", "wrong")],
    )
    .await;
    reply.assert_error(401, "invalid_client");
    assert!(reply.json["error_description"]
        .as_str()
        .unwrap()
        .contains("secret is wrong"));
}

async fn the_wrong_authentication_method_is_named(backend: Backend) {
    let server = server(backend).await;
    let reply = post_token(
        &server,
        None,
        &[
            CC,
            ("client_id", "billing"),
            ("client_secret", "billing-secret"),
        ],
    )
    .await;
    reply.assert_error(401, "invalid_client");
    assert_eq!(
        reply.json["error_description"],
        "client authentication failed: client_secret_post was used but the client is registered for client_secret_basic"
    );
    let reply = post_token(&server, Some(("poster", "poster-secret")), &[CC]).await;
    reply.assert_error(401, "invalid_client");
    assert!(reply.json["error_description"]
        .as_str()
        .unwrap()
        .contains("client_secret_basic was used"));
}

async fn malformed_authorization_headers_are_invalid_client(backend: Backend) {
    let server = server(backend).await;
    for header in [
        "Basic !!!",
        "Bearer abc.def.ghi",
        "Basic",
        &format!("Basic {}", STANDARD.encode("no-colon")),
    ] {
        let reply = raw(
            &server,
            &[FORM, ("authorization", header)],
            "grant_type=client_credentials",
        )
        .await;
        reply.assert_error(401, "invalid_client");
        assert!(reply.header("www-authenticate").is_some(), "{header}");
    }
}

async fn credentials_in_header_and_body_are_invalid_request(backend: Backend) {
    let server = server(backend).await;
    let reply = post_token(
        &server,
        Some(("billing", "billing-secret")),
        &[
            CC,
            ("client_id", "billing"),
            ("client_secret", "billing-secret"),
        ],
    )
    .await;
    reply.assert_error(400, "invalid_request");
    assert!(reply.json["error_description"]
        .as_str()
        .unwrap()
        .contains("both"));
}

async fn missing_or_repeated_parameters_are_invalid_request(backend: Backend) {
    let server = server(backend).await;
    let auth = basic("billing", "billing-secret");
    let reply = raw(&server, &[FORM, ("authorization", &auth)], "scope=a").await;
    reply.assert_error(400, "invalid_request");
    assert!(reply.json["error_description"]
        .as_str()
        .unwrap()
        .contains("grant_type"));
    let reply = raw(
        &server,
        &[FORM, ("authorization", &auth)],
        "grant_type=client_credentials&grant_type=client_credentials",
    )
    .await;
    reply.assert_error(400, "invalid_request");
    assert!(reply.json["error_description"]
        .as_str()
        .unwrap()
        .contains("duplicate"));
    let reply = raw(
        &server,
        &[FORM, ("authorization", &auth)],
        "grant_type=client_credentials&scope=a&scope=b",
    )
    .await;
    reply.assert_error(400, "invalid_request");
}

async fn the_wrong_content_type_is_invalid_request(backend: Backend) {
    let server = server(backend).await;
    let auth = basic("billing", "billing-secret");
    let reply = raw(
        &server,
        &[
            ("content-type", "application/json"),
            ("authorization", &auth),
        ],
        r#"{"grant_type":"client_credentials"}"#,
    )
    .await;
    reply.assert_error(400, "invalid_request");
    assert!(reply.json["error_description"]
        .as_str()
        .unwrap()
        .contains("x-www-form-urlencoded"));
    let reply = raw(
        &server,
        &[("authorization", &auth)],
        "grant_type=client_credentials",
    )
    .await;
    reply.assert_error(400, "invalid_request");
    let charset = (
        "content-type",
        "application/x-www-form-urlencoded; charset=UTF-8",
    );
    let reply = raw(
        &server,
        &[charset, ("authorization", &auth)],
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
}

async fn unknown_grant_types_are_unsupported(backend: Backend) {
    let server = server(backend).await;
    for grant in [
        "password",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "urn:ietf:params:oauth:grant-type:device_code",
        "",
    ] {
        let reply = post_token(
            &server,
            Some(("billing", "billing-secret")),
            &[("grant_type", grant)],
        )
        .await;
        reply.assert_error(400, "unsupported_grant_type");
    }
}

async fn a_grant_the_client_may_not_use_is_unauthorized_client(backend: Backend) {
    let server = server(backend).await;
    let reply = post_token(&server, Some(("no-grants", "no-grants-secret")), &[CC]).await;
    reply.assert_error(400, "unauthorized_client");
}

async fn scopes_outside_the_client_are_invalid_scope(backend: Backend) {
    let server = server(backend).await;
    for scope in ["admin", "a admin", "a\"b"] {
        let reply = post_token(
            &server,
            Some(("billing", "billing-secret")),
            &[CC, ("scope", scope)],
        )
        .await;
        reply.assert_error(400, "invalid_scope");
    }
}

async fn unregistered_audiences_are_invalid_target(backend: Backend) {
    let server = server(backend).await;
    let reply = post_token(
        &server,
        Some(("targeted", "targeted-secret")),
        &[CC, ("resource", "https://evil.example.com")],
    )
    .await;
    reply.assert_error(400, "invalid_target");
    let reply = post_token(
        &server,
        Some(("billing", "billing-secret")),
        &[CC, ("audience", "https://api.example.com")],
    )
    .await;
    reply.assert_error(400, "invalid_target");
}

async fn oversized_bodies_get_413_json(backend: Backend) {
    let server = server(backend).await;
    let auth = basic("billing", "billing-secret");
    let body = format!(
        "grant_type=client_credentials&scope={}",
        "a".repeat(100_000)
    );
    let reply = raw(&server, &[FORM, ("authorization", &auth)], body.clone()).await;
    reply.assert_error(413, "invalid_request");
    // Without Content-Length (chunked), the limit applies while reading.
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "POST /token HTTP/1.1\r\nhost: x\r\nauthorization: {auth}\r\ncontent-type: application/x-www-form-urlencoded\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    for chunk in body.as_bytes().chunks(8192) {
        request.push_str(&format!(
            "{:x}\r\n{}\r\n",
            chunk.len(),
            String::from_utf8_lossy(chunk)
        ));
    }
    request.push_str("0\r\n\r\n");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = stream.write_all(request.as_bytes()).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains(r#""error":"invalid_request""#),
        "{response}"
    );
}

async fn nothing_a_client_sends_gives_a_5xx(backend: Backend) {
    let server = server(backend).await;
    let auth = basic("billing", "billing-secret");
    let bodies = [
        "",
        "=",
        "&&&",
        "grant_type",
        "grant_type=%ZZ",
        "grant_type=%00",
        "grant_type=client_credentials&scope=%FF%FE",
        "grant_type=client_credentials&resource=%0A",
        "\u{0}\u{1}",
        "grant_type=client_credentials&scope=\u{7f}",
    ];
    let content_types = [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded; charset=latin1",
        "%%%",
    ];
    let authorizations = [
        auth.as_str(),
        "Basic Og==",
        "Basic OmE=",
        "Basic YTo=",
        "Digest x",
        "Basic ~~~~",
    ];
    for body in bodies {
        for content_type in content_types {
            for authorization in authorizations {
                let reply = raw(
                    &server,
                    &[
                        ("content-type", content_type),
                        ("authorization", authorization),
                    ],
                    body,
                )
                .await;
                assert!(
                    reply.status < 500,
                    "{body:?} {content_type} {authorization}: {} {}",
                    reply.status,
                    reply.json
                );
                assert!(
                    reply.json["error"].is_string() || reply.status == 200,
                    "{body:?}: {}",
                    reply.json
                );
            }
        }
    }
}

for_each_backend!(
    wrong_or_missing_credentials_are_invalid_client,
    the_wrong_authentication_method_is_named,
    malformed_authorization_headers_are_invalid_client,
    credentials_in_header_and_body_are_invalid_request,
    missing_or_repeated_parameters_are_invalid_request,
    the_wrong_content_type_is_invalid_request,
    unknown_grant_types_are_unsupported,
    a_grant_the_client_may_not_use_is_unauthorized_client,
    scopes_outside_the_client_are_invalid_scope,
    unregistered_audiences_are_invalid_target,
    oversized_bodies_get_413_json,
    nothing_a_client_sends_gives_a_5xx,
);
