//! Signing-key rotation as resource servers and operators see it: the next key is in the JWKS
//! a full publication lead before it signs, a token keeps verifying against the served JWKS
//! until its key is removed after the retirement grace, instances on one Redis agree on the
//! signing key with exactly one of them performing each transition, and an emergency rotation
//! replaces the key at once. Time moves by a manual clock; the rotation step is called directly.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{
    http, post_token, service_client, Backend, Options, RedisTarget, Reply, TestServer,
};
use ferrid::bootstrap;
use ferrid::clock::{Clock, ManualClock, SystemClock};
use ferrid::context::Context;
use ferrid::keys::rotation::Step;
use ferrid::keys::schedule::Change;
use ferrid::keys::KeyState;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

const DAY: Duration = Duration::from_secs(86_400);
const CREDS: Option<(&str, &str)> = Some(("svc", "svc-secret"));

/// A server on `backend` whose clock starts at the real now (so tokens are unexpired for the
/// resource server's real clock) and moves only when the test says.
async fn start(
    backend: Backend,
    configure: impl FnOnce(&mut ferrid::config::Settings),
) -> (TestServer, ManualClock) {
    let clock = ManualClock::at_millis(SystemClock.now_millis());
    let options = Options {
        seed_key: false,
        clock: Some(clock.clone()),
        ..Options::new(backend).clients(vec![service_client("svc", &["read"])])
    };
    (TestServer::start_with(options, configure).await, clock)
}

async fn token(server: &TestServer) -> String {
    let reply = post_token(server, CREDS, &[("grant_type", "client_credentials")]).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json["access_token"].as_str().unwrap().to_owned()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

async fn jwks(server: &TestServer) -> Reply {
    Reply::from(
        http()
            .get(server.at("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// Verifies `token` the way a resource server does: the served JWKS, the key named by `kid`,
/// RS256 only, `iss` and `aud`.
async fn verify(server: &TestServer, token: &str) -> Result<Value, String> {
    let jwks = jwks(server).await.json;
    let kid = kid_of(token);
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"] == kid.as_str())
        .ok_or_else(|| format!("no key {kid} in the JWKS"))?;
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&server.url]);
    validation.set_audience(&[&server.url]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|err| err.to_string())
}

async fn step(server: &TestServer) -> Step {
    server
        .ctx
        .keys()
        .rotate_if_due(server.ctx.clock())
        .await
        .unwrap()
}

fn assert_rotated(step: &Step, expected: &[&str]) {
    let Step::Rotated { changes, .. } = step else {
        panic!("expected a rotation, got {step:?}");
    };
    let names: Vec<&str> = changes
        .iter()
        .map(|change| match change {
            Change::Remove { .. } => "remove",
            Change::Activate { .. } => "activate",
            Change::PublishNext => "publish",
        })
        .collect();
    assert_eq!(names, expected);
}

async fn a_token_signed_before_a_rotation_verifies_until_its_key_is_removed(backend: Backend) {
    let (server, clock) = start(backend, |_| {}).await;
    let old = token(&server).await;
    let old_kid = kid_of(&old);
    verify(&server, &old).await.unwrap();

    clock.advance(29 * DAY);
    assert_rotated(&step(&server).await, &["publish"]);
    clock.advance(DAY);
    assert_rotated(&step(&server).await, &["activate"]);
    let new = token(&server).await;
    assert_ne!(
        kid_of(&new),
        old_kid,
        "the new key signs after the rotation"
    );
    verify(&server, &old).await.unwrap();
    verify(&server, &new).await.unwrap();

    // Default grace: access-token lifetime (600 s) + clock skew (60 s) + refresh interval (5 s).
    clock.advance(Duration::from_secs(664));
    assert!(matches!(step(&server).await, Step::Unchanged));
    verify(&server, &old).await.unwrap();
    clock.advance(Duration::from_secs(1));
    assert_rotated(&step(&server).await, &["remove"]);
    let err = verify(&server, &old).await.unwrap_err();
    assert!(err.contains("no key"), "{err}");
    verify(&server, &new).await.unwrap();
}

async fn the_next_key_appears_in_the_jwks_a_full_lead_before_it_signs(backend: Backend) {
    let (server, clock) = start(backend, |_| {}).await;
    let first = jwks(&server).await;
    let max_age = server.ctx.settings().keys.jwks_max_age_secs;
    assert_eq!(
        first.header("cache-control"),
        Some(format!("public, max-age={max_age}").as_str())
    );
    assert!(max_age < server.ctx.settings().keys.publication_lead_secs);
    let active = kids(&first.json);
    assert_eq!(active.len(), 1);

    clock.advance(29 * DAY - Duration::from_secs(1));
    assert!(matches!(step(&server).await, Step::Unchanged));
    assert_eq!(kids(&jwks(&server).await.json), active);

    clock.advance(Duration::from_secs(1));
    assert_rotated(&step(&server).await, &["publish"]);
    let published = jwks(&server).await;
    let all = kids(&published.json);
    assert_eq!(all.len(), 2);
    let next = all
        .iter()
        .find(|kid| !active.contains(kid))
        .unwrap()
        .clone();
    assert_ne!(published.header("etag"), first.header("etag"));
    // A cache revalidating with the old ETag gets the new set, not a 304.
    let stale = http()
        .get(server.at("/.well-known/jwks.json"))
        .header("if-none-match", first.header("etag").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);
    assert_eq!(
        kid_of(&token(&server).await),
        active[0],
        "next does not sign"
    );

    // One second short of the lead: still not signing.
    clock.advance(DAY - Duration::from_secs(1));
    assert!(matches!(step(&server).await, Step::Unchanged));
    assert_eq!(kid_of(&token(&server).await), active[0]);

    clock.advance(Duration::from_secs(1));
    assert_rotated(&step(&server).await, &["activate"]);
    assert_eq!(kid_of(&token(&server).await), next);
    let ring = server.ctx.key_ring().unwrap();
    assert_eq!(ring.active().kid(), next);
    assert_eq!(ring.keys().len(), 2);
}

async fn a_retired_key_disappears_after_its_grace(backend: Backend) {
    let (server, clock) = start(backend, |settings| {
        settings.keys.retirement_grace_secs = Some(7200);
    })
    .await;
    let old = kid_of(&token(&server).await);
    clock.advance(29 * DAY);
    step(&server).await;
    clock.advance(DAY);
    step(&server).await;
    let ring = server.ctx.key_ring().unwrap();
    let retired = ring.keys().iter().find(|key| key.kid() == old).unwrap();
    assert_eq!(retired.state(), KeyState::Retired);

    clock.advance(Duration::from_secs(7199));
    assert!(matches!(step(&server).await, Step::Unchanged));
    assert!(kids(&jwks(&server).await.json).contains(&old));
    clock.advance(Duration::from_secs(1));
    assert_rotated(&step(&server).await, &["remove"]);
    let remaining = kids(&jwks(&server).await.json);
    assert!(!remaining.contains(&old), "{remaining:?}");
    assert_eq!(remaining.len(), 1);
}

async fn emergency_rotation_replaces_the_key_at_once(backend: Backend) {
    let (server, clock) = start(backend, |_| {}).await;
    let keys = server.ctx.keys();
    let before = token(&server).await;
    // A next key is pending; an emergency does not promote it.
    clock.advance(29 * DAY);
    step(&server).await;
    let pending = server
        .ctx
        .key_ring()
        .unwrap()
        .next()
        .unwrap()
        .kid()
        .to_owned();

    keys.rotate_now(false, server.ctx.clock()).await.unwrap();
    let after = token(&server).await;
    assert_ne!(kid_of(&after), kid_of(&before));
    assert_ne!(kid_of(&after), pending);
    let published = kids(&jwks(&server).await.json);
    assert_eq!(published.len(), 2, "{published:?}");
    assert!(!published.contains(&pending));
    verify(&server, &before).await.unwrap();
    verify(&server, &after).await.unwrap();

    keys.rotate_now(true, server.ctx.clock()).await.unwrap();
    let last = token(&server).await;
    assert_eq!(kids(&jwks(&server).await.json), vec![kid_of(&last)]);
    assert!(verify(&server, &before).await.is_err());
    assert!(verify(&server, &after).await.is_err());
    verify(&server, &last).await.unwrap();
}

for_each_backend!(
    a_token_signed_before_a_rotation_verifies_until_its_key_is_removed,
    the_next_key_appears_in_the_jwks_a_full_lead_before_it_signs,
    a_retired_key_disappears_after_its_grace,
    emergency_rotation_replaces_the_key_at_once,
);

on_cluster!(
    a_token_signed_before_a_rotation_verifies_until_its_key_is_removed,
    emergency_rotation_replaces_the_key_at_once,
);

/// Polls (real time, bounded) until `check` holds: for changes travelling between instances.
async fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_on_one_redis_agree_and_exactly_one_performs_each_transition() {
    instances_agree_and_exactly_one_performs_each_transition(RedisTarget::new()).await;
}

/// On a cluster the ring, its lock and its channel share one shard; notices are sharded pub/sub.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_on_one_cluster_agree_and_exactly_one_performs_each_transition() {
    instances_agree_and_exactly_one_performs_each_transition(RedisTarget::cluster()).await;
}

async fn instances_agree_and_exactly_one_performs_each_transition(target: RedisTarget) {
    let clock = ManualClock::at_millis(SystemClock.now_millis());
    let mut settings = ferrid::config::Settings {
        store: target.url.clone(),
        ..Default::default()
    };
    settings.redis.prefix = target.prefix.clone();
    settings.secrets.system = Some(crate::common::SYSTEM_SECRET.to_owned().into());
    // Polling is slow here, so agreement must come from pub/sub notices.
    settings.keys.refresh_interval_secs = 300;
    settings.validate().unwrap();
    let apps: Vec<Arc<Context>> = (0..3)
        .map(|_| bootstrap::build(settings.clone(), Arc::new(clock.clone())).unwrap())
        .collect();
    for app in &apps {
        bootstrap::provision(app).await.unwrap();
        tokio::spawn(bootstrap::maintain_keys(app.clone()));
    }
    let revision = apps[0].key_ring().unwrap().revision();

    for (advance, expected) in [(29 * DAY, "publish"), (DAY, "activate")] {
        clock.advance(advance);
        let steps: Vec<_> = apps
            .iter()
            .cloned()
            .map(|app| tokio::spawn(async move { app.keys().rotate_if_due(app.clock()).await }))
            .collect();
        let mut rotated = 0;
        for step in steps {
            match step.await.unwrap().unwrap() {
                Step::Rotated { changes, .. } => {
                    rotated += 1;
                    assert_eq!(changes.len(), 1);
                    assert_eq!(
                        matches!(changes[0], Change::PublishNext),
                        expected == "publish"
                    );
                }
                Step::Busy | Step::Unchanged => {}
            }
        }
        assert_eq!(rotated, 1, "exactly one instance performs the {expected}");
    }
    let signing = apps
        .iter()
        .find(|app| app.key_ring().unwrap().revision() == revision + 2)
        .unwrap()
        .key_ring()
        .unwrap();
    eventually("every instance has the new ring", || {
        apps.iter()
            .all(|app| app.key_ring().unwrap().revision() == revision + 2)
    })
    .await;
    for app in &apps {
        let ring = app.key_ring().unwrap();
        assert_eq!(ring.active().kid(), signing.active().kid());
        assert_eq!(ring.jwks(), signing.jwks());
        assert_eq!(ring.jwks_etag(), signing.jwks_etag());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_is_picked_up_by_the_periodic_check_without_notices() {
    let (server, clock) = start(Backend::Memory, |settings| {
        settings.keys.refresh_interval_secs = 1;
    })
    .await;
    tokio::spawn(bootstrap::maintain_keys(server.ctx.clone()));
    let before = server.ctx.key_ring().unwrap().active().kid().to_owned();
    // Another process (here: a second instance on the same keys/ directory) rotates.
    let mut settings = server.ctx.settings().clone();
    settings.log.level = "warn".into();
    let other = bootstrap::build(settings, Arc::new(clock.clone())).unwrap();
    bootstrap::provision(&other).await.unwrap();
    other.keys().rotate_now(false, other.clock()).await.unwrap();
    let after = other.key_ring().unwrap().active().kid().to_owned();
    assert_ne!(before, after);
    eventually("the running server signs with the new key", || {
        server.ctx.key_ring().unwrap().active().kid() == after
    })
    .await;
}
