//! Capped indexes (pending interactions): the oldest evicted beyond the cap, expiry, and exactly
//! the cap under concurrency.

use std::time::Duration;

use super::Subject;

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

suite!(
    put_capped_evicts_the_oldest_beyond_the_cap,
    put_capped_values_expire_and_give_their_places_back,
    put_capped_keeps_exactly_the_cap_under_concurrency,
);
