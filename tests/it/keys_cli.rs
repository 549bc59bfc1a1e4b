//! `ferrid keys` as an operator runs it: import an externally made key (PKCS#1 or PKCS#8 PEM),
//! list keys with their states and next transitions, rotate at once (optionally withdrawing the
//! old keys) — on the `keys/` directory, and on Redis while an instance runs, which picks the
//! change up by itself. Also: Redis mode without the system secret refuses to start.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::{Backend, Options, TestServer, SYSTEM_SECRET};
use ferrid::bootstrap;
use ferrid::keys::rsa_key;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, LineEnding};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ferrid");

fn ferrid(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir).env_remove("FERRID_CONFIG");
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("FERRID_")) {
        command.env_remove(name);
    }
    command.env("FERRID_LOG__LEVEL", "warn");
    command
}

fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{:?} failed: {}",
        command,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn list(dir: &Path) -> Value {
    let output = run(ferrid(dir).args(["keys", "list", "--json"]));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn states(ring: &Value) -> Vec<(String, String)> {
    ring["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| {
            (
                key["state"].as_str().unwrap().to_owned(),
                key["kid"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn import_list_and_rotate_on_the_keys_directory() {
    let dir = tempfile::tempdir().unwrap();
    let output = ferrid(dir.path()).args(["keys", "list"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no key ring"));

    // A PKCS#1 key with no ring yet becomes the signing key.
    let first = crate::common::test_key();
    let pkcs1 = rsa::RsaPrivateKey::from_pkcs8_der(&first.pkcs8)
        .unwrap()
        .to_pkcs1_pem(LineEnding::LF)
        .unwrap();
    assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    std::fs::write(dir.path().join("first.pem"), pkcs1.as_bytes()).unwrap();
    run(ferrid(dir.path()).args(["keys", "import", "first.pem"]));
    let ring = list(dir.path());
    assert_eq!(states(&ring), vec![("active".into(), first.kid.clone())]);
    assert_eq!(ring["keys"][0]["next_transition"], "publish next");

    // A PKCS#8 key into an existing ring is published as next.
    let second = rsa_key::generate_pkcs8(2048).unwrap();
    let second_kid = rsa_key::RsaPublicJwk::from_pkcs8(&second)
        .unwrap()
        .thumbprint();
    let pem = rsa_key::pkcs8_to_pem(&second).unwrap();
    std::fs::write(dir.path().join("second.pem"), pem.as_bytes()).unwrap();
    run(ferrid(dir.path()).args(["keys", "import", "second.pem"]));
    let ring = list(dir.path());
    assert_eq!(
        states(&ring),
        vec![
            ("active".into(), first.kid.clone()),
            ("next".into(), second_kid.clone())
        ]
    );
    assert_eq!(ring["keys"][1]["next_transition"], "activate");
    assert_eq!(
        ring["keys"][1]["next_transition_at"].as_u64().unwrap(),
        ring["keys"][0]["activated_at"].as_u64().unwrap() + 30 * 86_400,
        "the next key activates when the active key's rotation period ends"
    );
    let again = ferrid(dir.path())
        .args(["keys", "import", "second.pem"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already in the ring"));

    // The table names every key with its state.
    let table = String::from_utf8(run(ferrid(dir.path()).args(["keys", "list"])).stdout).unwrap();
    assert!(table.lines().next().unwrap().starts_with("STATE"));
    assert!(table.contains(&first.kid) && table.contains(&second_kid));

    // Emergency: a fresh key signs now, the old one retires, the pending next is dropped.
    let output = run(ferrid(dir.path()).args(["keys", "rotate", "--now"]));
    assert!(String::from_utf8_lossy(&output.stdout).contains("rotated"));
    let ring = list(dir.path());
    let now = states(&ring);
    assert_eq!(now.len(), 2, "{now:?}");
    assert_eq!(now[0], ("retired".into(), first.kid.clone()));
    assert_eq!(now[1].0, "active");
    assert!(now[1].1 != first.kid && now[1].1 != second_kid);
    assert_eq!(ring["keys"][0]["next_transition"], "remove");

    run(ferrid(dir.path()).args(["keys", "rotate", "--now", "--withdraw-old"]));
    let after = states(&list(dir.path()));
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].0, "active");
    assert_ne!(after[0].1, now[1].1);
    let keys_dir = dir.path().join("keys");
    let mode = std::fs::metadata(keys_dir.join(format!("{}.pem", after[0].1)))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(!keys_dir.join(format!("{}.pem", first.kid)).exists());

    // `rotate` without `--now` is refused: rotations outside the schedule are explicit.
    let output = ferrid(dir.path())
        .args(["keys", "rotate"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_now_on_redis_reaches_a_running_instance() {
    let options = Options {
        seed_key: false,
        ..Options::new(Backend::Redis)
    };
    let server = TestServer::start_with(options, |settings| {
        // No polling to speak of: the change must arrive as a pub/sub notice.
        settings.keys.refresh_interval_secs = 300;
    })
    .await;
    tokio::spawn(bootstrap::maintain_keys(server.ctx.clone()));
    let before = server.ctx.key_ring().unwrap().active().kid().to_owned();
    let redis = server.redis.as_ref().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut command = ferrid(dir.path());
    command
        .env("FERRID_STORE", &redis.url)
        .env("FERRID_REDIS__PREFIX", &redis.prefix)
        .env("FERRID_SECRETS__SYSTEM", SYSTEM_SECRET)
        .args(["keys", "rotate", "--now"]);
    let output = tokio::task::spawn_blocking(move || run(&mut command))
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("rotated"));

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ring = server.ctx.key_ring().unwrap();
        if ring.active().kid() != before {
            assert_eq!(ring.keys().len(), 2, "the old key stays published");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the instance never saw the rotation"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn redis_mode_without_the_system_secret_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&[][..], &["keys", "list"][..]] {
        let output = ferrid(dir.path())
            .env("FERRID_STORE", "redis://127.0.0.1:1/0")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("secrets.system"), "{stderr}");
        assert!(stderr.contains("FERRID_SECRETS__SYSTEM"), "{stderr}");
    }
    assert!(
        !dir.path().join("keys").exists(),
        "no secret invented on disk"
    );
}
