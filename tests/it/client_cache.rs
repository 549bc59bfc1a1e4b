//! The in-process client cache of the Redis store (`store::cached`), from outside: every
//! instance sharing a Redis serves a changed or deleted client no more after the change's
//! notice arrives — within a second —, an unknown client id is never cached, and while the
//! pub/sub subscription is down every lookup reads Redis. "Behind its back" writes go to Redis
//! through a plain `RedisStore`, which publishes nothing: what an instance answers after one
//! tells whether it answered from its cache.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrid::admin::{self, Actor};
use ferrid::clock::SystemClock;
use ferrid::oauth::clients::ClientMetadata;
use ferrid::store::cached::CachedStore;
use ferrid::store::keyspace;
use ferrid::store::{SharedStore, Store};

use crate::common::{
    http, post_token, service_client, Backend, Options, RedisServer, RedisTarget, Reply, TestServer,
};

/// What an instance must see of a change made elsewhere, at the latest.
const WITHIN: Duration = Duration::from_secs(1);
const BEHIND_ITS_BACK: &[u8] = b"written without a notice";

/// Waits until `check` holds, failing after `limit`.
async fn within(limit: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// An instance's store: Redis with the client cache, as `bootstrap` builds it.
fn instance(target: &RedisTarget) -> SharedStore {
    CachedStore::wrap(target.store(), Arc::new(SystemClock))
}

/// Makes `store` cache `value` under `key`: written through `store` (which drops what it
/// cached), read through it (kept once its subscription is established), then overwritten
/// behind its back — until `store` still answers `value`, which only its cache can. Redis holds
/// `BEHIND_ITS_BACK` afterwards.
async fn cache(store: &dyn Store, raw: &dyn Store, key: &str, value: &[u8]) {
    within(Duration::from_secs(10), "the value is cached", async || {
        store.put(key, value.to_vec(), None).await.unwrap();
        store.get(key).await.unwrap();
        raw.put(key, BEHIND_ITS_BACK.to_vec(), None).await.unwrap();
        store.get(key).await.unwrap().as_deref() == Some(value)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_written_by_another_instance_is_dropped_from_every_cache() {
    let target = RedisTarget::new();
    let (a, b, raw) = (instance(&target), instance(&target), target.store());
    let key = keyspace::client("x");

    cache(a.as_ref(), raw.as_ref(), &key, b"v1").await;
    b.put(&key, b"v2".to_vec(), None).await.unwrap();
    within(WITHIN, "a change is seen", async || {
        a.get(&key).await.unwrap().as_deref() == Some(b"v2".as_slice())
    })
    .await;

    cache(a.as_ref(), raw.as_ref(), &key, b"v3").await;
    assert!(b.take(&key).await.unwrap().is_some());
    within(WITHIN, "a deletion is seen", async || {
        a.get(&key).await.unwrap().is_none()
    })
    .await;

    // The instance that writes sees its own write at once, without waiting for the notice.
    cache(a.as_ref(), raw.as_ref(), &key, b"v4").await;
    a.put(&key, b"v5".to_vec(), None).await.unwrap();
    assert_eq!(
        a.get(&key).await.unwrap().as_deref(),
        Some(b"v5".as_slice())
    );
    cache(a.as_ref(), raw.as_ref(), &key, b"v6").await;
    assert!(a.take(&key).await.unwrap().is_some());
    assert_eq!(a.get(&key).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_client_id_is_never_cached() {
    let target = RedisTarget::new();
    let (a, raw) = (instance(&target), target.store());
    // The subscription is established: whatever `a` finds now, it may keep.
    cache(a.as_ref(), raw.as_ref(), &keyspace::client("known"), b"v").await;
    let unknown = keyspace::client("not-yet");
    for _ in 0..3 {
        assert_eq!(a.get(&unknown).await.unwrap(), None);
    }
    raw.put(&unknown, b"registered".to_vec(), None)
        .await
        .unwrap();
    assert_eq!(
        a.get(&unknown).await.unwrap().as_deref(),
        Some(b"registered".as_slice()),
        "found as soon as it exists, even without a notice"
    );
}

/// Runs `args` on `redis` as an operator would with `redis-cli`.
async fn command(redis: &RedisServer, args: &[&str]) {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let _: redis::Value = redis::cmd(args[0])
        .arg(&args[1..])
        .query_async(&mut connection)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_subscription_is_down_every_lookup_reads_redis() {
    let redis = RedisServer::start();
    let target = RedisTarget {
        url: redis.url(),
        prefix: "ferrid-cache:".into(),
    };
    let (a, raw) = (instance(&target), target.store());
    let key = keyspace::client("x");
    cache(a.as_ref(), raw.as_ref(), &key, b"v1").await;

    // Subscriptions are refused from now on, and the one `a` holds is cut: notices published
    // meanwhile would be lost, so `a` must not trust what it cached.
    command(&redis, &["ACL", "SETUSER", "default", "-subscribe"]).await;
    command(&redis, &["CLIENT", "KILL", "TYPE", "pubsub"]).await;
    within(WITHIN, "the cache is bypassed", async || {
        a.get(&key).await.unwrap().as_deref() == Some(BEHIND_ITS_BACK)
    })
    .await;
    for value in [b"v2".as_slice(), b"v3".as_slice()] {
        raw.put(&key, value.to_vec(), None).await.unwrap();
        assert_eq!(
            a.get(&key).await.unwrap().as_deref(),
            Some(value),
            "read from Redis every time"
        );
    }

    // Subscribed again: cached again, and a notice still drops it.
    command(&redis, &["ACL", "SETUSER", "default", "+subscribe"]).await;
    cache(a.as_ref(), raw.as_ref(), &key, b"v4").await;
    instance(&target)
        .put(&key, b"v5".to_vec(), None)
        .await
        .unwrap();
    within(WITHIN, "a change is seen", async || {
        a.get(&key).await.unwrap().as_deref() == Some(b"v5".as_slice())
    })
    .await;
}

/// Two servers on one Redis; scopes `a` and `b` are in the catalog.
async fn two_instances() -> (TestServer, TestServer) {
    let target = RedisTarget::new();
    let start = async |target: RedisTarget| {
        let options = Options {
            redis: Some(target),
            ..Options::new(Backend::Redis).clients(vec![service_client("svc", &["a", "b"])])
        };
        TestServer::start_with(options, |_| {}).await
    };
    let (a, b) = (start(target.same()).await, start(target).await);
    // Serving starts by building the routes (slow in a debug build): wait for it before the
    // test talks to the store with the default timeout.
    for server in [&a, &b] {
        let ready = http().get(server.at("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
    }
    (a, b)
}

fn metadata(scope: &str) -> ClientMetadata {
    ClientMetadata {
        client_name: Some("Cached".into()),
        grant_types: Some(vec!["client_credentials".into()]),
        scope: Some(scope.into()),
        ..ClientMetadata::default()
    }
}

async fn token(server: &TestServer, secret: &str, scope: &str) -> Reply {
    post_token(
        server,
        Some(("x", secret)),
        &[("grant_type", "client_credentials"), ("scope", scope)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instance_refuses_a_rotated_secret_a_narrowed_scope_and_a_deleted_client() {
    let (a, b) = two_instances().await;
    let admin = Actor::cli();
    let created = admin::clients::create(&b.ctx, &admin, Some("x".into()), &metadata("a b"))
        .await
        .unwrap();
    let first = created.client_secret.unwrap().expose().to_owned();
    for _ in 0..3 {
        assert_eq!(token(&a, &first, "b").await.status, 200);
    }

    let rotated = admin::clients::rotate_secret(&b.ctx, &admin, "x")
        .await
        .unwrap();
    let second = rotated.client_secret.unwrap().expose().to_owned();
    within(WITHIN, "the old secret is refused", async || {
        let reply = token(&a, &first, "b").await;
        reply.status == 401 && reply.json["error"] == "invalid_client"
    })
    .await;
    assert_eq!(token(&a, &second, "b").await.status, 200);

    admin::clients::replace(&b.ctx, &admin, "x", &metadata("a"))
        .await
        .unwrap();
    within(WITHIN, "the removed scope is refused", async || {
        let reply = token(&a, &second, "b").await;
        reply.status == 400 && reply.json["error"] == "invalid_scope"
    })
    .await;
    assert_eq!(token(&a, &second, "a").await.status, 200);

    admin::clients::delete(&b.ctx, &admin, "x").await.unwrap();
    within(WITHIN, "the deleted client is refused", async || {
        let reply = token(&a, &second, "a").await;
        reply.status == 401 && reply.json["error"] == "invalid_client"
    })
    .await;
}

/// The status of `/authorize` for public client `spa` sending people back to `redirect_uri`.
async fn authorize(server: &TestServer, redirect_uri: &str) -> u16 {
    let response = http()
        .get(server.at("/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", "spa"),
            ("redirect_uri", redirect_uri),
            ("scope", "openid"),
            ("state", "s"),
            ("code_challenge", &"E".repeat(43)),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instance_follows_a_changed_redirect_uri() {
    let (a, b) = two_instances().await;
    let admin = Actor::cli();
    let spa = |uri: &str| ClientMetadata {
        redirect_uris: vec![uri.into()],
        token_endpoint_auth_method: Some("none".into()),
        scope: Some("openid".into()),
        ..ClientMetadata::default()
    };
    let (old, new) = ("http://127.0.0.1:9/old", "http://127.0.0.1:9/new");
    admin::clients::create(&b.ctx, &admin, Some("spa".into()), &spa(old))
        .await
        .unwrap();
    for _ in 0..3 {
        assert_ne!(authorize(&a, old).await, 400, "registered");
    }
    assert_eq!(authorize(&a, new).await, 400, "not registered (yet)");

    admin::clients::replace(&b.ctx, &admin, "spa", &spa(new))
        .await
        .unwrap();
    within(WITHIN, "the old redirect URI is refused", async || {
        authorize(&a, old).await == 400
    })
    .await;
    assert_ne!(authorize(&a, new).await, 400);
}
