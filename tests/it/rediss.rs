//! ferrid on a Redis that speaks only TLS (`store = "rediss://…"`), a `redis-server` started by
//! the test with certificates from the test CA: a client-credentials token through a ferrid on
//! it, trusting the CA that `redis.tls_ca` names; a Redis that requires client certificates
//! (`redis.tls_cert` / `redis.tls_key`); and `ferrid check` reporting how the store is reached.

use std::path::Path;

use ferrid::config::Settings;
use ferrid::store::keyspace;
use ferrid::store::redis::RedisStore;
use ferrid::store::Store;

use crate::check::check;
use crate::common::tls::{ca, TlsRedis};
use crate::common::{
    post_token, service_client, Backend, Options, RedisTarget, TestServer, SYSTEM_SECRET,
};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_through_a_ferrid_on_rediss() {
    let redis = TlsRedis::start(false);
    let mut options = Options::new(Backend::Redis).clients(vec![service_client("svc", &["read"])]);
    options.redis = Some(RedisTarget {
        url: redis.url(),
        prefix: "ferrid-rediss:".into(),
    });
    let ca_file = redis.files.ca.clone();
    let server = TestServer::start_with(options, |settings| {
        settings.redis.tls_ca = Some(ca_file);
    })
    .await;
    let reply = post_token(
        &server,
        Some(("svc", "svc-secret")),
        &[("grant_type", "client_credentials"), ("scope", "read")],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    // The client, the sealed key ring and the provisioning marker are in that Redis.
    let keys = server.ctx.store().get(keyspace::KEY_RING).await.unwrap();
    assert!(keys.is_some());
}

async fn store_with(redis: &TlsRedis, settings: &Settings) -> RedisStore {
    RedisStore::connect_lazily_with_tls(
        &redis.url(),
        "ferrid-rediss-mtls:",
        settings.redis.tls_certificates().unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_requires_client_certificates() {
    let redis = TlsRedis::start(true);
    let mut settings = Settings {
        store: redis.url(),
        ..Settings::default()
    };
    settings.secrets.system = Some(SYSTEM_SECRET.to_owned().into());
    settings.redis.tls_ca = Some(redis.files.ca.clone());
    let refused = store_with(&redis, &settings).await;
    assert!(refused.ping().await.is_err(), "no client certificate");

    let client = ca().write(redis.dir.path(), "client");
    settings.redis.tls_cert = Some(client.cert);
    settings.redis.tls_key = Some(client.key);
    settings.validate().unwrap();
    let store = store_with(&redis, &settings).await;
    store.ping().await.unwrap();
    store.put("k", b"v".to_vec(), None).await.unwrap();
    assert_eq!(store.take("k").await.unwrap(), Some(b"v".to_vec()));
    assert_eq!(store.get("k").await.unwrap(), None);
}

#[test]
fn check_reaches_a_rediss_store() {
    let dir = tempfile::tempdir().unwrap();
    let redis = TlsRedis::start(false);
    let url = redis.url();
    let ca_file = redis.files.ca.display().to_string();
    let env = [
        ("FERRID_STORE", url.as_str()),
        ("FERRID_REDIS__PREFIX", "ferrid-rediss-check:"),
        ("FERRID_SECRETS__SYSTEM", SYSTEM_SECRET),
        ("FERRID_REDIS__TLS_CA", ca_file.as_str()),
    ];
    let output = check(dir.path(), &env);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        text(&output.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "ok    store: redis {url} (TLS, verified against redis.tls_ca) answers PING"
        )),
        "{stdout}"
    );

    // The system's roots do not know the test CA.
    let output = check(dir.path(), &env[..3]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL  store: redis rediss://"), "{stdout}");

    // The redis crate's #insecure fragment skips verification, and says so.
    let insecure = format!("{url}#insecure");
    let output = check(
        dir.path(),
        &[
            ("FERRID_STORE", insecure.as_str()),
            ("FERRID_REDIS__PREFIX", "ferrid-rediss-check:"),
            ("FERRID_SECRETS__SYSTEM", SYSTEM_SECRET),
        ],
    );
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("certificate NOT verified"), "{stdout}");

    // A CA file that cannot be read is a configuration error naming it.
    let missing = Path::new(&ca_file).with_file_name("missing.pem");
    let missing = missing.display().to_string();
    let mut bad = env;
    bad[3].1 = missing.as_str();
    let output = check(dir.path(), &bad);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("`redis.tls_ca`"), "{stderr}");
    assert!(stderr.contains("cannot read"), "{stderr}");
}
