//! Client authentication at the token endpoint: the secret check alone (SHA-256 + constant-time
//! compare, no Argon2) and the whole `client_auth::authenticate` as a token request runs it
//! (client read from the memory store, decoded, method and secret checked).

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use ferrid::bootstrap;
use ferrid::clock::{SharedClock, SystemClock};
use ferrid::config::{ClientConfig, Settings};
use ferrid::oauth::client_auth::{self, BasicCredentials, ClientCredentials};
use ferrid::oauth::clients::{self, Client};
use ferrid::secret::SecretString;
use ferrid::store::memory::MemoryStore;

const SECRET: &str = "3q2-H7yF0b1bX6mT8kQwL4pZs9eR2uV5cN0aJ7gD1fK";

fn client() -> Client {
    ClientConfig {
        id: "demo".into(),
        secret: Some(SecretString::new(SECRET)),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["read".into(), "write".into()],
        ..ClientConfig::default()
    }
    .to_client_alone()
    .expect("client")
}

fn bench(c: &mut Criterion) {
    let client = client();
    c.bench_function("client_secret_sha256_ct_compare", |b| {
        b.iter(|| client.secret_matches(std::hint::black_box(SECRET)))
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let clock: SharedClock = Arc::new(SystemClock);
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let ctx = bootstrap::with_store(Settings::default(), store, clock).expect("context");
    runtime
        .block_on(clients::upsert(ctx.store(), &client))
        .expect("upsert");
    let credentials = ClientCredentials {
        basic: Some(BasicCredentials {
            client_id: "demo".into(),
            client_secret: SecretString::new(SECRET),
        }),
        ..ClientCredentials::default()
    };
    c.bench_function("client_authenticate_basic_memory_store", |b| {
        b.iter(|| {
            runtime
                .block_on(client_auth::authenticate(&ctx, credentials.clone()))
                .expect("authenticated")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
