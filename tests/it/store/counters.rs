//! Windowed counters (login throttling, open registrations): limits together, expiry,
//! giving counts back, and exactly the limit under concurrency.

use std::time::Duration;

use super::Subject;
use ferrid::store::Count;

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

suite!(
    counters_count_up_to_their_limits_together,
    counter_records_expire_with_their_window,
    uncount_gives_counts_back_and_keeps_the_window,
    counters_admit_exactly_their_limit_under_concurrency,
);
