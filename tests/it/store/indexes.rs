//! Sorted indexes, expiring sets and the registry (records listed in an index, created once).

use super::Subject;
use ferrid::store::registry::{self, Page};

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

suite!(
    indexes_list_members_in_byte_order_page_by_page,
    expiring_sets_drop_members_at_their_end,
    registry_creates_once_and_repairs_its_index,
    concurrent_creations_are_all_listed,
);
