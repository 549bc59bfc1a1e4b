//! A body over `http.max_body_bytes` gets 413 with the RFC 6749 JSON error and
//! `Connection: close` — and the client actually reads that answer. A client writes its whole
//! body before it reads; a server that answers and closes while the body is still arriving makes
//! the client see a reset (`EPIPE`, "connection reset") instead of the 413. So ferrid reads and
//! discards an oversized body up to a bound (a few MB) first; beyond it, or when the client waits
//! for `100 Continue`, it answers at once without reading. The socket tests send the body the way
//! a streaming client does, in pieces after the head, which is when an early close shows.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{http, service_client, Backend, Reply, TestServer};

/// 2 MB: over the 64 KiB default limit, under the bound ferrid reads to.
const BODY_BYTES: usize = 2 * 1024 * 1024;
const ATTEMPTS: usize = 5;

async fn server(backend: Backend) -> TestServer {
    TestServer::start(backend, vec![service_client("svc", &["a"])]).await
}

fn basic() -> String {
    format!("Basic {}", STANDARD.encode("svc:svc-secret"))
}

fn form_body(len: usize) -> Vec<u8> {
    let mut body = b"grant_type=client_credentials&scope=".to_vec();
    body.resize(len, b'a');
    body
}

fn head(addr: &str, length_or_chunked: &str, extra: &str) -> String {
    format!(
        "POST /token HTTP/1.1\r\nhost: {addr}\r\nauthorization: {}\r\ncontent-type: application/x-www-form-urlencoded\r\n{length_or_chunked}\r\n{extra}\r\n",
        basic()
    )
}

/// Sends `head`, then `body` in pieces with short pauses as a client streaming a large body
/// does (a failed write is a failure: the server cut the client off), then reads the whole
/// answer.
async fn send_all(addr: &str, head: &str, body: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    for piece in body.chunks(64 * 1024) {
        tokio::time::sleep(Duration::from_millis(5)).await;
        stream
            .write_all(piece)
            .await
            .expect("the whole body is accepted before the answer");
    }
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut response))
        .await
        .expect("answered in time")
        .expect("the answer is read without a reset");
    String::from_utf8_lossy(&response).into_owned()
}

fn assert_413(response: &str) {
    assert!(
        response.starts_with("HTTP/1.1 413"),
        "{}",
        &response[..response.len().min(500)]
    );
    let lower = response.to_ascii_lowercase();
    assert!(lower.contains("\r\nconnection: close\r\n"), "{response}");
    assert!(
        lower.contains("\r\ncache-control: no-store\r\n"),
        "{response}"
    );
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(body).expect(response);
    assert_eq!(json["error"], "invalid_request", "{response}");
    assert!(json["error_description"]
        .as_str()
        .unwrap()
        .contains("larger than"));
}

async fn a_client_that_sends_all_of_an_oversized_body_reads_the_413(backend: Backend) {
    let server = server(backend).await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    let body = form_body(BODY_BYTES);
    for _ in 0..ATTEMPTS {
        let head = head(&addr, &format!("content-length: {}", body.len()), "");
        assert_413(&send_all(&addr, &head, &body).await);
    }
    // Chunked, without a declared length: the limit is found while reading.
    let mut chunked = Vec::new();
    for chunk in body.chunks(64 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    for _ in 0..ATTEMPTS {
        let head = head(&addr, "transfer-encoding: chunked", "");
        assert_413(&send_all(&addr, &head, &chunked).await);
    }
}

async fn a_stock_http_client_reads_the_413(backend: Backend) {
    let server = server(backend).await;
    for _ in 0..ATTEMPTS {
        let response = http()
            .post(server.at("/token"))
            .header("authorization", basic())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(BODY_BYTES))
            .send()
            .await
            .expect("the 413 arrives, not a connection error");
        let reply = Reply::from(response).await;
        reply.assert_error(413, "invalid_request");
    }
    // The server still serves new connections normally.
    let reply = crate::common::post_token(
        &server,
        Some(("svc", "svc-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
}

async fn beyond_the_bound_or_before_100_continue_the_answer_comes_at_once(backend: Backend) {
    let server = server(backend).await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    for (length, extra) in [
        (1024 * 1024 * 1024, ""),
        (BODY_BYTES, "expect: 100-continue\r\n"),
    ] {
        // Only the head is sent: the 413 must come without waiting for the body.
        let head = head(&addr, &format!("content-length: {length}"), extra);
        assert_413(&send_all(&addr, &head, &[]).await);
    }
}

for_each_backend!(
    a_client_that_sends_all_of_an_oversized_body_reads_the_413,
    a_stock_http_client_reads_the_413,
    beyond_the_bound_or_before_100_continue_the_answer_comes_at_once,
);
