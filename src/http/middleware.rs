//! Cross-cutting HTTP behaviour: a request id per request (taken from a well-formed
//! `X-Request-Id` or generated, echoed in the response, and carried by the tracing span so every
//! log line of the request names it), one access-log line per request (health checks excepted),
//! the request count and latency metrics (by the router's path template, never the raw path),
//! and the request-body limit, which answers oversized bodies with 413 and a JSON error before
//! any parsing — after reading what the client is still sending, so that it sees the answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use poem::http::{header, HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, PathPattern, Request, Response, Result};
use tokio::io::AsyncReadExt;
use tracing::Instrument;

use super::errors::render;
use crate::error::OAuthError;
use crate::secret::random_bytes;
use crate::telemetry::metrics;

const REQUEST_ID: &str = "x-request-id";

/// Assigns the request id, logs the request, counts and times it when `measure`, and echoes the
/// id.
pub async fn observe<E: Endpoint>(
    endpoint: Arc<E>,
    request: Request,
    measure: bool,
) -> Result<Response> {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_acceptable_id(id))
        .map(str::to_owned)
        .unwrap_or_else(new_request_id);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let quiet = matches!(path.as_str(), "/healthz" | "/readyz");
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %method, path = %path);
    let started = Instant::now();
    let mut response = match endpoint.call(request).instrument(span.clone()).await {
        Ok(response) => response.into_response(),
        Err(err) => err.into_response(),
    };
    if measure {
        // The router's template; a path only the catch-all `/` nest matched has an empty one.
        let route = response
            .data::<PathPattern>()
            .filter(|pattern| !pattern.0.is_empty())
            .map(|pattern| pattern.0.clone());
        metrics::http_request(
            method.as_str(),
            route.map(Into::into),
            response.status().as_u16(),
            started.elapsed(),
        );
    }
    if !quiet {
        span.in_scope(|| {
            tracing::info!(
                status = response.status().as_u16(),
                duration_us = started.elapsed().as_micros() as u64,
                "request served"
            )
        });
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

fn is_acceptable_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A new request id: 6 random bytes drawn once per process (so instances differ) and a 6-byte
/// sequence number, base64url (16 characters). Ids are unique, not secret, so no random number
/// is drawn per request (a system call on every JWKS or discovery request).
fn new_request_id() -> String {
    static PREFIX: OnceLock<[u8; 6]> = OnceLock::new();
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| random_bytes::<6>().unwrap_or_default());
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed).to_be_bytes();
    let mut id = [0u8; 12];
    id[..6].copy_from_slice(prefix);
    id[6..].copy_from_slice(&sequence[2..]);
    URL_SAFE_NO_PAD.encode(id)
}

/// How much of an oversized body is read and thrown away before the 413 is sent: at least
/// this, and at least four times the limit.
const DRAIN_MIN_BYTES: usize = 4 * 1024 * 1024;
/// How long reading and throwing away an oversized body may take.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Rejects bodies over `max_bytes` with 413 and `Connection: close`, on the declared length or
/// while reading (chunked). HTTP/1.1 has no way to stop a client that is still sending: a server
/// that answers and closes with the body unread makes the client's kernel see a reset, and a
/// stock client reports `EPIPE` / "connection reset" instead of the answer. So the rest of an
/// oversized body is read and discarded first, up to a bound (a few MB, a few seconds); only
/// beyond that bound, or when the client waits for `100 Continue` and so has sent nothing yet,
/// is the answer sent at once.
pub async fn limit_body<E: Endpoint>(
    endpoint: Arc<E>,
    mut request: Request,
    max_bytes: usize,
) -> Result<Response> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let drain_bytes = DRAIN_MIN_BYTES.max(max_bytes.saturating_mul(4));
    match declared {
        Some(length) if length > max_bytes as u64 => {
            let waits_for_continue = request
                .headers()
                .get(header::EXPECT)
                .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
            if length <= drain_bytes as u64 && !waits_for_continue {
                read_bounded(request.take_body(), 0, drain_bytes).await;
            }
            return Ok(too_large(max_bytes));
        }
        Some(_) => {}
        None if request.headers().contains_key(header::TRANSFER_ENCODING) => {
            match read_bounded(request.take_body(), max_bytes, drain_bytes).await {
                BoundedRead::Body(bytes) => request.set_body(bytes),
                BoundedRead::TooLarge => return Ok(too_large(max_bytes)),
                BoundedRead::Unreadable(err) => {
                    let err =
                        OAuthError::invalid_request(format!("unreadable request body: {err}"));
                    return Ok(render(StatusCode::BAD_REQUEST, &err));
                }
            }
        }
        None => {}
    }
    endpoint
        .call(request)
        .await
        .map(IntoResponse::into_response)
}

/// What reading a body under a limit found.
enum BoundedRead {
    /// The whole body, within the limit.
    Body(Vec<u8>),
    /// Over the limit: the rest was discarded up to the drain bound.
    TooLarge,
    /// The body could not be read (a broken chunked encoding, a dropped connection).
    Unreadable(std::io::Error),
}

/// Reads `body`, keeping at most `max_bytes`; past that, discards the rest until its end, or
/// until `drain_bytes` in all or `DRAIN_TIMEOUT` have gone by.
async fn read_bounded(body: poem::Body, max_bytes: usize, drain_bytes: usize) -> BoundedRead {
    let read = async move {
        let mut reader = body.into_async_read();
        let mut kept = Vec::new();
        let mut total = 0usize;
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let read = match reader.read(&mut buffer).await {
                Ok(0) if total > max_bytes => return BoundedRead::TooLarge,
                Ok(0) => return BoundedRead::Body(kept),
                Ok(read) => read,
                Err(_) if total > max_bytes => return BoundedRead::TooLarge,
                Err(err) => return BoundedRead::Unreadable(err),
            };
            total = total.saturating_add(read);
            if total <= max_bytes {
                kept.extend_from_slice(&buffer[..read]);
            } else if total > drain_bytes {
                return BoundedRead::TooLarge;
            } else {
                kept = Vec::new();
            }
        }
    };
    tokio::time::timeout(DRAIN_TIMEOUT, read)
        .await
        .unwrap_or(BoundedRead::TooLarge)
}

/// 413 with the RFC 6749 error body; the connection closes after it.
fn too_large(max_bytes: usize) -> Response {
    let err =
        OAuthError::invalid_request(format!("the request body is larger than {max_bytes} bytes"));
    let mut response = render(StatusCode::PAYLOAD_TOO_LARGE, &err);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Security headers for every HTML response (login, consent, error pages, Swagger UI): no
/// framing (clickjacking), no referrer (codes and state must not leak), no caching, and a strict
/// CSP on ferrid's own pages (Swagger UI needs its inline script, so it gets only
/// `frame-ancestors`). No `form-action`: browsers apply it to the redirect back to the client.
pub async fn html_security_headers<E: Endpoint>(
    endpoint: Arc<E>,
    request: Request,
) -> Result<Response> {
    let docs = request.uri().path().starts_with(super::paths::DOCS);
    let mut response = endpoint.call(request).await?.into_response();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if is_html {
        let csp = if docs {
            "frame-ancestors 'none'"
        } else {
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"
        };
        let headers = response.headers_mut();
        headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
        // A page with a policy of its own (the form_post page) keeps it.
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(HeaderValue::from_static(csp));
        headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_request_ids_are_unique_and_acceptable() {
        let ids: Vec<String> = (0..1000).map(|_| new_request_id()).collect();
        for id in &ids {
            assert_eq!(id.len(), 16, "{id}");
            assert!(is_acceptable_id(id), "{id}");
        }
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        // One process, one prefix: ids differ only in their sequence part.
        assert!(ids.iter().all(|id| id[..8] == ids[0][..8]));
    }
}
