//! Prometheus metrics at `/metrics`: requests by route template and status, tokens issued by
//! grant, token errors by code (domain errors and malformed requests alike), logins, refresh
//! reuse, store latency, key ring state and build info — names, labels and values, read as a
//! scraper reads them. The recorder is process-global and other tests run alongside, so every
//! check is on a delta between two scrapes of a server of the test's own, never on an absolute
//! value (except in the binary test, whose process is its own). `metrics.enabled = false` and
//! `metrics.bind` are checked too.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use ferrid::http::metrics::MetricsListener;
use serde_json::Value;

use crate::common::browser::Browser;
use crate::common::grants::{grant, refresh, server_with, text};
use crate::common::{http, post_token, service_client, Backend, Options, TestServer};

/// The sum of the samples of `name` whose labels include `labels`; 0 when there is none.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, label_text) = match series.split_once('{') {
                Some((metric, rest)) => (metric, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            let wanted = metric == name
                && labels.iter().all(|(key, value)| {
                    label_text
                        .split(',')
                        .any(|pair| pair == format!("{key}=\"{value}\""))
                });
            wanted.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

async fn scrape(server: &TestServer) -> String {
    let response = http().get(server.at("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    response.text().await.unwrap()
}

/// What moved between two scrapes.
struct Delta {
    before: String,
    after: String,
}

impl Delta {
    fn of(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        sample(&self.after, name, labels) - sample(&self.before, name, labels)
    }

    fn assert_moved(&self, name: &str, labels: &[(&str, &str)], at_least: f64) {
        let delta = self.of(name, labels);
        assert!(
            delta >= at_least,
            "{name}{labels:?} moved by {delta}, expected at least {at_least}:\n{}",
            self.after
        );
    }
}

async fn token_login_refresh_and_errors_move_their_metrics(backend: Backend) {
    let server = server_with(backend, None, |settings| {
        settings.tokens.refresh_token_reuse_grace_secs = 0;
        settings
            .clients
            .push(service_client("metrics-svc", &["read"]));
    })
    .await;
    let before = scrape(&server).await;

    let issued = post_token(
        &server,
        Some(("metrics-svc", "metrics-svc-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(issued.status, 200, "{}", issued.json);
    post_token(
        &server,
        Some(("metrics-svc", "wrong")),
        &[("grant_type", "client_credentials")],
    )
    .await
    .assert_error(401, "invalid_client");
    // A repeated parameter fails in the HTTP layer, before the grant is looked at.
    post_token(
        &server,
        Some(("metrics-svc", "metrics-svc-secret")),
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await
    .assert_error(400, "invalid_request");
    let browser = Browser::new();
    let tokens = grant(&server, &browser, "app", "openid%20offline_access").await;
    let first = text(&tokens, "refresh_token");
    assert_eq!(refresh(&server, "app", &first, None).await.status, 200);
    refresh(&server, "app", &first, None)
        .await
        .assert_error(400, "invalid_grant");
    let missing = http().get(server.at("/no-such-page")).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    let after = scrape(&server).await;
    let delta = Delta { before, after };
    for grant_type in ["client_credentials", "authorization_code", "refresh_token"] {
        delta.assert_moved(
            "ferrid_tokens_issued_total",
            &[("grant_type", grant_type)],
            1.0,
        );
    }
    for error in ["invalid_client", "invalid_request", "invalid_grant"] {
        delta.assert_moved("ferrid_token_errors_total", &[("error", error)], 1.0);
    }
    delta.assert_moved("ferrid_logins_total", &[("outcome", "success")], 1.0);
    delta.assert_moved("ferrid_refresh_reuse_detected_total", &[], 1.0);
    delta.assert_moved(
        "ferrid_audit_events_total",
        &[
            ("event", "refresh_reuse_detected"),
            ("outcome", "family_revoked"),
        ],
        1.0,
    );
    let token_ok = [("method", "POST"), ("route", "/token"), ("status", "200")];
    delta.assert_moved("ferrid_http_requests_total", &token_ok, 3.0);
    delta.assert_moved(
        "ferrid_http_requests_total",
        &[("route", "/token"), ("status", "401")],
        1.0,
    );
    delta.assert_moved(
        "ferrid_http_requests_total",
        &[("method", "GET"), ("route", "unmatched"), ("status", "404")],
        1.0,
    );
    delta.assert_moved(
        "ferrid_http_requests_total",
        &[("method", "POST"), ("route", "/login"), ("status", "303")],
        1.0,
    );
    // Histograms (with buckets, so they aggregate across instances), not summaries.
    let after = &delta.after;
    for name in [
        "ferrid_http_request_duration_seconds",
        "ferrid_store_op_duration_seconds",
    ] {
        assert!(
            after.contains(&format!("# TYPE {name} histogram")),
            "{name}:\n{after}"
        );
    }
    delta.assert_moved("ferrid_http_request_duration_seconds_count", &token_ok, 3.0);
    let token_ok_inf = [token_ok.as_slice(), &[("le", "+Inf")]].concat();
    delta.assert_moved(
        "ferrid_http_request_duration_seconds_bucket",
        &token_ok_inf,
        3.0,
    );
    for op in ["get", "swap", "compare_and_swap"] {
        delta.assert_moved("ferrid_store_op_duration_seconds_count", &[("op", op)], 1.0);
    }
    assert!(after.contains("ferrid_logins_total{outcome=\"failure\"}"));
    // This server's ring: one active key, signing since the test key's activation.
    assert_eq!(
        sample(after, "ferrid_signing_keys", &[("state", "active")]),
        1.0
    );
    assert!(sample(after, "ferrid_signing_key_active_age_seconds", &[]) > 86_400.0);
    assert_eq!(
        sample(
            after,
            "ferrid_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    // Bounded labels: no client id, user or token in any series.
    for leak in ["metrics-svc", "client_id", "alice", "/no-such-page"] {
        assert!(!after.contains(leak), "{leak} in the metrics:\n{after}");
    }
    // `/metrics` answers GET only, and says so.
    let post = http().post(server.at("/metrics")).send().await.unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
}

for_each_backend!(token_login_refresh_and_errors_move_their_metrics);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_off_serves_no_metrics_and_tokens_still_work() {
    let options =
        Options::new(Backend::Memory).clients(vec![service_client("quiet-svc", &["read"])]);
    let server = TestServer::start_with(options, |settings| settings.metrics.enabled = false).await;
    let response = http().get(server.at("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let issued = post_token(
        &server,
        Some(("quiet-svc", "quiet-svc-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(issued.status, 200, "{}", issued.json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_bind_moves_metrics_to_their_own_listener() {
    let server = TestServer::start_with(Options::new(Backend::Memory), |settings| {
        settings.metrics.bind = "127.0.0.1:0".into();
    })
    .await;
    let main = http().get(server.at("/metrics")).send().await.unwrap();
    assert_eq!(main.status(), 404, "not on the main listener");
    let listener = MetricsListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr();
    let url = format!("http://{addr}/metrics");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(listener.serve(server.ctx.clone(), async {
        let _ = stopped.await;
    }));
    let response = http().get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert!(body.contains("ferrid_build_info"), "{body}");
    assert_eq!(
        sample(&body, "ferrid_signing_keys", &[("state", "active")]),
        1.0
    );
    let other = http()
        .get(format!("http://{addr}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        404,
        "the metrics listener serves nothing else"
    );
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

/// The binary with `FERRID_METRICS__BIND`: `serve` installs the recorder and opens the metrics
/// listener; its own process, so the values are exact.
#[test]
fn the_binary_serves_metrics_on_metrics_bind() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = crate::cli::ferrid(dir.path())
        .env("FERRID_BIND", "127.0.0.1:0")
        .env("FERRID_METRICS__BIND", "127.0.0.1:0")
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
    let (mut main, mut metrics, mut secret) = (None, None, None);
    while main.is_none() || metrics.is_none() || secret.is_none() {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("ferrid logs its start-up");
        let listen = line["listen"].as_str().map(str::to_owned);
        if line["message"] == "ferrid is listening" {
            main = listen;
        } else if line["message"] == "metrics are served on their own listener" {
            metrics = listen;
        } else if line["client_id"] == "demo" {
            secret = line["client_secret"].as_str().map(str::to_owned);
        }
    }
    let (main, metrics) = (main.unwrap(), metrics.unwrap());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (token, on_main, body) = runtime.block_on(async {
        let client = http();
        let token = client
            .post(format!("http://{main}/token"))
            .basic_auth("demo", secret.as_deref())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .status();
        let on_main = client
            .get(format!("http://{main}/metrics"))
            .send()
            .await
            .unwrap()
            .status();
        let body = client
            .get(format!("http://{metrics}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        (token, on_main, body)
    });
    crate::cli::stop(child);
    assert_eq!(token, 200);
    assert_eq!(on_main, 404);
    let issued = [("grant_type", "client_credentials")];
    assert_eq!(sample(&body, "ferrid_tokens_issued_total", &issued), 1.0);
    let token_ok = [("method", "POST"), ("route", "/token"), ("status", "200")];
    assert_eq!(sample(&body, "ferrid_http_requests_total", &token_ok), 1.0);
    assert_eq!(
        sample(
            &body,
            "ferrid_http_request_duration_seconds_count",
            &token_ok
        ),
        1.0
    );
    assert!(
        sample(
            &body,
            "ferrid_store_op_duration_seconds_count",
            &[("op", "get")]
        ) >= 1.0
    );
}
