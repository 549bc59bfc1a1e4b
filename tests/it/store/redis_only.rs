//! What only the Redis store has to show: keys under the prefix, unavailability, and expiry on
//! Redis's own clock.

use std::time::Duration;

use crate::common::RedisTarget;
use ferrid::clock::{Clock, SystemClock};
use ferrid::store::Store;

use ferrid::store::StoreError;

#[tokio::test]
async fn redis_keys_are_namespaced_under_the_prefix() {
    let target = RedisTarget::new();
    let store = target.store();
    store
        .put("client:x", b"1".to_vec(), Some(Duration::from_secs(30)))
        .await
        .unwrap();
    let client = ::redis::Client::open(target.url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let raw: Option<Vec<u8>> = ::redis::cmd("GET")
        .arg(format!("{}client:x", target.prefix))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(raw, Some(b"1".to_vec()));
    let ttl: i64 = ::redis::cmd("PTTL")
        .arg(format!("{}client:x", target.prefix))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!((1..=30_000).contains(&ttl), "ttl {ttl}");
    let unprefixed: Option<Vec<u8>> = ::redis::cmd("GET")
        .arg("client:x")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(unprefixed, None);
}

#[tokio::test]
async fn an_unreachable_redis_is_unavailable() {
    let server = crate::common::RedisServer::stopped();
    let store = ferrid::store::redis::RedisStore::connect_lazily(&server.url(), "p:").unwrap();
    let err = store.get("x").await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn redis_counters_and_capped_indexes_expire() {
    let target = RedisTarget::new();
    let store = target.store();
    let now = SystemClock.now_millis();
    store
        .count_below_limits(&[("hits:{x}", 3)], Duration::from_secs(30), now)
        .await
        .unwrap();
    store
        .put_capped(
            "index:{x}",
            "item:{x}:0",
            b"v".to_vec(),
            Duration::from_secs(30),
            2,
        )
        .await
        .unwrap();
    let client = ::redis::Client::open(target.url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    for key in ["hits:{x}", "index:{x}", "item:{x}:0"] {
        let ttl: i64 = ::redis::cmd("PTTL")
            .arg(format!("{}{key}", target.prefix))
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!((1..=30_000).contains(&ttl), "{key}: ttl {ttl}");
    }
    let index: Vec<String> = ::redis::cmd("LRANGE")
        .arg(format!("{}index:{{x}}", target.prefix))
        .arg(0)
        .arg(-1)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(index, vec![format!("{}item:{{x}}:0", target.prefix)]);
}
