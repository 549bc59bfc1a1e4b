//! `ferrid registration-token create` as an operator runs it: on the Redis store a running
//! instance uses, the token it prints (once) registers a client there at once; bad durations
//! and use counts are refused by the parser, a memory-store config with the reason.

use std::process::{Command, Output};

use ferrid::config::RegistrationMode;
use serde_json::Value;

use crate::common::{Backend, RedisTarget, SYSTEM_SECRET};
use crate::registration::{assert_refused, register, start, web_app};

const BIN: &str = env!("CARGO_BIN_EXE_ferrid");

/// Runs `ferrid <args>` with `env` on `redis` (no config file).
async fn ferrid(redis: Option<&RedisTarget>, env: &[(&str, &str)], args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(BIN);
    command.current_dir(dir.path()).env_remove("FERRID_CONFIG");
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("FERRID_")) {
        command.env_remove(name);
    }
    command
        .env("FERRID_LOG__LEVEL", "warn")
        .envs(env.iter().copied())
        .args(args);
    if let Some(redis) = redis {
        command
            .env("FERRID_STORE", &redis.url)
            .env("FERRID_REDIS__PREFIX", &redis.prefix)
            .env("FERRID_SECRETS__SYSTEM", SYSTEM_SECRET);
    }
    tokio::task::spawn_blocking(move || {
        let output = command.output().unwrap();
        drop(dir);
        output
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_minted_by_the_cli_registers_one_client() {
    let server = start(Backend::Redis, RegistrationMode::InitialAccessToken, None).await;
    let redis = server.redis.as_ref().unwrap();
    let mode = [("FERRID_REGISTRATION__MODE", "initial_access_token")];
    let args = [
        "registration-token",
        "create",
        "--expires-in",
        "15m",
        "--uses",
        "1",
        "--format",
        "json",
    ];
    let output = ferrid(Some(redis), &mode, &args).await;
    assert!(output.status.success(), "{output:?}");
    // The mode is read from the environment like every setting: no warning about it.
    assert!(output.stderr.is_empty(), "{output:?}");
    let minted: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(minted["uses"], 1);
    let token = minted["initial_access_token"].as_str().unwrap();

    let reply = register(&server, Some(token), &web_app()).await;
    assert_eq!(reply.status, 201, "{}", reply.json);
    let again = register(&server, Some(token), &web_app()).await;
    assert_refused(&again, 401, "invalid_token");

    // A table for people, with a note when the config does not take initial access tokens.
    let output = ferrid(
        Some(redis),
        &[],
        &["registration-token", "create", "--expires-in", "60"],
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.contains("(shown once: store it now)"), "{table}");
    assert!(table.contains("unlimited"), "{table}");
    let note = String::from_utf8(output.stderr).unwrap();
    assert!(note.contains("registration.mode is `closed`"), "{note}");

    for bad in [
        ["--expires-in", "0"],
        ["--expires-in", "2y"],
        ["--uses", "0"],
    ] {
        let mut args = vec!["registration-token", "create"];
        if bad[0] == "--uses" {
            args.extend(["--expires-in", "60"]);
        }
        args.extend(bad);
        let output = ferrid(Some(redis), &[], &args).await;
        assert_eq!(output.status.code(), Some(2), "{output:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_store_is_refused_with_the_alternative() {
    let output = ferrid(
        None,
        &[],
        &["registration-token", "create", "--expires-in", "1h"],
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/admin/registration-tokens"), "{stderr}");
}
