//! ferrid on Redis Cluster beyond the shared suites (`on_cluster!` in the feature modules, the
//! store conformance suite's `cluster` module): a slot migration under a refresh load loses no
//! rotation and answers nothing but 200 or 503; notices follow their channel to a new node; a
//! cluster down at start is 503 until it is up; `rediss+cluster://` works over TLS; a URL or prefix
//! that would break the cluster's hash tags is refused at start-up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::browser::Browser;
use crate::common::cluster::{cli, cluster_url, free_port, RedisCluster, TlsCluster};
use crate::common::grants::{alice, app_client, grant, refresh, text};
use crate::common::{Backend, Options, RedisTarget, TestServer};
use ferrid::config::Settings;
use ferrid::store::redis::RedisStore;
use ferrid::store::{Count, Store, StoreError};
use tokio::sync::Mutex;

/// What a refresh chain saw.
#[derive(Default)]
struct Chain {
    rotations: usize,
    unavailable: usize,
    failures: Vec<String>,
}

/// Refreshes one family in a chain until `stop`: each success moves on to the new token, a 503
/// retries the same token (inside the reuse grace window a retried rotation that did land
/// returns the same successor); anything else is a failure.
async fn refresh_chain(server: Arc<TestServer>, first: String, stop: Instant) -> (Chain, String) {
    let mut chain = Chain::default();
    let mut current = first;
    while Instant::now() < stop {
        let reply = refresh(&server, "app", &current, None).await;
        match reply.status {
            200 => {
                chain.rotations += 1;
                current = text(&reply.json, "refresh_token");
            }
            503 if reply.json["error"] == "temporarily_unavailable" => chain.unavailable += 1,
            status => chain.failures.push(format!("{status}: {}", reply.json)),
        }
    }
    (chain, current)
}

/// The key under `prefix` matching `pattern`, scanning every node of `cluster`.
fn find_key(cluster: &RedisCluster, pattern: &str) -> String {
    cluster
        .ports
        .iter()
        .flat_map(|port| {
            cli(*port, &["--scan", "--pattern", pattern])
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .next()
        .unwrap_or_else(|| panic!("no key matches {pattern}"))
}

/// Moves `slot` from its owner to another node key by key, as `redis-cli --cluster reshard`
/// does (`SETSLOT … IMPORTING/MIGRATING`, `MIGRATE`, `SETSLOT … NODE`), pausing between the
/// steps so that requests meet the `ASK` and `MOVED` windows.
async fn migrate_slot(cluster: &RedisCluster, slot: u16) -> u16 {
    let slot_text = slot.to_string();
    let source = cluster.owner_of(slot);
    let target = *cluster.ports.iter().find(|p| **p != source).unwrap();
    let (source_id, target_id) = (cluster.node_id(source), cluster.node_id(target));
    let ok = |reply: String| assert_eq!(reply.trim(), "OK", "{reply}");
    ok(cli(
        target,
        &["CLUSTER", "SETSLOT", &slot_text, "IMPORTING", &source_id],
    ));
    ok(cli(
        source,
        &["CLUSTER", "SETSLOT", &slot_text, "MIGRATING", &target_id],
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    loop {
        let keys = cli(source, &["CLUSTER", "GETKEYSINSLOT", &slot_text, "10"]);
        let keys: Vec<&str> = keys.lines().filter(|k| !k.is_empty()).collect();
        if keys.is_empty() {
            break;
        }
        for key in keys {
            let reply = cli(
                source,
                &[
                    "MIGRATE",
                    "127.0.0.1",
                    &target.to_string(),
                    key,
                    "0",
                    "5000",
                ],
            );
            assert!(
                matches!(reply.trim(), "OK" | "NOKEY"),
                "MIGRATE {key}: {reply}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for port in [target, source] {
        ok(cli(
            port,
            &["CLUSTER", "SETSLOT", &slot_text, "NODE", &target_id],
        ));
    }
    for port in cluster.ports {
        if port != source && port != target {
            ok(cli(
                port,
                &["CLUSTER", "SETSLOT", &slot_text, "NODE", &target_id],
            ));
        }
    }
    target
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_migration_under_refresh_load_loses_no_rotation() {
    let cluster = RedisCluster::start();
    let target = RedisTarget {
        url: cluster.url(),
        prefix: "ferrid-migration:".into(),
    };
    let options = Options {
        redis: Some(target),
        ..Options::new(Backend::Cluster).clients(vec![app_client("app")])
    };
    let server =
        Arc::new(TestServer::start_with(options, |settings| settings.users = vec![alice()]).await);
    let browser = Browser::new();
    let mut firsts = Vec::new();
    for _ in 0..3 {
        let tokens = grant(&server, &browser, "app", "openid offline_access").await;
        firsts.push(text(&tokens, "refresh_token"));
    }
    // The first family's record is the one whose slot moves.
    let family = find_key(&cluster, "ferrid-migration:refresh-family:*");
    let slot: u16 = cli(cluster.ports[0], &["CLUSTER", "KEYSLOT", &family])
        .trim()
        .parse()
        .unwrap();
    let owner = cluster.owner_of(slot);

    let stop = Instant::now() + Duration::from_secs(6);
    let chains: Vec<_> = firsts
        .into_iter()
        .map(|first| tokio::spawn(refresh_chain(server.clone(), first, stop)))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let new_owner = migrate_slot(&cluster, slot).await;
    assert_ne!(owner, new_owner);

    let mut total = 0;
    for chain in chains {
        let (chain, last) = chain.await.unwrap();
        assert!(
            chain.failures.is_empty(),
            "only 200 and 503 during the migration: {:?}",
            chain.failures
        );
        assert!(chain.rotations > 5, "{} rotations", chain.rotations);
        total += chain.rotations;
        // Nothing was lost: the last token handed out rotates once more.
        let reply = refresh(&server, "app", &last, None).await;
        assert_eq!(reply.status, 200, "{}", reply.json);
    }
    assert_eq!(cluster.owner_of(slot), new_owner);
    assert!(total > 15, "{total} rotations");
    // The load did meet the move: the old owner redirected requests (ASK while the key moved,
    // MOVED after), and ferrid followed them.
    let errors = cli(owner, &["INFO", "errorstats"]);
    assert!(
        errors.contains("errorstat_ASK") || errors.contains("errorstat_MOVED"),
        "no redirection happened: {errors}"
    );
}

/// ferrid starts while its cluster is down (503 meanwhile) and uses it once it is up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_down_at_start_is_unavailable_then_used_without_restart() {
    let ports = [free_port(), free_port(), free_port()];
    let store = RedisStore::connect_lazily(&cluster_url(&ports), "ferrid-late:").unwrap();
    let err = store.get("x").await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));

    let _cluster = RedisCluster::start_on(ports);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match store.put("late:{x}", b"1".to_vec(), None).await {
            Ok(()) => break,
            Err(StoreError::Unavailable(_)) => {
                assert!(Instant::now() < deadline, "the cluster was never used");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(err) => panic!("only unavailability until the cluster is up: {err:?}"),
        }
    }
    assert_eq!(store.get("late:{x}").await.unwrap(), Some(b"1".to_vec()));
    store.ping().await.unwrap();
}

#[test]
fn cluster_and_sentinel_urls_are_checked_at_start_up() {
    let with = |store: &str, prefix: &str| {
        let mut settings = Settings {
            store: store.into(),
            ..Settings::default()
        };
        settings.redis.prefix = prefix.into();
        settings.secrets.system = Some(crate::common::SYSTEM_SECRET.to_owned().into());
        settings.validate()
    };
    with("redis+cluster://127.0.0.1:7000,127.0.0.1:7001/", "ferrid:").unwrap();
    with("redis+sentinel://127.0.0.1:26379/mymaster", "ferrid:").unwrap();
    for store in [
        "redis+cluster://127.0.0.1/",
        "redis+cluster://127.0.0.1:7000/1",
        "redis+sentinel://127.0.0.1:26379",
        "redis+sentinel://127.0.0.1:26379/m/not-a-db",
    ] {
        let err = with(store, "ferrid:").unwrap_err();
        assert_eq!(err.key, "store", "{store}: {err}");
    }
    // A brace in the prefix would become every key's hash tag: one slot for everything, and
    // keys that must share a slot no longer would.
    let err = with("redis+cluster://127.0.0.1:7000/", "ferrid{x}:").unwrap_err();
    assert_eq!(err.key, "redis.prefix", "{err}");
    let err = with("redis://127.0.0.1:6379/", "ferrid{:").unwrap_err();
    assert_eq!(err.key, "redis.prefix", "{err}");
}

/// A subscription on a cluster follows its channel when the channel's slot moves to another
/// node: notices published after the move still arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_follow_their_channel_to_a_new_node() {
    let cluster = RedisCluster::start();
    let store: Arc<dyn Store> =
        Arc::new(RedisStore::connect_lazily(&cluster.url(), "ferrid-notices:").unwrap());
    let notices = Arc::new(Mutex::new(store.subscribe("keys:{ring}:changed")));
    let wait = |notices: Arc<Mutex<ferrid::store::Notices>>| async move {
        tokio::time::timeout(Duration::from_secs(10), notices.lock().await.recv())
            .await
            .expect("a notice in time")
            .expect("the subscription is alive");
    };
    wait(notices.clone()).await;
    store.publish("keys:{ring}:changed").await.unwrap();
    wait(notices.clone()).await;

    let slot: u16 = cli(
        cluster.ports[0],
        &["CLUSTER", "KEYSLOT", "ferrid-notices:keys:{ring}:changed"],
    )
    .trim()
    .parse()
    .unwrap();
    migrate_slot(&cluster, slot).await;
    // The move ends the subscription; ferrid subscribes again at the new owner and says so.
    wait(notices.clone()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    while notices.lock().await.try_recv() {}
    store.publish("keys:{ring}:changed").await.unwrap();
    wait(notices.clone()).await;
}

/// `rediss+cluster://`: every node over TLS, verified against `redis.tls_ca`, including the
/// nodes the client learns of from the cluster itself; scripts and sharded notices work too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_over_tls() {
    let cluster = TlsCluster::start();
    let mut settings = Settings {
        store: cluster.url(),
        ..Settings::default()
    };
    settings.secrets.system = Some(crate::common::SYSTEM_SECRET.to_owned().into());
    settings.redis.tls_ca = Some(cluster.files.ca.clone());
    settings.validate().unwrap();
    let store = RedisStore::connect_lazily_with_tls(
        &settings.store,
        "ferrid-tls:",
        settings.redis.tls_certificates().unwrap(),
    )
    .unwrap();
    let mut notices = store.subscribe("keys:{ring}:changed");
    store.ping().await.unwrap();
    // Keys spread over every shard.
    for i in 0..30 {
        store
            .put(&format!("k:{{{i}}}"), vec![i], None)
            .await
            .unwrap();
    }
    for i in 0..30 {
        assert_eq!(
            store.get(&format!("k:{{{i}}}")).await.unwrap(),
            Some(vec![i])
        );
    }
    let counted = store
        .count_below_limits(
            &[("hits:{a}:u", 2), ("hits:{a}", 3)],
            Duration::from_secs(60),
            1,
        )
        .await
        .unwrap();
    assert_eq!(counted, Count::Counted);
    tokio::time::timeout(Duration::from_secs(10), notices.recv())
        .await
        .unwrap()
        .unwrap();
    store.publish("keys:{ring}:changed").await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), notices.recv())
        .await
        .unwrap()
        .unwrap();

    // Without the CA, the nodes' certificates are not trusted: unavailable, not a crash.
    let untrusted = RedisStore::connect_lazily(&cluster.url(), "ferrid-tls:").unwrap();
    assert!(untrusted.ping().await.is_err());
}
