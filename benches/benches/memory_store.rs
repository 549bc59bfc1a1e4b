//! The embedded store's operations under one lock: `get` of a live key, `put` with a TTL,
//! `put_new` on an existing key (the losing side of a race) and a `put` + `take` pair (a
//! single-use code's life), plus reading a client as the token endpoint does.

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ferrid::clock::SystemClock;
use ferrid::config::ClientConfig;
use ferrid::oauth::clients;
use ferrid::secret::SecretString;
use ferrid::store::memory::MemoryStore;
use ferrid::store::Store;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let store = MemoryStore::new(Arc::new(SystemClock));
    let ttl = Some(Duration::from_secs(60));
    // A store that already holds some entries, as a running server's would.
    runtime.block_on(async {
        for i in 0..10_000 {
            store
                .put(&format!("code:{i}"), vec![7; 200], ttl)
                .await
                .expect("put");
        }
    });
    let value = vec![7u8; 200];

    c.bench_function("memory_get", |b| {
        b.iter(|| runtime.block_on(store.get("code:5000")).expect("get"))
    });
    c.bench_function("memory_put_ttl", |b| {
        b.iter(|| {
            runtime
                .block_on(store.put("code:5000", value.clone(), ttl))
                .expect("put")
        })
    });
    c.bench_function("memory_put_new_existing", |b| {
        b.iter(|| {
            runtime
                .block_on(store.put_new("code:5000", value.clone(), ttl))
                .expect("put_new")
        })
    });
    c.bench_function("memory_put_then_take", |b| {
        b.iter(|| {
            runtime.block_on(async {
                store
                    .put("single-use", value.clone(), ttl)
                    .await
                    .expect("put");
                store.take("single-use").await.expect("take")
            })
        })
    });

    let client = ClientConfig {
        id: "demo".into(),
        secret: Some(SecretString::new(
            "a-secret-of-forty-three-characters-xxxxxxx",
        )),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["read".into(), "write".into()],
        ..ClientConfig::default()
    }
    .to_client_alone()
    .expect("client");
    runtime
        .block_on(clients::upsert(&store, &client))
        .expect("upsert");
    c.bench_function("memory_find_client", |b| {
        b.iter(|| {
            runtime
                .block_on(clients::find(&store, "demo"))
                .expect("find")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
