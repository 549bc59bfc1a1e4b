//! A Redis that loses its data under running instances (restarted without persistence, failed
//! over to an empty replica, flushed): without a restart, every instance notices, provisions
//! the configured clients and users again, and they write back the one key ring they were
//! signing with. In the meantime requests get 503 `temporarily_unavailable` (or, for a client
//! an instance has cached, a token), never `invalid_client` or a 500. The test flushes a `redis-server` of its own.

use std::time::{Duration, Instant};

use ferrid::bootstrap;
use ferrid::store::keyspace::{KEY_RING, PROVISIONED};
use ferrid::users;

use crate::common::grants::alice;
use crate::common::{
    http, post_token, service_client, Backend, Options, RedisServer, RedisTarget, TestServer,
};

const CREDS: Option<(&str, &str)> = Some(("svc", "svc-secret"));

async fn start(target: RedisTarget) -> TestServer {
    let options = Options {
        redis: Some(target),
        ..Options::new(Backend::Redis).clients(vec![service_client("svc", &["a"])])
    };
    let server = TestServer::start_with(options, |settings| {
        settings.keys.refresh_interval_secs = 1;
        settings.users = vec![alice()];
    })
    .await;
    tokio::spawn(bootstrap::maintain(server.ctx.clone()));
    server
}

/// The `kid` of a client-credentials token, or the status of the one error allowed meanwhile:
/// 503 `temporarily_unavailable`.
async fn token_kid(server: &TestServer) -> Result<String, u16> {
    let reply = post_token(server, CREDS, &[("grant_type", "client_credentials")]).await;
    if reply.status != 200 {
        reply.assert_error(503, "temporarily_unavailable");
        return Err(reply.status);
    }
    let token = reply.json["access_token"].as_str().unwrap();
    Ok(jsonwebtoken::decode_header(token).unwrap().kid.unwrap())
}

async fn ready(server: &TestServer) -> bool {
    http()
        .get(server.at("/readyz"))
        .send()
        .await
        .is_ok_and(|response| response.status() == 200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_provision_a_flushed_redis_again_and_keep_one_key() {
    let redis_process = RedisServer::start();
    let target = RedisTarget {
        url: redis_process.url(),
        prefix: "ferrid-flushed:".into(),
    };
    let (first, second) = (start(target.same()).await, start(target.same()).await);
    let kid = token_kid(&first).await.unwrap();
    assert_eq!(token_kid(&second).await.unwrap(), kid);

    let client = redis::Client::open(target.url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("FLUSHALL")
        .query_async(&mut connection)
        .await
        .unwrap();

    let flushed = Instant::now();
    let deadline = flushed + Duration::from_secs(20);
    let kids = loop {
        let kids = (token_kid(&first).await, token_kid(&second).await);
        if let (Ok(a), Ok(b)) = &kids {
            // Clients an instance has cached still get tokens before it notices the flush, so
            // a token is no sign of recovery: the marker provisioning writes last is.
            let provisioned: bool = redis::cmd("EXISTS")
                .arg(format!("{}{PROVISIONED}", target.prefix))
                .query_async(&mut connection)
                .await
                .unwrap();
            if provisioned && ready(&first).await && ready(&second).await {
                break (a.clone(), b.clone());
            }
        }
        assert!(
            Instant::now() < deadline,
            "not recovered after FLUSHALL: {kids:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(kids.0, kids.1, "both instances sign with one key");
    assert_eq!(
        kids.0, kid,
        "the ring in use is written back: tokens signed before still verify"
    );
    let ring: Option<Vec<u8>> = redis::cmd("GET")
        .arg(format!("{}{KEY_RING}", target.prefix))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(ring.is_some(), "the ring is persisted again");
    assert!(users::find(first.ctx.store(), "alice")
        .await
        .unwrap()
        .is_some());
    assert!(
        flushed.elapsed() < Duration::from_secs(10),
        "{:?}",
        flushed.elapsed()
    );
}
