//! Redis outages: requests that need Redis answer 503 `temporarily_unavailable` (never a hang or
//! a 500) and ferrid recovers by itself when Redis is back; a ferrid started before its Redis
//! reports not-ready with the reason, then becomes ready without a restart.

use std::time::{Duration, Instant};

use crate::common::{http, post_token, service_client, Backend, Options, Reply, TestServer};
use crate::common::{RedisServer, RedisTarget};

const CC: (&str, &str) = ("grant_type", "client_credentials");
const CREDS: Option<(&str, &str)> = Some(("svc", "svc-secret"));

async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_redis_gives_503_and_ferrid_recovers() {
    let server_process = RedisServer::start();
    let target = RedisTarget {
        url: server_process.url(),
        prefix: "ferrid-outage:".into(),
    };
    let options = Options {
        redis: Some(target),
        ..Options::new(Backend::Redis).clients(vec![service_client("svc", &["a"])])
    };
    let server = TestServer::start_with(options, |_| {}).await;
    assert_eq!(post_token(&server, CREDS, &[CC]).await.status, 200);

    server_process.pause();
    let started = Instant::now();
    // A client this instance has not cached: it can only be looked up in Redis. (A cached one
    // is served for up to `store::cached::MAX_AGE` while the pub/sub connection looks alive.)
    let reply = post_token(&server, Some(("other", "other-secret")), &[CC]).await;
    reply.assert_error(503, "temporarily_unavailable");
    assert!(reply.header("retry-after").is_some());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no hang: {:?}",
        started.elapsed()
    );
    let ready = Reply::from(http().get(server.at("/readyz")).send().await.unwrap()).await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready.json["status"], "unavailable");
    assert_ne!(ready.json["checks"]["store"], "ok");
    // Endpoints that need no Redis keep working.
    let jwks = http()
        .get(server.at("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.status(), 200);

    server_process.resume();
    wait_until("tokens are issued again", async || {
        post_token(&server, CREDS, &[CC]).await.status == 200
    })
    .await;
    let ready = Reply::from(http().get(server.at("/readyz")).send().await.unwrap()).await;
    assert_eq!(ready.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferrid_started_before_redis_becomes_ready_by_itself() {
    let mut redis_process = RedisServer::stopped();
    let target = RedisTarget {
        url: redis_process.url(),
        prefix: "ferrid-late:".into(),
    };
    let options = Options {
        redis: Some(target),
        wait_ready: false,
        ..Options::new(Backend::Redis).clients(vec![service_client("svc", &["a"])])
    };
    let options = Options {
        seed_key: false,
        ..options
    };
    let server = TestServer::start_with(options, |_| {}).await;

    let ready = Reply::from(http().get(server.at("/readyz")).send().await.unwrap()).await;
    assert_eq!(ready.status, 503);
    assert_ne!(ready.json["checks"]["store"], "ok");
    assert_ne!(ready.json["checks"]["keys"], "ok");
    post_token(&server, CREDS, &[CC])
        .await
        .assert_error(503, "temporarily_unavailable");
    let jwks = Reply::from(
        http()
            .get(server.at("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(jwks.status, 503);
    assert_eq!(jwks.json["error"], "temporarily_unavailable");
    let discovery = http()
        .get(server.at("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(discovery.status(), 200);

    redis_process.run();
    wait_until("ferrid is ready", async || {
        http()
            .get(server.at("/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert_eq!(post_token(&server, CREDS, &[CC]).await.status, 200);
}
