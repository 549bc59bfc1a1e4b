//! ferrid serving HTTPS itself (`tls.cert` / `tls.key`, a chain from the test CA): a client app
//! that trusts only that CA gets tokens by client credentials and by the code flow (the `oauth2`
//! crate, as in the plain-HTTP tests); responses carry HSTS and the browser cookies are `Secure`
//! with the `__Host-` prefix; a connection made before serving starts is served;
//! `ferrid healthcheck` speaks TLS to it, trusting exactly its certificate; and start-up refuses
//! TLS files it cannot use, naming the setting, with exit code 2.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use ferrid::clock::SystemClock;
use ferrid::config::{Identity, Settings};
use ferrid::http::server::Bound;
use ferrid::store::memory::MemoryStore;
use jsonwebtoken::{Algorithm, Validation};
use oauth2::basic::BasicClient;
use oauth2::reqwest::header::SET_COOKIE;
use oauth2::{ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use rustls::pki_types::pem::PemObject;
use serde_json::Value;

use crate::check::check;
use crate::cli::ferrid;
use crate::common::browser::{callback, consent, log_in, Browser};
use crate::common::code_flow::{self, alice, jwks_key, oauth_client, web_app};
use crate::common::{http, service_client, tls, Backend, Options, Reply, TestServer};

const HSTS: &str = "max-age=31536000";

async fn https_server(clients: Vec<ferrid::config::ClientConfig>) -> TestServer {
    let options = Options {
        tls: true,
        ..Options::new(Backend::Memory).clients(clients)
    };
    TestServer::start_with(options, |settings| settings.users = vec![alice()]).await
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_over_https() {
    let server = https_server(vec![service_client("svc", &["read"])]).await;
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let discovery = Reply::from(
        http()
            .get(server.at("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(discovery.status, 200);
    assert_eq!(discovery.header("strict-transport-security"), Some(HSTS));
    assert_eq!(discovery.json["issuer"], server.url.as_str());
    let token_endpoint = discovery.json["token_endpoint"].as_str().unwrap();
    assert!(token_endpoint.starts_with("https://"), "{token_endpoint}");

    let token = BasicClient::new(ClientId::new("svc".into()))
        .set_client_secret(ClientSecret::new("svc-secret".into()))
        .set_token_uri(TokenUrl::new(token_endpoint.into()).unwrap())
        .exchange_client_credentials()
        .add_scope(Scope::new("read".into()))
        .request_async(&http())
        .await
        .unwrap();
    let token = token.access_token().secret();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&server.url]);
    validation.set_audience(&[&server.url]);
    let claims = jsonwebtoken::decode::<Value>(token, &jwks_key(&server, token).await, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["client_id"], "svc");

    // It really is TLS with the test CA's certificate: a client trusting the public roots
    // refuses it, and plain HTTP to the port gets no answer.
    let public_roots = oauth2::reqwest::Client::new()
        .get(server.at("/healthz"))
        .send()
        .await;
    assert!(public_roots.is_err(), "{public_roots:?}");
    let plain = http()
        .get(format!(
            "{}/healthz",
            server.url.replacen("https", "http", 1)
        ))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");
}

fn set_cookies(headers: &oauth2::reqwest::header::HeaderMap) -> Vec<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect()
}

fn assert_host_cookie(cookies: &[String], name: &str) {
    let cookie = cookies
        .iter()
        .find(|cookie| cookie.starts_with(&format!("__Host-{name}=")))
        .unwrap_or_else(|| panic!("no __Host-{name} cookie in {cookies:?}"));
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_flow_over_https() {
    let server = https_server(vec![web_app("webapp")]).await;
    let client = oauth_client(&server, "webapp", Some("webapp-secret"));
    let browser = Browser::new();
    let start = code_flow::start(&client, &["openid", "profile"], "n-0S6_WzA2Mj", &[]);
    let page = browser.get(&start.url).await;
    assert_eq!(page.headers["strict-transport-security"], HSTS);
    assert_host_cookie(&set_cookies(&page.headers), "ferrid-bind");
    let page = log_in(&server, &browser, page, "wonderland").await;
    assert_host_cookie(&set_cookies(&page.headers), "ferrid-session");
    let page = consent(&server, &browser, page, "allow").await;
    let params = callback(&page);
    assert_eq!(params["state"], start.state);

    let tokens = code_flow::exchange(&client, &params["code"], start.verifier)
        .await
        .unwrap();
    let id_token = tokens.extra_fields().id_token.as_deref().unwrap();
    let claims = code_flow::verify_id_token(&server, id_token, "webapp").await;
    assert_eq!(claims["iss"], server.url.as_str());
    let userinfo = code_flow::userinfo(&server, tokens.access_token().secret()).await;
    assert_eq!(userinfo.status, 200);
    assert_eq!(userinfo.json["name"], "Alice Liddell");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_follows_an_https_issuer_behind_a_proxy() {
    let server = TestServer::start(Backend::Memory, vec![]).await;
    let reply = Reply::from(http().get(server.at("/healthz")).send().await.unwrap()).await;
    assert_eq!(reply.header("strict-transport-security"), None);

    // Plain HTTP behind a TLS-terminating proxy: the browser reached ferrid over https.
    let server = TestServer::start_with(Options::new(Backend::Memory), |settings| {
        settings.issuer = "https://auth.example.com".into();
    })
    .await;
    for path in ["/healthz", "/no-such-page", "/.well-known/jwks.json"] {
        let reply = Reply::from(http().get(server.at(path)).send().await.unwrap()).await;
        assert_eq!(
            reply.header("strict-transport-security"),
            Some(HSTS),
            "{path}"
        );
    }
}

/// GET /healthz over TLS on a connection that was already open, trusting the test CA.
fn get_healthz(stream: std::net::TcpStream) -> String {
    let mut roots = rustls::RootCertStore::empty();
    let ca = rustls::pki_types::CertificateDer::from_pem_slice(tls::ca().pem().as_bytes());
    roots.add(ca.unwrap()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(connection, stream);
    let sent =
        tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let mut status = String::new();
    match sent.and_then(|()| BufReader::new(&mut tls).read_line(&mut status)) {
        Ok(_) => status.trim_end().to_owned(),
        Err(err) => format!("failed: {err}"),
    }
}

/// poem's TLS acceptor waits for its configuration and for connections at once; a connection
/// already waiting when serving starts must not be dropped for want of a configuration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_waiting_when_serving_starts_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let files = tls::ca().write(dir.path(), "ferrid");
    let identity = Identity::load(("tls.cert", &files.cert), ("tls.key", &files.key)).unwrap();
    for _ in 0..16 {
        let bound = Bound::bind_with("127.0.0.1:0", Some(&identity))
            .await
            .unwrap();
        let addr = bound.local_addr();
        let settings = Settings {
            issuer: format!("https://{addr}"),
            bind: addr.to_string(),
            ..Settings::default()
        };
        let clock = Arc::new(SystemClock);
        let store = Arc::new(MemoryStore::new(clock.clone()));
        let ctx = ferrid::bootstrap::with_store(settings, store, clock).unwrap();
        // Queued by the kernel before anything accepts.
        let stream = std::net::TcpStream::connect(addr).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(bound.serve(ctx, async {
            let _ = stopped.await;
        }));
        let status = tokio::task::spawn_blocking(move || get_healthz(stream))
            .await
            .unwrap();
        assert_eq!(status, "HTTP/1.1 200 OK");
        let _ = stop.send(());
        serving.await.unwrap().unwrap();
    }
}

async fn healthcheck(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = ferrid(dir);
    command.arg("healthcheck").args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_speaks_tls_trusting_the_servers_own_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let server = https_server(vec![]).await;
    let settings = server.ctx.settings();
    let bind = settings.bind.clone();
    let (cert, key) = (
        settings.tls.cert.clone().unwrap(),
        settings.tls.key.clone().unwrap(),
    );
    let bind = Path::new(&bind);
    let env = [
        ("FERRID_BIND", bind),
        ("FERRID_TLS__CERT", cert.as_path()),
        ("FERRID_TLS__KEY", key.as_path()),
    ];
    let output = healthcheck(dir.path(), &[], &env).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let readyz = server.at("/readyz");
    let output = healthcheck(dir.path(), &["--url", &readyz], &env).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));

    // Without the TLS settings it would speak plain HTTP to a TLS port.
    let output = healthcheck(dir.path(), &[], &env[..1]).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    // Another certificate, even from the same CA, is not the server's own.
    let other = tls::ca().write(dir.path(), "other");
    let output = healthcheck(
        dir.path(),
        &[],
        &[
            ("FERRID_BIND", bind),
            ("FERRID_TLS__CERT", other.cert.as_path()),
            ("FERRID_TLS__KEY", other.key.as_path()),
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("not the one in tls.cert"),
        "{}",
        text(&output.stderr)
    );
}

/// Runs `ferrid serve` with `env` (no config file); it must stop by itself.
fn refused_start(dir: &Path, env: &[(&str, &Path)]) -> (Option<i32>, String) {
    let mut command = ferrid(dir);
    command
        .env("FERRID_BIND", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let child = command.spawn().unwrap();
    let pid = child.id().to_string();
    let (done, outcome) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match outcome.recv_timeout(Duration::from_secs(30)) {
        Ok(output) => {
            let output = output.unwrap();
            (output.status.code(), text(&output.stderr))
        }
        Err(_) => {
            std::process::Command::new("kill")
                .args(["-KILL", &pid])
                .status()
                .unwrap();
            panic!("ferrid kept running with unusable TLS files");
        }
    }
}

#[test]
fn unusable_tls_files_stop_start_up_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let files = tls::ca().write(dir.path(), "ferrid");
    let other = tls::ca().write(dir.path(), "other");
    let missing = dir.path().join("missing.crt");
    type Env<'a> = &'a [(&'a str, &'a Path)];
    let cases: [(Env, &str, &str); 4] = [
        (
            &[("FERRID_TLS__CERT", &files.cert)],
            "`tls.key`",
            "is required with `tls.cert`",
        ),
        (
            &[
                ("FERRID_TLS__CERT", &missing),
                ("FERRID_TLS__KEY", &files.key),
            ],
            "`tls.cert`",
            "cannot read",
        ),
        (
            &[
                ("FERRID_TLS__CERT", &files.cert),
                ("FERRID_TLS__KEY", &other.key),
            ],
            "`tls.key`",
            "does not belong to the first certificate",
        ),
        (
            &[
                ("FERRID_TLS__CERT", &files.cert),
                ("FERRID_TLS__KEY", &files.cert),
            ],
            "`tls.key`",
            "no private key",
        ),
    ];
    for (env, setting, problem) in cases {
        let (code, stderr) = refused_start(dir.path(), env);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains(setting), "{stderr}");
        assert!(stderr.contains(problem), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

#[test]
fn check_reads_and_matches_the_tls_files() {
    let dir = tempfile::tempdir().unwrap();
    let files = tls::ca().write(dir.path(), "ferrid");
    let other = tls::ca().write(dir.path(), "other");
    let (cert, key) = (files.cert.display(), files.key.display());
    let (cert, key) = (cert.to_string(), key.to_string());
    let output = check(
        dir.path(),
        &[("FERRID_TLS__CERT", &cert), ("FERRID_TLS__KEY", &key)],
    );
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "ok    tls: serving https: 2 certificate(s) in {cert}, with the matching key in {key}"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("issuer https://127.0.0.1:8080"), "{stdout}");

    let other_key = other.key.display().to_string();
    let output = check(
        dir.path(),
        &[("FERRID_TLS__CERT", &cert), ("FERRID_TLS__KEY", &other_key)],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("`tls.key`"));
}

/// `ferrid serve` over TLS as an operator starts it: https issuer by default, the demo client's
/// token over https, and the container health check passing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_https_and_its_healthcheck_passes() {
    let dir = tempfile::tempdir().unwrap();
    let files = tls::ca().write(dir.path(), "ferrid");
    let mut child = ferrid(dir.path())
        .env("FERRID_BIND", "127.0.0.1:0")
        .env("FERRID_LOG__FORMAT", "json")
        .env("FERRID_TLS__CERT", &files.cert)
        .env("FERRID_TLS__KEY", &files.key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(json) = serde_json::from_str(&line) {
                let _ = lines_tx.send(json);
            }
        }
    });
    let (mut address, mut secret) = (None, None);
    while address.is_none() || secret.is_none() {
        let line = tokio::task::block_in_place(|| lines.recv_timeout(Duration::from_secs(30)))
            .expect("ferrid logs its start-up");
        if line["message"] == "ferrid is listening" {
            assert_eq!(line["issuer"], "https://127.0.0.1:8080");
            assert_eq!(line["scheme"], "https");
            address = line["listen"].as_str().map(str::to_owned);
        }
        if line["client_id"] == "demo" {
            secret = line["client_secret"].as_str().map(str::to_owned);
        }
    }
    let address = address.unwrap();
    let token = http()
        .post(format!("https://{address}/token"))
        .basic_auth("demo", secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    let env = [
        ("FERRID_BIND", Path::new(&address)),
        ("FERRID_TLS__CERT", files.cert.as_path()),
        ("FERRID_TLS__KEY", files.key.as_path()),
    ];
    let output = healthcheck(dir.path(), &[], &env).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = tokio::task::block_in_place(|| child.wait()).unwrap();
    assert!(status.success(), "graceful shutdown exits 0: {status}");
}
