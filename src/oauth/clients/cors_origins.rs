//! The origin index: which browser origins some client lists in `allowed_cors_origins`, so that
//! a CORS preflight — which names no client — is answered with one range read instead of a scan
//! of every client. The index (`keyspace::CORS_ORIGINS`) holds one member per origin and client,
//! `<origin> <client_id>`: an origin is listed exactly while some member starts with it, and a
//! client's write touches only its own members, so concurrent writes of different clients never
//! undo each other (a counter per origin would drift on every crash or retry).
//!
//! The index and the client records live in different slots, so they are kept in step the way
//! `store::registry` keeps its listing: every origin a stored client has is listed — the index
//! may briefly list one that no client has any more. A writer lists a client's origins before it
//! writes the record and again after; it unlists an origin only after the record without it is
//! written (or deleted), and then reads the record again and lists back what it still has, so a
//! concurrent writer of the same client cannot leave one of its origins unlisted. A stale
//! member costs nothing worse than a preflight answered for an origin whose actual requests then
//! get no `Access-Control-Allow-Origin`: that is decided from the client record itself.

use super::Client;
use crate::store::{keyspace, registry, Store, StoreError};

/// The index member for `origin` of client `client_id`. Origins never contain a space (the
/// validator takes only `scheme://host[:port]`), so the origin ends at the first one.
fn member(origin: &str, client_id: &str) -> String {
    format!("{origin} {client_id}")
}

/// Lists every origin of `client`.
pub async fn list(store: &dyn Store, client: &Client) -> Result<(), StoreError> {
    for origin in &client.allowed_cors_origins {
        store
            .index_add(keyspace::CORS_ORIGINS, &member(origin, &client.client_id))
            .await?;
    }
    Ok(())
}

/// Unlists `origins` of client `client_id`, whose record no longer has them (or is deleted);
/// then lists back those the record, read again, still has (a concurrent write of the client).
pub async fn unlist(
    store: &dyn Store,
    client_id: &str,
    origins: &[String],
) -> Result<(), StoreError> {
    if origins.is_empty() {
        return Ok(());
    }
    for origin in origins {
        store
            .index_remove(keyspace::CORS_ORIGINS, &member(origin, client_id))
            .await?;
    }
    if let Some(current) = super::find(store, client_id).await? {
        for origin in origins {
            if current.allowed_cors_origins.contains(origin) {
                store
                    .index_add(keyspace::CORS_ORIGINS, &member(origin, client_id))
                    .await?;
            }
        }
    }
    Ok(())
}

/// The origins `before` had that `after` (`None`: deleted) does not.
pub fn dropped(before: &Client, after: Option<&Client>) -> Vec<String> {
    before
        .allowed_cors_origins
        .iter()
        .filter(|origin| after.is_none_or(|after| !after.allowed_cors_origins.contains(origin)))
        .cloned()
        .collect()
}

/// Lists the origins of every stored client, page by page: at start-up, for clients written
/// before the index existed or by a writer stopped between its write and its listing.
pub async fn relist_all(store: &dyn Store) -> Result<(), StoreError> {
    let mut after = None;
    loop {
        let page = super::store::list(store, after.as_deref(), registry::MAX_PAGE).await?;
        for client in &page.items {
            list(store, client).await?;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

/// Whether some client lists `origin`: one range read of the index, whatever the number of
/// clients. A value that is not an origin (empty, or with a space or a control character) is
/// never listed.
pub async fn is_listed(store: &dyn Store, origin: &str) -> Result<bool, StoreError> {
    if origin.is_empty() || !origin.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Ok(false);
    }
    // Members of `origin` sort right after `<origin> ` (a longer origin such as
    // `<origin>:8443` sorts after them, since ' ' sorts before every other printable byte).
    let prefix = format!("{origin} ");
    let next = store
        .index_range(keyspace::CORS_ORIGINS, Some(&prefix), 1)
        .await?;
    Ok(next.first().is_some_and(|first| first.starts_with(&prefix)))
}

/// Whether client `client_id` exists and lists `origin`.
pub async fn client_lists(
    store: &dyn Store,
    client_id: &str,
    origin: &str,
) -> Result<bool, StoreError> {
    Ok(super::find(store, client_id)
        .await?
        .is_some_and(|client| client.allowed_cors_origins.iter().any(|o| o == origin)))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::config::ClientConfig;
    use crate::oauth::clients::store;
    use crate::store::memory::MemoryStore;

    fn client(id: &str, origins: &[&str]) -> Client {
        let config = ClientConfig {
            id: id.into(),
            public: true,
            grant_types: vec!["authorization_code".into()],
            scopes: vec!["openid".into()],
            redirect_uris: vec!["https://app.example.com/cb".into()],
            allowed_cors_origins: origins.iter().map(|o| o.to_string()).collect(),
            ..ClientConfig::default()
        };
        config.to_client_alone().unwrap()
    }

    fn memory() -> MemoryStore {
        MemoryStore::new(Arc::new(ManualClock::at_millis(1_000_000)))
    }

    #[tokio::test]
    async fn an_origin_is_listed_while_some_client_has_it() {
        let store = memory();
        let a = "https://a.example.com";
        let b = "https://b.example.com";
        assert!(store::create(&store, &client("one", &[a])).await.unwrap());
        assert!(store::create(&store, &client("two", &[a, b]))
            .await
            .unwrap());
        assert!(is_listed(&store, a).await.unwrap());
        assert!(is_listed(&store, b).await.unwrap());

        // `two` drops b: unlisted; a stays listed by `one` and `two`.
        store::replace(&store, "two", |mut current: Client| {
            current.allowed_cors_origins = vec![a.into()];
            Ok::<_, store::ReplaceError>(current)
        })
        .await
        .unwrap();
        assert!(!is_listed(&store, b).await.unwrap());
        store::take(&store, "two").await.unwrap();
        assert!(is_listed(&store, a).await.unwrap(), "`one` still has it");
        store::take(&store, "one").await.unwrap();
        assert!(!is_listed(&store, a).await.unwrap());

        // A config client written over keeps exactly its new origins.
        store::upsert(&store, &client("cfg", &[a])).await.unwrap();
        store::upsert(&store, &client("cfg", &[b])).await.unwrap();
        assert!(!is_listed(&store, a).await.unwrap());
        assert!(is_listed(&store, b).await.unwrap());
        assert!(client_lists(&store, "cfg", b).await.unwrap());
        assert!(!client_lists(&store, "cfg", a).await.unwrap());
        assert!(!client_lists(&store, "nobody", b).await.unwrap());
    }

    #[tokio::test]
    async fn a_duplicate_creation_leaves_the_existing_clients_origins_alone() {
        let store = memory();
        let a = "https://a.example.com";
        let b = "https://b.example.com";
        assert!(store::create(&store, &client("one", &[a])).await.unwrap());
        assert!(!store::create(&store, &client("one", &[a, b]))
            .await
            .unwrap());
        assert!(is_listed(&store, a).await.unwrap());
        assert!(!is_listed(&store, b).await.unwrap(), "never written");
    }

    #[tokio::test]
    async fn start_up_lists_the_origins_of_clients_written_before_the_index() {
        let store = memory();
        let origin = "https://old.example.com";
        let old = client("old", &[origin]);
        // As an earlier version wrote it: the record and the listing, no origin index.
        let key = keyspace::client("old");
        crate::store::registry::put(
            &store,
            keyspace::CLIENT_INDEX,
            "old",
            &key,
            crate::store::encode(&old).unwrap(),
        )
        .await
        .unwrap();
        assert!(!is_listed(&store, origin).await.unwrap());
        relist_all(&store).await.unwrap();
        assert!(is_listed(&store, origin).await.unwrap());
    }

    #[tokio::test]
    async fn only_the_exact_origin_matches() {
        let store = memory();
        let origin = "https://a.example.com";
        store::upsert(&store, &client("one", &[origin]))
            .await
            .unwrap();
        for other in [
            "https://a.example.com:8443",
            "https://a.example.co",
            "https://a.example.com.evil.test",
            "http://a.example.com",
            "https://a.example.com one",
            "",
            "null",
        ] {
            assert!(!is_listed(&store, other).await.unwrap(), "{other:?}");
        }
        // A longer origin listed beside it does not hide it.
        store::upsert(&store, &client("two", &["https://a.example.com:8443"]))
            .await
            .unwrap();
        assert!(is_listed(&store, origin).await.unwrap());
    }
}
