//! `ferrid check` and `ferrid healthcheck` as an operator and a container runtime use them, and
//! the configuration errors they report: `check` prints what it checked and exits 0, 1 for a
//! store or key problem, 2 for a configuration error (an unknown log level, a TOML syntax error);
//! `healthcheck` exits 0 only when `/readyz` answers 200.

use std::path::Path;
use std::process::Output;

use ferrid::keys::rsa_key;

use crate::cli::ferrid;
use crate::common::{Backend, Options, RedisTarget, TestServer, SYSTEM_SECRET};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(crate) fn check(dir: &Path, env: &[(&str, &str)]) -> Output {
    ferrid(dir)
        .arg("check")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn write_test_key(dir: &Path) {
    let pem = rsa_key::pkcs8_to_pem(&crate::common::test_key().pkcs8).unwrap();
    std::fs::write(dir.join("key.pem"), pem.as_bytes()).unwrap();
}

#[test]
fn check_reports_config_store_and_keys_of_the_memory_store() {
    let dir = tempfile::tempdir().unwrap();
    let output = check(dir.path(), &[("FERRID_BIND", "127.0.0.1:9099")]);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        text(&output.stderr)
    );
    assert!(
        stdout.contains("ok    config: built-in defaults + 1 FERRID_* variable(s) is valid"),
        "{stdout}"
    );
    // The default issuer follows the bind address.
    assert!(stdout.contains("issuer http://127.0.0.1:9099"), "{stdout}");
    assert!(stdout.contains("ok    store: memory"), "{stdout}");
    assert!(
        stdout.contains("ok    keys: no key ring in directory keys yet"),
        "{stdout}"
    );
    assert!(!dir.path().join("keys").exists(), "check changes nothing");

    write_test_key(dir.path());
    let import = ferrid(dir.path())
        .args(["keys", "import", "key.pem"])
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", text(&import.stderr));
    let output = check(dir.path(), &[]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let kid = crate::common::test_key().kid;
    assert!(
        stdout.contains(&format!(
            "ok    keys: 1 key(s) in directory keys, revision 1; active key {kid}"
        )),
        "{stdout}"
    );

    // A keys directory that is a file is reported, with exit code 1.
    let output = check(dir.path(), &[("FERRID_KEYS__DIR", "key.pem")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stdout).contains("FAIL  keys: key.pem is not a directory"));
}

#[test]
fn check_pings_redis_and_opens_the_sealed_ring() {
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisTarget::new();
    let env = [
        ("FERRID_STORE", redis.url.as_str()),
        ("FERRID_REDIS__PREFIX", redis.prefix.as_str()),
        ("FERRID_SECRETS__SYSTEM", SYSTEM_SECRET),
    ];
    let output = check(dir.path(), &env);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        text(&output.stderr)
    );
    assert!(stdout.contains("answers PING"), "{stdout}");
    assert!(
        stdout.contains("ok    keys: no key ring in store entry"),
        "{stdout}"
    );

    write_test_key(dir.path());
    let import = ferrid(dir.path())
        .args(["keys", "import", "key.pem"])
        .envs(env)
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", text(&import.stderr));
    let output = check(dir.path(), &env);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("ok    keys: 1 key(s) in store entry"),
        "{stdout}"
    );

    // Another system secret cannot open the keys: exit 1, naming the keys check.
    let mut wrong = env;
    wrong[2].1 = "another-system-secret-0123456789abcdef";
    let output = check(dir.path(), &wrong);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("ok    store"), "{stdout}");
    assert!(stdout.contains("FAIL  keys: store entry"), "{stdout}");
}

#[test]
fn check_fails_on_an_unreachable_store() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("no-redis.sock");
    let url = format!("redis+unix://{}", socket.display());
    let output = check(
        dir.path(),
        &[
            ("FERRID_STORE", &url),
            ("FERRID_SECRETS__SYSTEM", SYSTEM_SECRET),
        ],
    );
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("ok    config"), "{stdout}");
    assert!(
        stdout.contains(&format!("FAIL  store: redis {url}")),
        "{stdout}"
    );
    assert!(stdout.contains("FAIL  keys: not checked"), "{stdout}");
}

#[test]
fn configuration_errors_exit_2_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    // A log level `tracing` would read as a target name, silencing every log line.
    let output = check(dir.path(), &[("FERRID_LOG__LEVEL", "warning")]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("`log.level`"), "{stderr}");
    assert!(
        stderr.contains("`trace`, `debug`, `info`, `warn`, `error` or `off`"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // serve refuses it the same way, before logging anything.
    let output = ferrid(dir.path())
        .env("FERRID_LOG__LEVEL", "warning")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("`log.level`"));

    // A TOML syntax error names the file, the line and the column, and shows the line.
    let config = dir.path().join("ferrid.toml");
    std::fs::write(
        &config,
        "issuer = \"http://127.0.0.1:8080\"\n\n[log]\nlevel = warn\n",
    )
    .unwrap();
    let output = ferrid(dir.path())
        .args(["check", "--config", "ferrid.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("ferrid.toml:4:9: TOML syntax error"),
        "{stderr}"
    );
    assert!(stderr.contains("4 | level = warn"), "{stderr}");
}

#[test]
fn check_notes_an_issuer_that_does_not_match_the_bind_port() {
    let dir = tempfile::tempdir().unwrap();
    let output = check(
        dir.path(),
        &[
            ("FERRID_BIND", "127.0.0.1:9099"),
            ("FERRID_ISSUER", "http://localhost:8080"),
        ],
    );
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("note: the issuer's port 8080 differs from the bind port 9099"),
        "{stdout}"
    );
}

async fn healthcheck(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = ferrid(dir);
    command
        .arg("healthcheck")
        .args(args)
        .envs(env.iter().copied());
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_exits_0_only_when_ready() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Memory, vec![]).await;
    let readyz = server.at("/readyz");
    let output = healthcheck(dir.path(), &["--url", &readyz], &[]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    // Without --url: /readyz on the configured bind address.
    let bind = server.url.trim_start_matches("http://").to_owned();
    let output = healthcheck(dir.path(), &[], &[("FERRID_BIND", &bind)]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stopped = server.stop().await;
    drop(stopped);
    let output = healthcheck(dir.path(), &["--url", &readyz], &[]).await;
    assert_eq!(output.status.code(), Some(1));

    // Listening but not ready (its Redis is not there): 503, exit 1.
    let mut options = Options::new(Backend::Redis);
    options.redis = Some(RedisTarget {
        url: format!("redis+unix://{}", dir.path().join("none.sock").display()),
        prefix: "ferrid-test-healthcheck:".into(),
    });
    options.seed_key = false;
    options.wait_ready = false;
    let server = TestServer::start_with(options, |_| {}).await;
    let output = healthcheck(dir.path(), &["--url", &server.at("/readyz")], &[]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("answered 503"),
        "{}",
        text(&output.stderr)
    );
}
