//! Values: put, get, take, swap, compare-and-swap, put-new, delete-if, expiry and JSON updates,
//! each with exactly one winner under concurrency.

use std::time::Duration;

use super::Subject;
use ferrid::store::{get_json, put_json, update_json, StoreError};

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

suite!(
    put_get_delete,
    entries_expire_after_their_ttl,
    take_is_single_use_under_concurrency,
    swap_returns_the_previous_value_to_exactly_one_caller,
    compare_and_swap_has_exactly_one_winner,
    put_new_has_exactly_one_winner,
    concurrent_writers_to_distinct_keys_all_land,
    concurrent_json_updates_lose_nothing,
    json_round_trips_and_corruption_is_reported,
    delete_if_deletes_only_the_expected_value,
);
