//! ferrid on a master found through Redis Sentinel (one master, one replica, three sentinels on
//! loopback): killing the master during a refresh load makes requests in the failover window
//! answer 503 `temporarily_unavailable` — never another 5xx — and ferrid follows the promoted
//! replica without a restart; key-ring notices resubscribe to the new master; the `WAIT`s of
//! `store.durability` go to the master the writes went to, also after a frozen master comes
//! back as a replica.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::browser::Browser;
use crate::common::grants::{alice, app_client, grant, refresh, text};
use crate::common::sentinel::SentinelGroup;
use crate::common::{Backend, Options, RedisTarget, TestServer};
use ferrid::store::redis::RedisStore;
use ferrid::store::{Notices, Store};

/// What a refresh load saw across a failover.
#[derive(Debug, Default)]
struct Outcome {
    /// Rotations answered 200 before and after the master was killed.
    before: usize,
    after: usize,
    /// 503 `temporarily_unavailable` answers.
    unavailable: usize,
    /// Chains whose last acknowledged token was refused after the failover: a rotation the old
    /// master acknowledged but had not replicated (asynchronous replication).
    lost: usize,
    /// Anything else: never allowed.
    failures: Vec<String>,
    /// The longest any one request took.
    slowest: Duration,
}

/// How the master goes away.
#[derive(Clone, Copy)]
enum Failure {
    /// SIGKILL: connections are refused at once.
    Kill,
    /// SIGSTOP: connections hang, so only timeouts tell.
    Freeze,
}

/// Starts ferrid on `group` (settings adjusted by `configure`), runs `chains` refresh chains,
/// kills (or freezes) the master once each has rotated a few times, and keeps going until every
/// chain has rotated `after` times more on the new master (bounded) or found its last rotation
/// lost; then checks that a new grant and its refresh work. A durability setting goes in
/// `configure`; `lost` is what it must bring to zero.
async fn failover_under_refresh_load(
    group: &mut SentinelGroup,
    failure: Failure,
    configure: impl FnOnce(&mut ferrid::config::Settings),
    chains: usize,
    after: usize,
) -> Outcome {
    let options = Options {
        redis: Some(RedisTarget {
            url: group.url(),
            prefix: "ferrid-failover:".into(),
        }),
        ..Options::new(Backend::Redis).clients(vec![app_client("app")])
    };
    let server = Arc::new(
        TestServer::start_with(options, |settings| {
            settings.users = vec![alice()];
            // A rotation that landed but was answered 503 (the master went away before the
            // request's last write) is retried after the failover: inside the grace window it
            // gets the same successor, so `lost` counts only what replication lost.
            settings.tokens.refresh_token_reuse_grace_secs = 60;
            configure(settings);
        })
        .await,
    );
    let browser = Browser::new();
    let mut tokens = Vec::new();
    for _ in 0..chains {
        let granted = grant(&server, &browser, "app", "openid offline_access").await;
        tokens.push(text(&granted, "refresh_token"));
    }
    let killed = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|first| {
            let server = server.clone();
            let killed = killed.clone();
            tokio::spawn(async move { chain(server, first, killed, after).await })
        })
        .collect();
    // Let the chains run on the first master, then kill it.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let old = group.master_port;
    match failure {
        Failure::Kill => group.kill_master(),
        Failure::Freeze => group.freeze_master(),
    }
    killed.store(true, Ordering::SeqCst);
    let mut outcome = Outcome::default();
    for task in tasks {
        let one = task.await.unwrap();
        outcome.before += one.before;
        outcome.after += one.after;
        outcome.unavailable += one.unavailable;
        outcome.lost += one.lost;
        outcome.failures.extend(one.failures);
        outcome.slowest = outcome.slowest.max(one.slowest);
    }
    // Afterwards everything works, without a restart: a new grant, and a refresh of it.
    let granted = grant(&server, &browser, "app", "openid offline_access").await;
    let reply = refresh(&server, "app", &text(&granted, "refresh_token"), None).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    let promoted = group.current_master_port();
    assert!(
        promoted.is_some_and(|port| group.replica_ports.contains(&port)),
        "{promoted:?}"
    );
    assert_ne!(promoted, Some(old));
    outcome
}

/// One refresh chain: a 503 retries the same token; after the kill, an `invalid_grant` for a
/// token ferrid had acknowledged counts as lost, and the chain ends.
async fn chain(
    server: Arc<TestServer>,
    first: String,
    killed: Arc<AtomicBool>,
    after: usize,
) -> Outcome {
    let mut outcome = Outcome::default();
    let mut current = first;
    let mut master_killed = false;
    let deadline = Instant::now() + Duration::from_secs(45);
    while outcome.after < after {
        if Instant::now() > deadline {
            outcome
                .failures
                .push("ferrid did not follow the failover in time".into());
            break;
        }
        master_killed |= killed.load(Ordering::SeqCst);
        let started = Instant::now();
        let reply = refresh(&server, "app", &current, None).await;
        outcome.slowest = outcome.slowest.max(started.elapsed());
        match reply.status {
            200 => {
                if master_killed && outcome.unavailable > 0 {
                    outcome.after += 1;
                } else {
                    outcome.before += 1;
                }
                current = text(&reply.json, "refresh_token");
            }
            503 if reply.json["error"] == "temporarily_unavailable" => {
                master_killed = true;
                outcome.unavailable += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            400 if master_killed && reply.json["error"] == "invalid_grant" => {
                outcome.lost += 1;
                break;
            }
            status => {
                outcome.failures.push(format!("{status}: {}", reply.json));
                break;
            }
        }
    }
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferrid_follows_a_sentinel_failover_without_restart() {
    let mut group = SentinelGroup::start();
    let outcome = failover_under_refresh_load(&mut group, Failure::Kill, |_| {}, 3, 5).await;
    assert!(outcome.failures.is_empty(), "{outcome:?}");
    assert!(outcome.before > 0, "{outcome:?}");
    assert!(
        outcome.unavailable > 0,
        "the window answers 503: {outcome:?}"
    );
    // Asynchronous replication may lose the rotation acknowledged just before the kill
    // (`outcome.lost`); waiting for a replica before answering is what prevents that.
}

/// With `store.durability = "replicated"`, every rotation ferrid acknowledged before the master
/// died is on a replica: after the failover (to a replica that has a replica of its own, so
/// writes can still be acknowledged) each chain's last token still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_replicated_durability_no_acknowledged_rotation_is_lost() {
    let mut group = SentinelGroup::with_replicas(2);
    let outcome = failover_under_refresh_load(
        &mut group,
        Failure::Kill,
        |settings| settings.store_options.durability = "replicated".into(),
        3,
        5,
    )
    .await;
    assert!(outcome.failures.is_empty(), "{outcome:?}");
    assert!(outcome.before > 0, "{outcome:?}");
    assert_eq!(
        outcome.lost, 0,
        "an acknowledged rotation was lost: {outcome:?}"
    );
}

/// A master that hangs instead of dying is noticed by timeouts: requests still answer 503 within
/// a few seconds, never hang, and ferrid follows the failover.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_master_gives_503_without_hanging_until_the_failover() {
    let mut group = SentinelGroup::start();
    let outcome = failover_under_refresh_load(&mut group, Failure::Freeze, |_| {}, 3, 5).await;
    assert!(outcome.failures.is_empty(), "{outcome:?}");
    assert!(
        outcome.unavailable > 0,
        "the window answers 503: {outcome:?}"
    );
    assert!(
        outcome.slowest < Duration::from_secs(6),
        "a request hung: {outcome:?}"
    );
}

/// Notices subscribe to the master the sentinels name: after a failover, to the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_resubscribe_to_the_new_master() {
    let mut group = SentinelGroup::start();
    let store = RedisStore::connect_lazily(&group.url(), "ferrid-notices:").unwrap();
    let mut notices = store.subscribe("keys:{ring}:changed");
    next(&mut notices).await;
    store.publish("keys:{ring}:changed").await.unwrap();
    next(&mut notices).await;
    group.kill_master();
    // The resubscription to the promoted replica announces itself.
    next(&mut notices).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.publish("keys:{ring}:changed").await.is_err() {
        assert!(Instant::now() < deadline, "publishing never recovered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    while notices.try_recv() {}
    store.publish("keys:{ring}:changed").await.unwrap();
    next(&mut notices).await;
    assert_eq!(group.current_master_port(), Some(group.replica_port));
}

/// The waiters (`store.durability`'s `WAIT` connections) are the held master's own: after a
/// frozen master is failed over and comes back as a replica, the writes go to the new master
/// and so do the `WAIT`s — none is left on the demoted one, where `WAIT` would confirm nothing
/// (Redis refuses it on a replica).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_waits_follow_the_master_the_writes_go_to() {
    let group = SentinelGroup::start();
    let store = RedisStore::connect_lazily(&group.url(), "ferrid-waiters:").unwrap();
    // `store.replica_timeout_ms`'s default (a `WAIT` must end well before the response
    // timeout of the connection it runs on).
    let timeout = Duration::from_millis(250);
    store.put("before", b"1".to_vec(), None).await.unwrap();
    // Every waiter connects to the first master.
    for _ in 0..8 {
        acknowledged(&store, timeout).await;
    }
    group.freeze_master();
    // Writes find the promoted replica (no `WAIT` meanwhile).
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.put("during", b"1".to_vec(), None).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "writes never reached the new master"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(group.current_master_port(), Some(group.replica_port));
    group.thaw_master();
    crate::common::cluster::wait_until("the old master to follow the new one", || {
        let info = crate::common::cluster::cli(group.master_port, &["INFO", "replication"]);
        info.contains("role:slave") && info.contains("master_link_status:up")
    });
    store.put("after", b"1".to_vec(), None).await.unwrap();
    for _ in 0..8 {
        acknowledged(&store, timeout).await;
    }
}

/// One `WAIT` that a replica acknowledges. An error (a waiter on a server that is not the master)
/// fails the test; a `WAIT` that ran out of time on a loaded machine (0 replicas) is tried again,
/// for a few seconds.
async fn acknowledged(store: &RedisStore, timeout: Duration) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while store.wait_for_replicas(1, timeout).await.unwrap() != 1 {
        assert!(Instant::now() < deadline, "no replica acknowledged in time");
    }
}

async fn next(notices: &mut Notices) {
    tokio::time::timeout(Duration::from_secs(30), notices.recv())
        .await
        .expect("a notice in time")
        .expect("the subscription is alive");
}
