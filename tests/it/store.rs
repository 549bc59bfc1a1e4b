//! The store conformance suite: one set of behaviours, run against the memory store (with a
//! manual clock) and against Redis (a real server). A behaviour this suite does not pin down is
//! one the two backends may disagree on.

use std::sync::Arc;
use std::time::Duration;

use crate::common::RedisTarget;
use ferrid::clock::{Clock, ManualClock, SystemClock};
use ferrid::store::memory::MemoryStore;
use ferrid::store::registry::{self, Page};
use ferrid::store::{get_json, put_json, update_json, Count, Notices, Store, StoreError};

/// A store under test and a way to let time pass for it.
struct Subject {
    store: Arc<dyn Store>,
    clock: Option<ManualClock>,
    _redis: Option<RedisTarget>,
}

impl Subject {
    fn memory() -> Self {
        let clock = ManualClock::at_millis(1_700_000_000_000);
        Self {
            store: Arc::new(MemoryStore::new(Arc::new(clock.clone()))),
            clock: Some(clock),
            _redis: None,
        }
    }

    fn redis() -> Self {
        Self::on(RedisTarget::new())
    }

    /// On the run's shared three-master Redis Cluster.
    fn cluster() -> Self {
        Self::on(RedisTarget::cluster())
    }

    fn on(target: RedisTarget) -> Self {
        Self {
            store: target.store(),
            clock: None,
            _redis: Some(target),
        }
    }

    /// Moves the manual clock, or waits for Redis's own.
    async fn pass(&self, duration: Duration) {
        match &self.clock {
            Some(clock) => clock.advance(duration),
            None => tokio::time::sleep(duration).await,
        }
    }

    /// The time a caller passes to the counters: the manual clock, or the system's.
    fn now_ms(&self) -> u64 {
        match &self.clock {
            Some(clock) => clock.now_millis(),
            None => SystemClock.now_millis(),
        }
    }
}

async fn put_get_delete(subject: Subject) {
    let store = &subject.store;
    assert_eq!(store.get("k").await.unwrap(), None);
    store.put("k", b"v1".to_vec(), None).await.unwrap();
    assert_eq!(store.get("k").await.unwrap(), Some(b"v1".to_vec()));
    store.put("k", b"v2".to_vec(), None).await.unwrap();
    assert_eq!(store.get("k").await.unwrap(), Some(b"v2".to_vec()));
    assert!(store.delete("k").await.unwrap());
    assert!(!store.delete("k").await.unwrap());
    assert_eq!(store.get("k").await.unwrap(), None);
    store.ping().await.unwrap();
}

async fn entries_expire_after_their_ttl(subject: Subject) {
    let store = &subject.store;
    store
        .put("short", b"x".to_vec(), Some(Duration::from_millis(150)))
        .await
        .unwrap();
    store.put("forever", b"y".to_vec(), None).await.unwrap();
    assert!(store
        .put_new("lock", b"1".to_vec(), Some(Duration::from_millis(150)))
        .await
        .unwrap());
    assert_eq!(store.get("short").await.unwrap(), Some(b"x".to_vec()));
    subject.pass(Duration::from_millis(400)).await;
    assert_eq!(store.get("short").await.unwrap(), None);
    assert_eq!(store.take("short").await.unwrap(), None);
    assert_eq!(store.get("forever").await.unwrap(), Some(b"y".to_vec()));
    // An expired entry no longer blocks put_new.
    assert!(store.put_new("lock", b"2".to_vec(), None).await.unwrap());
}

async fn take_is_single_use_under_concurrency(subject: Subject) {
    for round in 0..5 {
        let key = format!("code-{round}");
        subject
            .store
            .put(&key, b"secret".to_vec(), Some(Duration::from_secs(60)))
            .await
            .unwrap();
        let takers: Vec<_> = (0..16)
            .map(|_| {
                let store = subject.store.clone();
                let key = key.clone();
                tokio::spawn(async move { store.take(&key).await.unwrap() })
            })
            .collect();
        let mut winners = 0;
        for taker in takers {
            if let Some(value) = taker.await.unwrap() {
                assert_eq!(value, b"secret");
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "exactly one concurrent take wins");
        assert_eq!(subject.store.get(&key).await.unwrap(), None);
    }
}

async fn swap_returns_the_previous_value_to_exactly_one_caller(subject: Subject) {
    subject
        .store
        .put("code", b"fresh".to_vec(), Some(Duration::from_secs(60)))
        .await
        .unwrap();
    let swappers: Vec<_> = (0..16u8)
        .map(|i| {
            let store = subject.store.clone();
            tokio::spawn(async move {
                store
                    .swap("code", vec![i], Some(Duration::from_secs(60)))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut fresh = 0;
    for swapper in swappers {
        if swapper.await.unwrap().as_deref() == Some(b"fresh".as_slice()) {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1, "exactly one swap sees the original value");
    assert_eq!(
        subject
            .store
            .swap("absent", b"x".to_vec(), None)
            .await
            .unwrap(),
        None
    );
    subject
        .store
        .put("short", b"old".to_vec(), Some(Duration::from_millis(150)))
        .await
        .unwrap();
    subject.pass(Duration::from_millis(400)).await;
    assert_eq!(
        subject
            .store
            .swap("short", b"new".to_vec(), None)
            .await
            .unwrap(),
        None,
        "expired values are not returned"
    );
    assert_eq!(
        subject.store.get("short").await.unwrap(),
        Some(b"new".to_vec())
    );
}

async fn compare_and_swap_has_exactly_one_winner(subject: Subject) {
    subject
        .store
        .put("rt", b"active".to_vec(), Some(Duration::from_secs(60)))
        .await
        .unwrap();
    let swappers: Vec<_> = (0..16u8)
        .map(|i| {
            let store = subject.store.clone();
            tokio::spawn(async move {
                store
                    .compare_and_swap("rt", b"active", vec![i], Some(Duration::from_secs(60)))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = 0;
    for swapper in swappers {
        if swapper.await.unwrap() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    assert_ne!(
        subject.store.get("rt").await.unwrap(),
        Some(b"active".to_vec())
    );
    assert!(!subject
        .store
        .compare_and_swap("absent", b"x", b"y".to_vec(), None)
        .await
        .unwrap());
    assert_eq!(subject.store.get("absent").await.unwrap(), None);
    subject
        .store
        .put("forever", b"a".to_vec(), None)
        .await
        .unwrap();
    assert!(subject
        .store
        .compare_and_swap("forever", b"a", b"b".to_vec(), None)
        .await
        .unwrap());
    assert_eq!(
        subject.store.get("forever").await.unwrap(),
        Some(b"b".to_vec())
    );
}

async fn put_new_has_exactly_one_winner(subject: Subject) {
    let writers: Vec<_> = (0..16u8)
        .map(|i| {
            let store = subject.store.clone();
            tokio::spawn(async move { (i, store.put_new("ring", vec![i], None).await.unwrap()) })
        })
        .collect();
    let mut winner = None;
    for writer in writers {
        let (i, won) = writer.await.unwrap();
        if won {
            assert!(winner.is_none(), "two writers won");
            winner = Some(i);
        }
    }
    let winner = winner.expect("one writer wins");
    assert_eq!(subject.store.get("ring").await.unwrap(), Some(vec![winner]));
}

async fn concurrent_writers_to_distinct_keys_all_land(subject: Subject) {
    let writers: Vec<_> = (0..64u32)
        .map(|i| {
            let store = subject.store.clone();
            tokio::spawn(async move {
                store
                    .put(&format!("w:{i}"), i.to_be_bytes().to_vec(), None)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    for i in 0..64u32 {
        assert_eq!(
            subject.store.get(&format!("w:{i}")).await.unwrap(),
            Some(i.to_be_bytes().to_vec())
        );
    }
}

async fn concurrent_json_updates_lose_nothing(subject: Subject) {
    // 32 writers append to one list at once, the first of them creating it.
    let writers: Vec<_> = (0..32u32)
        .map(|i| {
            let store = subject.store.clone();
            tokio::spawn(async move {
                update_json(
                    store.as_ref(),
                    "list",
                    |_: &Vec<u32>| None,
                    |list: Option<Vec<u32>>| {
                        let mut list = list.unwrap_or_default();
                        list.push(i);
                        Some(list)
                    },
                )
                .await
                .unwrap()
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let mut list: Vec<u32> = get_json(subject.store.as_ref(), "list")
        .await
        .unwrap()
        .unwrap();
    list.sort_unstable();
    assert_eq!(list, (0..32).collect::<Vec<_>>());

    // Declining to change writes nothing; a missing value stays missing.
    let unchanged = update_json(
        subject.store.as_ref(),
        "absent",
        |_: &Vec<u32>| None,
        |_: Option<Vec<u32>>| None,
    )
    .await
    .unwrap();
    assert_eq!(unchanged, None);
    assert_eq!(subject.store.get("absent").await.unwrap(), None);
}

async fn json_round_trips_and_corruption_is_reported(subject: Subject) {
    let store = subject.store.as_ref();
    put_json(store, "j", &serde_json::json!({"a": 1}), None)
        .await
        .unwrap();
    let value: Option<serde_json::Value> = get_json(store, "j").await.unwrap();
    assert_eq!(value.unwrap()["a"], 1);
    store.put("bad", b"{not json".to_vec(), None).await.unwrap();
    let err = get_json::<serde_json::Value>(store, "bad")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
}

async fn delete_if_deletes_only_the_expected_value(subject: Subject) {
    let store = &subject.store;
    store
        .put("lock", b"mine".to_vec(), Some(Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(!store.delete_if("lock", b"theirs").await.unwrap());
    assert_eq!(store.get("lock").await.unwrap(), Some(b"mine".to_vec()));
    assert!(store.delete_if("lock", b"mine").await.unwrap());
    assert_eq!(store.get("lock").await.unwrap(), None);
    assert!(!store.delete_if("lock", b"mine").await.unwrap());
}

async fn indexes_list_members_in_byte_order_page_by_page(subject: Subject) {
    let store = &subject.store;
    assert!(store.index_range("idx", None, 10).await.unwrap().is_empty());
    for member in ["b", "a", "c", "B", "a:1", "odd id", "a"] {
        store.index_add("idx", member).await.unwrap();
    }
    let all = store.index_range("idx", None, 100).await.unwrap();
    assert_eq!(all, ["B", "a", "a:1", "b", "c", "odd id"]);
    assert_eq!(store.index_range("idx", None, 2).await.unwrap(), ["B", "a"]);
    assert_eq!(
        store.index_range("idx", Some("a"), 2).await.unwrap(),
        ["a:1", "b"]
    );
    // A cursor need not be a member: listing resumes after where it would sort.
    assert_eq!(
        store.index_range("idx", Some("bb"), 10).await.unwrap(),
        ["c", "odd id"]
    );
    assert!(store.index_remove("idx", "b").await.unwrap());
    assert!(!store.index_remove("idx", "b").await.unwrap());
    assert!(!store.index_remove("elsewhere", "b").await.unwrap());
    assert_eq!(
        store.index_range("idx", Some("a:1"), 1).await.unwrap(),
        ["c"]
    );
    // DEL removes an index like any key.
    assert!(store.delete("idx").await.unwrap());
    assert!(store.index_range("idx", None, 10).await.unwrap().is_empty());
}

async fn expiring_sets_drop_members_at_their_end(subject: Subject) {
    let store = &subject.store;
    let now = 1_700_000_000;
    assert!(store.set_members("set", now).await.unwrap().is_empty());
    store.set_add("set", "a", now + 100, now).await.unwrap();
    store.set_add("set", "b", now + 10, now).await.unwrap();
    store.set_add("set", "c", now + 50, now).await.unwrap();
    let mut members = store.set_members("set", now).await.unwrap();
    members.sort();
    assert_eq!(members, ["a", "b", "c"]);
    let mut later = store.set_members("set", now + 10).await.unwrap();
    later.sort();
    assert_eq!(later, ["a", "c"], "a member ends at its end");
    // Adding again moves a member's end.
    store
        .set_add("set", "b", now + 200, now + 20)
        .await
        .unwrap();
    let mut moved = store.set_members("set", now + 150).await.unwrap();
    moved.sort();
    assert_eq!(moved, ["b"]);
    assert!(store
        .set_members("set", now + 300)
        .await
        .unwrap()
        .is_empty());
    store.set_add("other", "x", now + 100, now).await.unwrap();
    assert!(store.delete("other").await.unwrap());
    assert!(store.set_members("other", now).await.unwrap().is_empty());
}

async fn registry_creates_once_and_repairs_its_index(subject: Subject) {
    let store = subject.store.as_ref();
    let key = |id: &str| format!("rec:{{{id}}}");
    for id in ["a", "b", "c", "d", "e"] {
        let created = registry::create(
            store,
            "recs",
            id,
            &key(id),
            format!("\"{id}\"").into_bytes(),
        )
        .await
        .unwrap();
        assert!(created);
    }
    // A duplicate id is a conflict, never an overwrite.
    assert!(
        !registry::create(store, "recs", "c", &key("c"), b"\"other\"".to_vec())
            .await
            .unwrap()
    );
    assert_eq!(store.get(&key("c")).await.unwrap(), Some(b"\"c\"".to_vec()));
    // A record deleted behind the index's back (a crash between the two steps) is skipped,
    // the page filled from further ids, and the stale id unlisted.
    store.delete(&key("b")).await.unwrap();
    let first: Page<String> = registry::page(store, "recs", None, 2, key).await.unwrap();
    assert_eq!(first.items, ["a", "c"]);
    assert_eq!(first.next.as_deref(), Some("c"));
    let second: Page<String> = registry::page(store, "recs", first.next.as_deref(), 2, key)
        .await
        .unwrap();
    assert_eq!(second.items, ["d", "e"]);
    let last: Page<String> = registry::page(store, "recs", second.next.as_deref(), 2, key)
        .await
        .unwrap();
    assert!(last.items.is_empty() && last.next.is_none());
    assert_eq!(
        store.index_range("recs", None, 10).await.unwrap(),
        ["a", "c", "d", "e"],
        "the stale id is repaired"
    );
    let taken = registry::take(store, "recs", "d", &key("d")).await.unwrap();
    assert_eq!(taken, Some(b"\"d\"".to_vec()));
    let rest: Page<String> = registry::page(store, "recs", None, 10, key).await.unwrap();
    assert_eq!(rest.items, ["a", "c", "e"]);
    assert_eq!(rest.next, None);
}

async fn concurrent_creations_are_all_listed(subject: Subject) {
    let key = |id: &str| format!("rec:{{{id}}}");
    let writers: Vec<_> = (0..24)
        .map(|i| {
            let store = subject.store.clone();
            tokio::spawn(async move {
                let id = format!("id-{i:02}");
                registry::create(store.as_ref(), "many", &id, &key(&id), b"1".to_vec())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let store = subject.store.clone();
            tokio::spawn(async move {
                let _: Page<u8> = registry::page(store.as_ref(), "many", None, 200, key)
                    .await
                    .unwrap();
            })
        })
        .collect();
    for writer in writers {
        assert!(writer.await.unwrap());
    }
    for reader in readers {
        reader.await.unwrap();
    }
    let page: Page<u8> = registry::page(subject.store.as_ref(), "many", None, 200, key)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 24);
}

/// The next notice, within a bounded real-time wait (Redis delivers them asynchronously).
async fn wait(notices: &mut Notices) {
    tokio::time::timeout(Duration::from_secs(10), notices.recv())
        .await
        .expect("a notice arrives")
        .expect("the subscription is open");
}

async fn published_notices_reach_every_subscriber(subject: Subject) {
    let store = &subject.store;
    let mut first = store.subscribe("changes");
    let mut second = store.subscribe("changes");
    let mut other = store.subscribe("elsewhere");
    // Every subscription starts with a notice once it is established.
    wait(&mut first).await;
    wait(&mut second).await;
    wait(&mut other).await;
    store.publish("changes").await.unwrap();
    wait(&mut first).await;
    wait(&mut second).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!other.try_recv(), "another channel's notice");
}

const WINDOW: Duration = Duration::from_secs(60);

async fn counters_count_up_to_their_limits_together(subject: Subject) {
    let store = &subject.store;
    let now = subject.now_ms();
    let pair = [("hits:{a}:user", 2), ("hits:{a}", 3)];
    for _ in 0..2 {
        assert_eq!(
            store.count_below_limits(&pair, WINDOW, now).await.unwrap(),
            Count::Counted
        );
    }
    // The first counter is full: nothing is counted, not even the second.
    let Count::Full { retry_after } = store.count_below_limits(&pair, WINDOW, now).await.unwrap()
    else {
        panic!("the first counter is at its limit");
    };
    assert_eq!(retry_after, WINDOW);
    assert_eq!(
        store.get("hits:{a}").await.unwrap(),
        Some(format!("2:{}", now + 60_000).into_bytes())
    );
    // The second counter alone still has room for one.
    let single = [("hits:{a}", 3)];
    assert_eq!(
        store
            .count_below_limits(&single, WINDOW, now + 1000)
            .await
            .unwrap(),
        Count::Counted
    );
    assert_eq!(
        store
            .count_below_limits(&single, WINDOW, now + 1000)
            .await
            .unwrap(),
        Count::Full {
            retry_after: Duration::from_secs(59)
        },
        "a window runs from the counter's first count"
    );
    // Once the window has passed on the caller's clock, counting starts again.
    assert_eq!(
        store
            .count_below_limits(&pair, WINDOW, now + 60_000)
            .await
            .unwrap(),
        Count::Counted
    );
    assert_eq!(
        store.get("hits:{a}:user").await.unwrap(),
        Some(format!("1:{}", now + 120_000).into_bytes())
    );
}

async fn counter_records_expire_with_their_window(subject: Subject) {
    let store = &subject.store;
    let counter = [("hits:{b}", 5)];
    let window = Duration::from_millis(150);
    let now = subject.now_ms();
    store
        .count_below_limits(&counter, window, now)
        .await
        .unwrap();
    assert!(store.get("hits:{b}").await.unwrap().is_some());
    subject.pass(Duration::from_millis(400)).await;
    assert_eq!(store.get("hits:{b}").await.unwrap(), None);
}

async fn uncount_gives_counts_back_and_keeps_the_window(subject: Subject) {
    let store = &subject.store;
    let now = subject.now_ms();
    let pair = [("hits:{c}:user", 2), ("hits:{c}", 10)];
    for _ in 0..2 {
        store.count_below_limits(&pair, WINDOW, now).await.unwrap();
    }
    store.uncount(&["hits:{c}:user", "hits:{c}"]).await.unwrap();
    let ends = now + 60_000;
    assert_eq!(
        store.get("hits:{c}").await.unwrap(),
        Some(format!("1:{ends}").into_bytes())
    );
    assert_eq!(
        store
            .count_below_limits(&pair, WINDOW, now + 30_000)
            .await
            .unwrap(),
        Count::Counted
    );
    assert_eq!(
        store.get("hits:{c}:user").await.unwrap(),
        Some(format!("2:{ends}").into_bytes()),
        "the window did not move"
    );
    store.uncount(&["hits:{c}:user"]).await.unwrap();
    store.uncount(&["hits:{c}:user"]).await.unwrap();
    assert_eq!(
        store.get("hits:{c}:user").await.unwrap(),
        None,
        "deleted at zero"
    );
    // Absent counters stay absent (no negative counts).
    store
        .uncount(&["hits:{c}:user", "hits:{c}:none"])
        .await
        .unwrap();
    assert_eq!(store.get("hits:{c}:user").await.unwrap(), None);
    assert_eq!(store.get("hits:{c}:none").await.unwrap(), None);
}

async fn counters_admit_exactly_their_limit_under_concurrency(subject: Subject) {
    let now = subject.now_ms();
    let counters: Vec<_> = (0..32)
        .map(|_| {
            let store = subject.store.clone();
            tokio::spawn(async move {
                store
                    .count_below_limits(&[("hits:{d}:user", 10), ("hits:{d}", 100)], WINDOW, now)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut counted = 0;
    for counter in counters {
        if counter.await.unwrap() == Count::Counted {
            counted += 1;
        }
    }
    assert_eq!(counted, 10);
    assert_eq!(
        subject.store.get("hits:{d}").await.unwrap(),
        Some(format!("10:{}", now + 60_000).into_bytes())
    );
}

async fn put_capped_evicts_the_oldest_beyond_the_cap(subject: Subject) {
    let store = &subject.store;
    let ttl = Duration::from_secs(60);
    let put = async |index: &str, key: &str| {
        store
            .put_capped(index, key, key.as_bytes().to_vec(), ttl, 3)
            .await
            .unwrap()
    };
    let live = async |key: &str| store.get(key).await.unwrap().is_some();
    for i in 0..5 {
        put("index:{e}", &format!("item:{{e}}:{i}")).await;
    }
    put("index:{f}", "item:{f}:0").await;
    assert!(
        !live("item:{e}:0").await && !live("item:{e}:1").await,
        "the oldest are evicted"
    );
    for i in 2..5 {
        assert_eq!(
            store.get(&format!("item:{{e}}:{i}")).await.unwrap(),
            Some(format!("item:{{e}}:{i}").into_bytes())
        );
    }
    assert!(live("item:{f}:0").await, "another index is unaffected");
    // A key deleted through its index gives its place back: the oldest live one stays.
    assert!(store
        .delete_capped("index:{e}", "item:{e}:3")
        .await
        .unwrap());
    assert!(!live("item:{e}:3").await);
    assert!(!store
        .delete_capped("index:{e}", "item:{e}:3")
        .await
        .unwrap());
    put("index:{e}", "item:{e}:5").await;
    for i in [2, 4, 5] {
        assert!(live(&format!("item:{{e}}:{i}")).await, "item {i}");
    }
    put("index:{e}", "item:{e}:6").await;
    assert!(!live("item:{e}:2").await);
    for i in [4, 5, 6] {
        assert!(live(&format!("item:{{e}}:{i}")).await, "item {i}");
    }
}

async fn put_capped_values_expire_and_give_their_places_back(subject: Subject) {
    let store = &subject.store;
    let short = Duration::from_millis(150);
    for key in ["item:{g}:0", "item:{g}:1"] {
        store
            .put_capped("index:{g}", key, b"x".to_vec(), short, 3)
            .await
            .unwrap();
    }
    assert_eq!(store.get("item:{g}:0").await.unwrap(), Some(b"x".to_vec()));
    subject.pass(Duration::from_millis(400)).await;
    assert_eq!(store.get("item:{g}:0").await.unwrap(), None);
    for i in 2..5 {
        let key = format!("item:{{g}}:{i}");
        store
            .put_capped("index:{g}", &key, b"y".to_vec(), Duration::from_secs(60), 3)
            .await
            .unwrap();
    }
    for i in 2..5 {
        let key = format!("item:{{g}}:{i}");
        assert_eq!(store.get(&key).await.unwrap(), Some(b"y".to_vec()), "{key}");
    }
}

async fn put_capped_keeps_exactly_the_cap_under_concurrency(subject: Subject) {
    let writers: Vec<_> = (0..32)
        .map(|i| {
            let store = subject.store.clone();
            tokio::spawn(async move {
                let key = format!("item:{{h}}:{i}");
                store
                    .put_capped("index:{h}", &key, vec![1], Duration::from_secs(60), 5)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let mut live = 0;
    for i in 0..32 {
        if subject
            .store
            .get(&format!("item:{{h}}:{i}"))
            .await
            .unwrap()
            .is_some()
        {
            live += 1;
        }
    }
    assert_eq!(live, 5);
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(super::Subject::memory()).await })*
        }
        mod redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(super::Subject::redis()).await })*
        }
        mod cluster {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(super::Subject::cluster()).await })*
        }
    };
}

suite!(
    put_get_delete,
    entries_expire_after_their_ttl,
    take_is_single_use_under_concurrency,
    put_new_has_exactly_one_winner,
    compare_and_swap_has_exactly_one_winner,
    swap_returns_the_previous_value_to_exactly_one_caller,
    concurrent_writers_to_distinct_keys_all_land,
    concurrent_json_updates_lose_nothing,
    json_round_trips_and_corruption_is_reported,
    delete_if_deletes_only_the_expected_value,
    published_notices_reach_every_subscriber,
    counters_count_up_to_their_limits_together,
    counter_records_expire_with_their_window,
    uncount_gives_counts_back_and_keeps_the_window,
    counters_admit_exactly_their_limit_under_concurrency,
    put_capped_evicts_the_oldest_beyond_the_cap,
    put_capped_values_expire_and_give_their_places_back,
    put_capped_keeps_exactly_the_cap_under_concurrency,
    indexes_list_members_in_byte_order_page_by_page,
    expiring_sets_drop_members_at_their_end,
    registry_creates_once_and_repairs_its_index,
    concurrent_creations_are_all_listed,
);

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
