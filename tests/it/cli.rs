//! The `ferrid` binary as an operator runs it: start with no config (demo client, keys in
//! `keys/`), serve from the very first request, stop on SIGTERM; refuse a bad config with one
//! line naming the key, and an unusable keys directory with exit code 2; print the OpenAPI
//! document; hash a password typed without echo; refuse a key that is not RSA, naming the
//! supported ones.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ferrid");

/// The binary, run in `dir` with none of the caller's `FERRID_*` variables.
pub(crate) fn ferrid(dir: &std::path::Path) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir).env_remove("FERRID_CONFIG");
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("FERRID_")) {
        command.env_remove(name);
    }
    command
}

#[test]
fn an_invalid_setting_exits_non_zero_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = ferrid(dir.path())
        .env("FERRID_TOKENS__ACCESS_TOKEN_TTL_SECS", "0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("tokens.access_token_ttl_secs"), "{stderr}");

    let output = ferrid(dir.path())
        .args(["--config", "missing.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .contains("missing.toml"));
}

#[test]
fn openapi_prints_the_checked_in_spec() {
    let dir = tempfile::tempdir().unwrap();
    let output = ferrid(dir.path()).arg("openapi").output().unwrap();
    assert!(output.status.success());
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let checked_in: Value =
        serde_json::from_str(include_str!("../../openapi/openapi.json")).unwrap();
    assert_eq!(printed, checked_in);
}

#[test]
fn hash_password_prints_an_argon2id_hash() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = ferrid(dir.path())
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"wonderland\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8(output.stdout)
        .unwrap()
        .starts_with("$argon2id$"));
}

/// On a terminal, `hash-password` prompts twice and turns echo off: what is typed never appears
/// on the screen. `script` runs it on a pseudo-terminal whose echo is forced on (`-E always`),
/// so a program that leaves echo alone shows the input — checked first with `head`.
#[test]
fn hash_password_reads_a_terminal_without_echo() {
    let dir = tempfile::tempdir().unwrap();
    let echoed = on_terminal(dir.path(), "head -1", &[("", "typed-in-clear")]);
    assert_eq!(
        echoed.matches("typed-in-clear").count(),
        2,
        "the terminal echoes by default: {echoed:?}"
    );

    let command = format!("{BIN} hash-password");
    let screen = on_terminal(
        dir.path(),
        &command,
        &[
            ("Password: ", "never-on-screen"),
            ("Repeat password: ", "never-on-screen"),
        ],
    );
    assert!(screen.contains("$argon2id$"), "{screen:?}");
    assert!(!screen.contains("never-on-screen"), "echoed: {screen:?}");
}

/// Runs `command` on a pseudo-terminal, answering each prompt (after it appears) with a line;
/// returns everything the terminal showed once the command ends.
fn on_terminal(dir: &std::path::Path, command: &str, answers: &[(&str, &str)]) -> String {
    use std::io::{Read, Write};
    let mut script = Command::new("script");
    script
        .args(["-q", "-E", "always", "-c", command, "/dev/null"])
        .current_dir(dir);
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("FERRID_")) {
        script.env_remove(name);
    }
    let mut child = script
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs a command on a pseudo-terminal");
    let (chunks_tx, chunks) = mpsc::channel::<Vec<u8>>();
    let mut stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 1024];
        while let Ok(read @ 1..) = stdout.read(&mut buffer) {
            let _ = chunks_tx.send(buffer[..read].to_vec());
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    let mut screen = String::new();
    let shown = |screen: &mut String| {
        let chunk = chunks
            .recv_timeout(Duration::from_secs(30))
            .expect("the terminal shows more");
        screen.push_str(&String::from_utf8_lossy(&chunk));
    };
    let mut answered = 0;
    for (prompt, answer) in answers {
        while !screen[answered..].contains(prompt) {
            shown(&mut screen);
        }
        // A person reads the prompt before typing: give the program the moment it takes to
        // switch echo off after printing it (input typed earlier is echoed by the terminal
        // itself, whatever the program does), collecting anything else it shows meanwhile.
        while let Ok(chunk) = chunks.recv_timeout(Duration::from_secs(1)) {
            screen.push_str(&String::from_utf8_lossy(&chunk));
        }
        answered = screen.len();
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    drop(stdin);
    let status = child.wait().unwrap();
    while let Ok(chunk) = chunks.recv_timeout(Duration::from_secs(5)) {
        screen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(status.success(), "{command}: {screen:?}");
    screen
}

#[test]
fn importing_an_ec_key_names_the_supported_key_types() {
    use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let body = base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    std::fs::write(dir.path().join("ec.pem"), pem).unwrap();
    let output = ferrid(dir.path())
        .args(["keys", "import", "ec.pem"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("EC private key (P-256)"), "{stderr}");
    assert!(
        stderr.contains("only RSA private keys are supported"),
        "{stderr}"
    );
    assert!(stderr.contains("BEGIN RSA PRIVATE KEY"), "{stderr}");
    assert!(!dir.path().join("keys").exists(), "nothing was imported");
}

/// Starts the binary with no config, logging JSON lines: the process and its log lines.
fn start_logging(dir: &std::path::Path) -> (std::process::Child, mpsc::Receiver<Value>) {
    let mut child = ferrid(dir)
        .env("FERRID_BIND", "127.0.0.1:0")
        .env("FERRID_LOG__FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = mpsc::channel::<Value>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(json) = serde_json::from_str(&line) {
                let _ = lines_tx.send(json);
            }
        }
    });
    (child, lines)
}

pub(crate) fn stop(mut child: std::process::Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0: {status}");
}

/// One start of the binary with no config: returns the kid it signed with.
fn start_issue_token_and_stop(dir: &std::path::Path) -> String {
    let (child, lines) = start_logging(dir);
    let mut address = None;
    let mut secret = None;
    let mut kid = None;
    while address.is_none() || secret.is_none() || kid.is_none() {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("ferrid logs its start-up");
        if line["message"] == "ferrid is listening" {
            assert_eq!(line["issuer"], "http://127.0.0.1:8080");
            address = line["listen"].as_str().map(str::to_owned);
        }
        if line["client_id"] == "demo" {
            secret = line["client_secret"].as_str().map(str::to_owned);
        }
        if line["kid"].is_string() {
            kid = line["kid"].as_str().map(str::to_owned);
        }
    }
    let address = address.unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let token: Value = runtime.block_on(async {
        let response = oauth2::reqwest::Client::new()
            .post(format!("http://{address}/token"))
            .basic_auth("demo", secret.as_deref())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
    });
    assert_eq!(token["scope"], "read write");
    stop(child);
    kid.unwrap()
}

#[test]
fn starting_without_config_serves_a_demo_client_and_keeps_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let kid = start_issue_token_and_stop(dir.path());
    let pem = dir.path().join("keys").join(format!("{kid}.pem"));
    assert_eq!(
        std::fs::metadata(&pem).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        start_issue_token_and_stop(dir.path()),
        kid,
        "the key is reused on the next start"
    );
}

#[test]
fn the_very_first_request_after_a_first_start_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let (child, lines) = start_logging(dir.path());
    let mut address = None;
    let mut secret = None;
    while address.is_none() || secret.is_none() {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("ferrid logs its start-up");
        if line["message"] == "ferrid is listening" {
            address = line["listen"].as_str().map(str::to_owned);
        }
        if line["client_id"] == "demo" {
            secret = line["client_secret"].as_str().map(str::to_owned);
        }
    }
    let address = address.unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (token, jwks) = runtime.block_on(async {
        let client = oauth2::reqwest::Client::new();
        let token = client
            .post(format!("http://{address}/token"))
            .basic_auth("demo", secret.as_deref())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        let token = (token.status().as_u16(), token.text().await.unwrap());
        let jwks = client
            .get(format!("http://{address}/.well-known/jwks.json"))
            .send()
            .await
            .unwrap();
        (
            token,
            serde_json::from_slice::<Value>(&jwks.bytes().await.unwrap()).unwrap(),
        )
    });
    assert_eq!(token.0, 200, "{}", token.1);
    assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(1), "{jwks}");
    stop(child);
}

/// Runs the binary with no config and `FERRID_KEYS__DIR=keys_dir`; it must stop by itself.
fn refused_start(dir: &std::path::Path, keys_dir: &std::path::Path) -> (Option<i32>, String) {
    let child = ferrid(dir)
        .env("FERRID_BIND", "127.0.0.1:0")
        .env("FERRID_KEYS__DIR", keys_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let (done, outcome) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match outcome.recv_timeout(Duration::from_secs(30)) {
        Ok(output) => {
            let output = output.unwrap();
            (
                output.status.code(),
                String::from_utf8(output.stderr).unwrap(),
            )
        }
        Err(_) => {
            Command::new("kill").args(["-KILL", &pid]).status().unwrap();
            panic!("ferrid kept running with an unusable keys directory");
        }
    }
}

#[test]
fn an_unusable_keys_dir_stops_start_up_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    let (code, stderr) = refused_start(dir.path(), &file);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("keys.dir"), "{stderr}");
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");

    let corrupt = dir.path().join("corrupt");
    std::fs::create_dir(&corrupt).unwrap();
    std::fs::write(corrupt.join("ring.json"), "{ not json").unwrap();
    let (code, stderr) = refused_start(dir.path(), &corrupt);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("keys.dir"), "{stderr}");
    assert!(
        stderr.contains(&corrupt.join("ring.json").display().to_string()),
        "{stderr}"
    );
}
