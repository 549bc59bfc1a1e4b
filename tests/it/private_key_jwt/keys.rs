//! Where a `private_key_jwt` client's keys come from: a `jwks_uri` served on loopback HTTP is
//! fetched, cached and refetched for a new `kid` at most once a minute, and refused when too
//! big, too slow or holding a private key; a registration with a plain-http `jwks_uri` on
//! another host, a private or symmetric key, both `jwks` and `jwks_uri`, neither, or a secret
//! is refused naming the field.

use std::time::Duration;

use ferrid::clock::{Clock, ManualClock};
use ferrid::config::{ClientConfig, Settings};
use serde_json::{json, Value};

use super::{assert_refused, pkjwt_client, token};
use crate::common::client_keys::{self, claims_at, ClientKey, JwksServer};
use crate::common::grants::now_clock;
use crate::common::{Backend, Options, TestServer};

/// A server on a manual clock with `clients`, settings changed by `configure`.
async fn clocked_server(
    clock: &ManualClock,
    clients: Vec<ClientConfig>,
    configure: impl FnOnce(&mut Settings),
) -> TestServer {
    let mut options = Options::new(Backend::Memory).clients(clients);
    options.clock = Some(clock.clone());
    TestServer::start_with(options, configure).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_uri_is_cached_and_refetched_for_a_new_kid_at_most_once_a_minute() {
    let first = ClientKey::es256(Some("k1"));
    let second = ClientKey::es256(Some("k2"));
    let jwks = JwksServer::start(&client_keys::jwks(&[&first])).await;
    let clock = now_clock();
    let client = pkjwt_client("remote", None, Some(jwks.url.clone()));
    let server = clocked_server(&clock, vec![client], |_| {}).await;
    let assertion =
        |key: &ClientKey| key.assertion_with(&claims_at("remote", &server.url, clock.now_secs()));

    assert_eq!(token(&server, &assertion(&first)).await.status, 200);
    assert_eq!(token(&server, &assertion(&first)).await.status, 200);
    assert_eq!(jwks.hits(), 1, "the key set is cached");

    // The client rotates in k2 right after ferrid fetched: the refetch waits for the minute.
    jwks.serve(client_keys::jwks(&[&first, &second]).to_string());
    let early = token(&server, &assertion(&second)).await;
    assert_refused(&early, 401, "invalid_client", "no key with kid `k2`");
    assert_eq!(jwks.hits(), 1);
    clock.advance(Duration::from_secs(61));
    let rotated = token(&server, &assertion(&second)).await;
    assert_eq!(rotated.status, 200, "{}", rotated.json);
    assert_eq!(jwks.hits(), 2, "an unknown kid refetches the key set");

    // A stream of forged kids costs one fetch a minute.
    for kid in ["forged-1", "forged-2", "forged-3"] {
        let forged = ClientKey::es256(Some(kid));
        let reply = token(&server, &assertion(&forged)).await;
        assert_refused(&reply, 401, "invalid_client", "no key with kid");
    }
    assert_eq!(jwks.hits(), 2);
    clock.advance(Duration::from_secs(61));
    let forged = ClientKey::es256(Some("forged-4"));
    let reply = token(&server, &assertion(&forged)).await;
    assert_refused(&reply, 401, "invalid_client", "no key with kid");
    assert_eq!(jwks.hits(), 3);

    // The cache expires (jwks_cache_secs, 600 by default): the next assertion refetches.
    clock.advance(Duration::from_secs(601));
    assert_eq!(token(&server, &assertion(&first)).await.status, 200);
    assert_eq!(jwks.hits(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_uri_too_big_or_too_slow_is_refused() {
    let key = ClientKey::es256(Some("k1"));
    let big = JwksServer::start(&client_keys::jwks(&[&key])).await;
    let padding = "x".repeat(70 * 1024);
    big.serve(json!({"keys": [key.jwk()], "padding": padding}).to_string());
    let slow = JwksServer::start(&client_keys::jwks(&[&key])).await;
    slow.delay(Duration::from_secs(3));
    let broken = JwksServer::start(&client_keys::jwks(&[&key])).await;
    broken.serve("{\"keys\": [{\"kty\": \"EC\", \"d\": \"secret\"}]}".into());
    let clients = vec![
        pkjwt_client("big", None, Some(big.url.clone())),
        pkjwt_client("slow", None, Some(slow.url.clone())),
        pkjwt_client("broken", None, Some(broken.url.clone())),
    ];
    let clock = now_clock();
    let server = clocked_server(&clock, clients, |settings| {
        settings.private_key_jwt.jwks_fetch_timeout_ms = 300;
    })
    .await;
    let assertion =
        |client: &str| key.assertion_with(&claims_at(client, &server.url, clock.now_secs()));
    let reply = token(&server, &assertion("big")).await;
    assert_refused(&reply, 401, "invalid_client", "larger than 65536 bytes");
    let started = std::time::Instant::now();
    let reply = token(&server, &assertion("slow")).await;
    assert_refused(&reply, 401, "invalid_client", "no answer within 300 ms");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the timeout holds"
    );
    let reply = token(&server, &assertion("broken")).await;
    assert_refused(&reply, 401, "invalid_client", "private member `d`");
    // A failed fetch is not retried at once: the next attempt waits for the minute.
    let reply = token(&server, &assertion("slow")).await;
    assert_refused(
        &reply,
        401,
        "invalid_client",
        "at most once every 60 seconds",
    );
    assert_eq!(slow.hits(), 1);
}

#[test]
fn registrations_with_unsafe_keys_are_refused_naming_the_field() {
    let key = ClientKey::es256(Some("k1"));
    let mut private = key.jwk();
    private["d"] = json!("c2VjcmV0");
    type Change = fn(&mut ClientConfig, &Value, &Value);
    let cases: [(Change, &str, &str); 6] = [
        (
            |c, _, _| {
                c.jwks = None;
                c.jwks_uri = Some("http://keys.example.com/jwks.json".into());
            },
            "clients[0].jwks_uri",
            "plain http only on a loopback host",
        ),
        (
            |c, _, private| c.jwks = Some(json!({"keys": [private]})),
            "clients[0].jwks",
            "private member `d`",
        ),
        (
            |c, _, _| c.jwks = Some(json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})),
            "clients[0].jwks",
            "symmetric",
        ),
        (
            |c, jwk, _| {
                c.jwks = Some(json!({"keys": [jwk]}));
                c.jwks_uri = Some("https://keys.example.com/jwks.json".into());
            },
            "clients[0].jwks",
            "not both",
        ),
        (
            |c, _, _| c.jwks = None,
            "clients[0].jwks",
            "needs its public keys",
        ),
        (
            |c, _, _| c.secret = Some("s3cret".to_owned().into()),
            "clients[0].secret",
            "has no secret",
        ),
    ];
    let public = key.jwk();
    for (change, field, says) in cases {
        let mut client = pkjwt_client("c", Some(json!({"keys": [public.clone()]})), None);
        change(&mut client, &public, &private);
        let settings = Settings {
            clients: vec![client],
            ..Settings::default()
        };
        let err = settings.validate().unwrap_err();
        assert_eq!(err.key, field, "{err}");
        assert!(err.message.contains(says), "{err}");
    }
    // Loopback http is fine (local development and these tests).
    let local = pkjwt_client("c", None, Some("http://127.0.0.1:9/jwks.json".into()));
    let settings = Settings {
        clients: vec![local],
        ..Settings::default()
    };
    settings.validate().unwrap();
}
