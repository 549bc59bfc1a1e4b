//! Signing keys at rest: generated on first start, kept in `keys/` (0600, also for keys a
//! rotation adds) or sealed in Redis, reused on restart, shared by instances on one Redis,
//! refused when tampered with, stored unencrypted or opened with another system secret; and
//! Redis mode refuses to start without the system secret.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use crate::common::{Backend, Options, RedisTarget, TestServer, SYSTEM_SECRET};
use ferrid::bootstrap;
use ferrid::clock::{Clock, ManualClock, SystemClock};
use ferrid::config::Settings;
use ferrid::keys::rotation::Step;
use ferrid::store::keyspace::KEY_RING;

fn unseeded(backend: Backend) -> Options {
    Options {
        seed_key: false,
        ..Options::new(backend)
    }
}

#[tokio::test]
async fn memory_mode_generates_a_key_into_the_keys_dir_and_reuses_it() {
    let first = TestServer::start_with(unseeded(Backend::Memory), |_| {}).await;
    let kid = first.ctx.key_ring().unwrap().active().kid().to_owned();
    let dir = first.keys_dir.path().join("keys");
    let mode =
        |path: std::path::PathBuf| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(dir.clone()), 0o700);
    assert_eq!(mode(dir.join(format!("{kid}.pem"))), 0o600);
    assert_eq!(mode(dir.join("ring.json")), 0o600);
    let pem = std::fs::read_to_string(dir.join(format!("{kid}.pem"))).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));

    // Restart on the same directory: the same key signs.
    let keys_dir = first.stop().await;
    let options = Options {
        keys_dir: Some(keys_dir),
        ..unseeded(Backend::Memory)
    };
    let restarted = TestServer::start_with(options, |_| {}).await;
    assert_eq!(restarted.ctx.key_ring().unwrap().active().kid(), kid);
}

#[tokio::test]
async fn keys_a_rotation_adds_are_0600_and_removed_keys_leave_the_directory() {
    let clock = ManualClock::at_millis(SystemClock.now_millis());
    let options = Options {
        clock: Some(clock.clone()),
        ..unseeded(Backend::Memory)
    };
    let server = TestServer::start_with(options, |_| {}).await;
    let dir = server.keys_dir.path().join("keys");
    let first = server.ctx.key_ring().unwrap().active().kid().to_owned();
    let keys = server.ctx.keys();
    let day = std::time::Duration::from_secs(86_400);
    clock.advance(29 * day);
    assert!(matches!(
        keys.rotate_if_due(&clock).await.unwrap(),
        Step::Rotated { .. }
    ));
    let next = server
        .ctx
        .key_ring()
        .unwrap()
        .next()
        .unwrap()
        .kid()
        .to_owned();
    let mode = |name: String| {
        std::fs::metadata(dir.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(format!("{next}.pem")), 0o600);
    assert_eq!(mode("ring.json".into()), 0o600);
    assert_eq!(mode(String::new()), 0o700);

    clock.advance(day);
    keys.rotate_if_due(&clock).await.unwrap();
    clock.advance(day);
    keys.rotate_if_due(&clock).await.unwrap();
    assert!(
        !dir.join(format!("{first}.pem")).exists(),
        "a removed key's file is deleted"
    );
    let ring: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("ring.json")).unwrap()).unwrap();
    assert_eq!(ring["keys"].as_array().unwrap().len(), 1);
    assert_eq!(ring["keys"][0]["kid"], next.as_str());
    assert_eq!(ring["keys"][0]["state"], "active");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "ring.json" && name != &format!("{next}.pem"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn redis_mode_seals_keys_and_instances_share_them() {
    let target = RedisTarget::new();
    let (url, prefix) = (target.url.clone(), target.prefix.clone());
    let options = Options {
        redis: Some(target),
        ..unseeded(Backend::Redis)
    };
    let first = TestServer::start_with(options, |_| {}).await;
    let kid = first.ctx.key_ring().unwrap().active().kid().to_owned();

    let client = redis::Client::open(url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let raw: String = redis::cmd("GET")
        .arg(format!("{prefix}{KEY_RING}"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(raw.contains(&kid));
    assert!(
        !raw.contains("PRIVATE KEY") && raw.contains("ciphertext"),
        "private keys must be sealed: {raw}"
    );

    // Two more instances on the same Redis agree on the key.
    for _ in 0..2 {
        let app = bootstrap::build(
            redis_settings(&url, &prefix, SYSTEM_SECRET),
            Arc::new(SystemClock),
        )
        .unwrap();
        bootstrap::provision(&app).await.unwrap();
        assert_eq!(app.key_ring().unwrap().active().kid(), kid);
    }
}

#[tokio::test]
async fn instances_starting_together_create_one_ring() {
    let target = RedisTarget::new();
    let apps: Vec<_> = (0..3)
        .map(|_| {
            bootstrap::build(
                redis_settings(&target.url, &target.prefix, SYSTEM_SECRET),
                Arc::new(SystemClock),
            )
            .unwrap()
        })
        .collect();
    let boots: Vec<_> = apps
        .iter()
        .cloned()
        .map(|app| tokio::spawn(async move { bootstrap::provision(&app).await.unwrap() }))
        .collect();
    for boot in boots {
        boot.await.unwrap();
    }
    let kids: Vec<String> = apps
        .iter()
        .map(|app| app.key_ring().unwrap().active().kid().to_owned())
        .collect();
    assert!(kids.iter().all(|kid| kid == &kids[0]), "{kids:?}");
}

#[tokio::test]
async fn another_system_secret_or_tampering_is_refused() {
    let target = RedisTarget::new();
    let app = bootstrap::build(
        redis_settings(&target.url, &target.prefix, SYSTEM_SECRET),
        Arc::new(SystemClock),
    )
    .unwrap();
    bootstrap::provision(&app).await.unwrap();

    let other = bootstrap::build(
        redis_settings(
            &target.url,
            &target.prefix,
            "a-different-secret-of-32-characters!",
        ),
        Arc::new(SystemClock),
    )
    .unwrap();
    let err = bootstrap::provision(&other).await.unwrap_err().to_string();
    assert!(err.contains("does not decrypt"), "{err}");

    let client = redis::Client::open(target.url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{}{KEY_RING}", target.prefix);
    let raw: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .unwrap();
    let mut ring: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let ciphertext = ring["keys"][0]["ciphertext"].as_str().unwrap().to_owned();
    let flipped = if ciphertext.starts_with('A') {
        ciphertext.replacen('A', "B", 1)
    } else {
        format!("A{}", &ciphertext[1..])
    };
    ring["keys"][0]["ciphertext"] = flipped.into();
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(ring.to_string())
        .query_async(&mut connection)
        .await
        .unwrap();
    let fresh = bootstrap::build(
        redis_settings(&target.url, &target.prefix, SYSTEM_SECRET),
        Arc::new(SystemClock),
    )
    .unwrap();
    let err = bootstrap::provision(&fresh).await.unwrap_err().to_string();
    assert!(err.contains("does not decrypt"), "{err}");
}

#[tokio::test]
async fn unencrypted_key_material_in_redis_is_refused() {
    let target = RedisTarget::new();
    let app = bootstrap::build(
        redis_settings(&target.url, &target.prefix, SYSTEM_SECRET),
        Arc::new(SystemClock),
    )
    .unwrap();
    bootstrap::provision(&app).await.unwrap();
    let client = redis::Client::open(target.url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{}{KEY_RING}", target.prefix);
    let raw: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .unwrap();
    let mut ring: serde_json::Value = serde_json::from_str(&raw).unwrap();
    // Someone "restores" the key as a plain PEM instead of sealed material.
    let entry = ring["keys"][0].as_object_mut().unwrap();
    entry.remove("nonce");
    entry.remove("ciphertext");
    let pem = ferrid::keys::rsa_key::pkcs8_to_pem(&crate::common::test_key().pkcs8).unwrap();
    entry.insert("pem".into(), pem.as_str().into());
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(ring.to_string())
        .query_async(&mut connection)
        .await
        .unwrap();
    let fresh = bootstrap::build(
        redis_settings(&target.url, &target.prefix, SYSTEM_SECRET),
        Arc::new(SystemClock),
    )
    .unwrap();
    let err = bootstrap::provision(&fresh).await.unwrap_err().to_string();
    assert!(err.contains("is not sealed"), "{err}");

    // Not a key ring at all (a bare PEM under the key): refused, saying so.
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(pem.as_str())
        .query_async(&mut connection)
        .await
        .unwrap();
    let err = bootstrap::provision(&fresh).await.unwrap_err().to_string();
    assert!(err.contains("not a sealed key ring"), "{err}");
}

#[tokio::test]
async fn redis_mode_refuses_to_start_without_the_system_secret() {
    let target = RedisTarget::new();
    let mut settings = redis_settings(&target.url, &target.prefix, SYSTEM_SECRET);
    settings.secrets.system = None;
    let err = settings.validate().unwrap_err();
    assert_eq!(err.key, "secrets.system");
    assert!(err.message.contains("FERRID_SECRETS__SYSTEM"), "{err}");
    let err = bootstrap::build(settings.clone(), Arc::new(SystemClock))
        .err()
        .expect("no app without the system secret")
        .to_string();
    assert!(err.contains("secrets.system"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
    // Nothing was written: ferrid does not invent a secret and seal keys under it.
    let client = redis::Client::open(target.url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let exists: bool = redis::cmd("EXISTS")
        .arg(format!("{}{KEY_RING}", target.prefix))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(!exists);
}

fn redis_settings(url: &str, prefix: &str, secret: &str) -> Settings {
    let mut settings = Settings {
        store: url.into(),
        ..Settings::default()
    };
    settings.redis.prefix = prefix.into();
    settings.secrets.system = Some(secret.to_owned().into());
    settings.validate().unwrap();
    settings
}
