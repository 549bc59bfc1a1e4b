//! `ferrid client` and `ferrid user` as an operator runs them: on the Redis store a running
//! instance uses, which serves what they create at once; JSON for scripts, tables for people;
//! conflicts, the config's own records and a memory-store config refused with the reason.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::common::{
    post_token, service_client, Backend, Options, RedisTarget, TestServer, SYSTEM_SECRET,
};

const BIN: &str = env!("CARGO_BIN_EXE_ferrid");

/// Runs `ferrid <args>` on `redis` (no config file), feeding `stdin`.
async fn ferrid(redis: Option<&RedisTarget>, args: &[&str], stdin: Option<&str>) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(BIN);
    command.current_dir(dir.path()).env_remove("FERRID_CONFIG");
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("FERRID_")) {
        command.env_remove(name);
    }
    command.env("FERRID_LOG__LEVEL", "warn").args(args);
    if let Some(redis) = redis {
        command
            .env("FERRID_STORE", &redis.url)
            .env("FERRID_REDIS__PREFIX", &redis.prefix)
            .env("FERRID_SECRETS__SYSTEM", SYSTEM_SECRET);
    }
    let stdin = stdin.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        let output = child.wait_with_output().unwrap();
        drop(dir);
        output
    })
    .await
    .unwrap()
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_str(&ok(output)).unwrap()
}

fn refused(output: &Output, expected: &str) {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(expected), "{stderr}");
}

async fn credentials_work(server: &TestServer, id: &str, secret: &str) -> bool {
    let reply = post_token(
        server,
        Some((id, secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    reply.status == 200
}

/// Waits (at most a second) until `id` and `secret` no longer get a token from `server`.
async fn refused_within_a_second(server: &TestServer, id: &str, secret: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while credentials_work(server, id, secret).await {
        assert!(
            std::time::Instant::now() < deadline,
            "`{id}` still authenticates with the old secret"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_commands_change_what_a_running_instance_serves() {
    let options = Options::new(Backend::Redis).clients(vec![service_client("svc", &["read"])]);
    let server = TestServer::start_with(options, |_| {}).await;
    let redis = server.redis.as_ref().unwrap();

    let created = json(
        &ferrid(
            Some(redis),
            &[
                "client",
                "create",
                "robot",
                "--grant-type",
                "client_credentials",
                "--scope",
                "admin",
                "--name",
                "Robot",
                "--format",
                "json",
            ],
            None,
        )
        .await,
    );
    assert_eq!(created["client_id"], "robot");
    assert_eq!(created["from_config"], false);
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert!(
        credentials_work(&server, "robot", &secret).await,
        "served at once"
    );

    let from_json = json(
        &ferrid(
            Some(redis),
            &["client", "create", "--metadata", "-", "--format", "json"],
            Some(
                r#"{"client_name": "Native", "token_endpoint_auth_method": "none",
                     "redirect_uris": ["com.example.native:/cb", "http://127.0.0.1/cb"]}"#,
            ),
        )
        .await,
    );
    assert_eq!(from_json["token_endpoint_auth_method"], "none");
    assert!(
        from_json.get("client_secret").is_none(),
        "a public client has no secret"
    );
    let native = from_json["client_id"].as_str().unwrap().to_owned();
    ok(&ferrid(Some(redis), &["client", "delete", &native], None).await);

    let duplicate = ferrid(
        Some(redis),
        &[
            "client",
            "create",
            "robot",
            "--grant-type",
            "client_credentials",
        ],
        None,
    )
    .await;
    refused(&duplicate, "conflict");
    let unsafe_uri = ferrid(
        Some(redis),
        &["client", "create", "--redirect-uri", "javascript:alert(1)"],
        None,
    )
    .await;
    refused(&unsafe_uri, "invalid_redirect_uri");

    let listed = json(&ferrid(Some(redis), &["client", "list", "--format", "json"], None).await);
    let ids: Vec<(&str, bool)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["client_id"].as_str().unwrap(),
                c["from_config"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(ids, [("robot", false), ("svc", true), ("swagger-ui", true)]);
    let table = ok(&ferrid(Some(redis), &["client", "list"], None).await);
    assert!(table.starts_with("CLIENT_ID"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("robot") && l.contains("Robot") && l.ends_with("runtime")),
        "{table}"
    );
    assert!(!table.contains(&secret));
    let shown = ok(&ferrid(Some(redis), &["client", "show", "robot"], None).await);
    assert!(
        shown.contains("client_credentials") && !shown.contains(&secret),
        "{shown}"
    );

    let updated = json(
        &ferrid(
            Some(redis),
            &[
                "client", "update", "robot", "--name", "Robot II", "--format", "json",
            ],
            None,
        )
        .await,
    );
    assert_eq!(updated["client_name"], "Robot II");
    assert_eq!(updated["scope"], "admin", "fields not given are kept");
    assert!(updated.get("client_secret").is_none());
    refused(
        &ferrid(
            Some(redis),
            &["client", "update", "svc", "--name", "x"],
            None,
        )
        .await,
        "config",
    );
    refused(
        &ferrid(Some(redis), &["client", "delete", "svc"], None).await,
        "config",
    );

    let rotated = json(
        &ferrid(
            Some(redis),
            &["client", "rotate-secret", "robot", "--format", "json"],
            None,
        )
        .await,
    );
    let new_secret = rotated["client_secret"].as_str().unwrap();
    // The server hears of the change through Redis pub/sub (its client cache).
    refused_within_a_second(&server, "robot", &secret).await;
    assert!(credentials_work(&server, "robot", new_secret).await);

    let deleted = ok(&ferrid(Some(redis), &["client", "delete", "robot"], None).await);
    assert!(deleted.contains("deleted client `robot`"), "{deleted}");
    refused_within_a_second(&server, "robot", new_secret).await;
    refused(
        &ferrid(Some(redis), &["client", "show", "robot"], None).await,
        "not_found",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_commands_read_passwords_from_stdin_and_never_print_them() {
    let server = TestServer::start_with(Options::new(Backend::Redis), |settings| {
        settings.users = vec![crate::common::grants::alice()];
    })
    .await;
    let redis = server.redis.as_ref().unwrap();
    let created = json(
        &ferrid(
            Some(redis),
            &[
                "user",
                "create",
                "dave",
                "--email",
                "dave@example.com",
                "--role",
                "ops",
                "--password-stdin",
                "--format",
                "json",
            ],
            Some("daves first passphrase\n"),
        )
        .await,
    );
    assert_eq!(created["username"], "dave");
    assert!(!created.to_string().contains("passphrase"));
    let id = created["id"].as_str().unwrap().to_owned();
    let stored = ferrid::users::find(server.ctx.store(), "dave")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.id, id);
    assert!(
        stored.verify_password("daves first passphrase"),
        "the newline is not part of it"
    );

    refused(
        &ferrid(Some(redis), &["user", "create", "dave"], Some("x\n")).await,
        "conflict",
    );
    refused(
        &ferrid(Some(redis), &["user", "create", "erin"], Some("\n")).await,
        "password",
    );

    let listed = ok(&ferrid(Some(redis), &["user", "list"], None).await);
    let lines: Vec<&str> = listed.lines().collect();
    assert!(lines[0].starts_with("USERNAME"), "{listed}");
    assert!(
        lines[1].starts_with("alice") && lines[1].ends_with("config"),
        "{listed}"
    );
    assert!(
        lines[2].starts_with("dave") && lines[2].contains("dave@example.com"),
        "{listed}"
    );
    let shown = json(
        &ferrid(
            Some(redis),
            &["user", "show", "dave", "--format", "json"],
            None,
        )
        .await,
    );
    assert_eq!(shown["roles"], serde_json::json!(["ops"]));

    let changed = ok(&ferrid(
        Some(redis),
        &["user", "set-password", "dave"],
        Some("daves second passphrase\n"),
    )
    .await);
    assert!(changed.contains("sessions ended"), "{changed}");
    let stored = ferrid::users::find(server.ctx.store(), "dave")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.verify_password("daves second passphrase"));
    refused(
        &ferrid(Some(redis), &["user", "set-password", "alice"], Some("x\n")).await,
        "config",
    );
    refused(
        &ferrid(Some(redis), &["user", "delete", "alice"], None).await,
        "config",
    );

    ok(&ferrid(Some(redis), &["user", "delete", "dave"], None).await);
    refused(
        &ferrid(Some(redis), &["user", "show", "dave"], None).await,
        "not_found",
    );
    assert!(ferrid::users::find(server.ctx.store(), "dave")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_memory_store_the_commands_explain_they_need_redis() {
    for args in [&["client", "list"][..], &["user", "create", "x"][..]] {
        let output = ferrid(None, args, Some("pw\n")).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("memory store"), "{stderr}");
        assert!(
            stderr.contains("Redis") && stderr.contains("admin API"),
            "{stderr}"
        );
    }
}
