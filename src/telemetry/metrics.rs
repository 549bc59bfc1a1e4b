//! Prometheus metrics: the one list of ferrid's metric names and labels, and the recorder that
//! renders them. ferrid uses the `metrics` facade with `metrics-exporter-prometheus` (no HTTP
//! listener or push gateway of its own: `/metrics` is a poem route), because the facade's
//! recorder is reachable from anywhere — the audit module counts what it logs without a
//! registry threaded through every domain call. The price is that the recorder is
//! process-global: `install` puts it in place once (a `OnceLock`; later calls are no-ops, so
//! several servers in one process share it), and until then every function here does nothing.
//!
//! Labels are bounded by construction: routes are the router's templates (`unmatched` for
//! anything it did not route), methods outside the standard set are `other`, and no label ever
//! carries a client id, a user or a token. Durations are histograms with fixed buckets, so they
//! aggregate across instances (the exporter would render summaries otherwise).

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram, SharedString};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests served, by `method`, `route` and `status`.
pub const HTTP_REQUESTS: &str = "ferrid_http_requests_total";
/// Request latency, by `method`, `route` and `status`.
pub const HTTP_DURATION: &str = "ferrid_http_request_duration_seconds";
/// Access tokens issued, by `grant_type`.
pub const TOKENS_ISSUED: &str = "ferrid_tokens_issued_total";
/// Token-endpoint errors, by RFC 6749 `error` code.
pub const TOKEN_ERRORS: &str = "ferrid_token_errors_total";
/// Login attempts, by `outcome`: `success`, `failure`, `throttled`.
pub const LOGINS: &str = "ferrid_logins_total";
/// Rotated refresh tokens presented again (their family is revoked).
pub const REFRESH_REUSE: &str = "ferrid_refresh_reuse_detected_total";
/// Every audit event, by `event` and `outcome`.
pub const AUDIT_EVENTS: &str = "ferrid_audit_events_total";
/// Keys in the ring, by `state`: `next`, `active`, `retired`.
pub const SIGNING_KEYS: &str = "ferrid_signing_keys";
/// Seconds since the active signing key started signing.
pub const ACTIVE_KEY_AGE: &str = "ferrid_signing_key_active_age_seconds";
/// Store operation latency, by `op`.
pub const STORE_DURATION: &str = "ferrid_store_op_duration_seconds";
/// Failed store operations, by `op` and `kind` (`unavailable`, `corrupt`, `backend`).
pub const STORE_ERRORS: &str = "ferrid_store_errors_total";
/// Client-record lookups on the Redis store's in-process cache, by `result`: `hit`, `miss`
/// (read from Redis), `bypass` (read from Redis: the cache is not trusted while its pub/sub
/// subscription is down).
pub const CLIENT_CACHE: &str = "ferrid_client_cache_lookups_total";
/// Always 1, labelled with the running `version`.
pub const BUILD_INFO: &str = "ferrid_build_info";

/// HTTP latency buckets, seconds: a token request costs about a millisecond (one RSA
/// signature), a JWKS request tens of microseconds, a login (Argon2id) tens of milliseconds.
const HTTP_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
/// Store latency buckets, seconds: a memory-store call takes microseconds, a Redis round trip
/// on a LAN a few hundred.
const STORE_BUCKETS: [f64; 13] = [
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25,
    1.0,
];

/// How often histogram samples are folded into their buckets when nobody scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder, once; `true` when ferrid's recorder is in place (it may
/// have been installed by an earlier call). `false` when another recorder was installed first
/// (ferrid embedded in a program with its own), logged once.
pub fn install() -> bool {
    RECORDER
        .get_or_init(|| match build().and_then(PrometheusBuilder::install_recorder) {
            Ok(handle) => {
                describe();
                Some(handle)
            }
            Err(err) => {
                tracing::warn!(error = %err, "metrics recorder not installed; /metrics will be empty");
                None
            }
        })
        .is_some()
}

fn build() -> Result<PrometheusBuilder, BuildError> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), &HTTP_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(STORE_DURATION.into()), &STORE_BUCKETS)
}

/// HELP lines, and the series that should read 0 before anything happened.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(HTTP_REQUESTS, "HTTP requests served");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "HTTP request latency");
    describe_counter!(TOKENS_ISSUED, "Access tokens issued, by grant type");
    describe_counter!(
        TOKEN_ERRORS,
        "Token endpoint errors, by RFC 6749 error code"
    );
    describe_counter!(LOGINS, "Login attempts, by outcome");
    describe_counter!(
        REFRESH_REUSE,
        "Rotated refresh tokens presented again; each revoked its family"
    );
    describe_counter!(AUDIT_EVENTS, "Audit events, by event and outcome");
    describe_gauge!(SIGNING_KEYS, "Signing keys in the ring, by state");
    describe_gauge!(
        ACTIVE_KEY_AGE,
        Unit::Seconds,
        "Time since the active signing key started signing"
    );
    describe_histogram!(STORE_DURATION, Unit::Seconds, "Store operation latency");
    describe_counter!(STORE_ERRORS, "Failed store operations");
    describe_counter!(
        CLIENT_CACHE,
        "Client lookups on the in-process client cache (Redis store), by result"
    );
    describe_gauge!(BUILD_INFO, "Always 1; the version label names the build");
    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    for outcome in ["success", "failure", "throttled"] {
        counter!(LOGINS, "outcome" => outcome).increment(0);
    }
    counter!(REFRESH_REUSE).increment(0);
}

/// Whether ferrid's recorder is installed (metrics are being collected).
pub fn enabled() -> bool {
    matches!(RECORDER.get(), Some(Some(_)))
}

/// The current metrics in the Prometheus text format; `None` without a recorder.
pub fn render() -> Option<String> {
    RECORDER.get()?.as_ref().map(PrometheusHandle::render)
}

/// Folds histogram samples into their buckets every few seconds, so memory stays flat when
/// nobody scrapes (rendering does the same). Runs for as long as ferrid does.
pub async fn upkeep() {
    let Some(Some(handle)) = RECORDER.get() else {
        return;
    };
    let mut interval = tokio::time::interval(UPKEEP_INTERVAL);
    loop {
        interval.tick().await;
        handle.run_upkeep();
    }
}

/// Counts and times one HTTP request. `route` is the router's template, never the raw path.
pub fn http_request(method: &str, route: Option<SharedString>, status: u16, elapsed: Duration) {
    if !enabled() {
        return;
    }
    let method = method_label(method);
    let route = route.unwrap_or(SharedString::const_str("unmatched"));
    let status = status_label(status);
    let labels = [
        ("method", SharedString::const_str(method)),
        ("route", route),
        ("status", status),
    ];
    counter!(HTTP_REQUESTS, &labels).increment(1);
    histogram!(HTTP_DURATION, &labels).record(elapsed.as_secs_f64());
}

/// Counts a token-endpoint error by its RFC 6749 code.
pub fn token_error(code: &'static str) {
    if enabled() {
        counter!(TOKEN_ERRORS, "error" => code).increment(1);
    }
}

/// Times one store operation, and counts it when it failed (`error_kind`).
pub fn store_op(op: &'static str, elapsed: Duration, error_kind: Option<&'static str>) {
    if !enabled() {
        return;
    }
    histogram!(STORE_DURATION, "op" => op).record(elapsed.as_secs_f64());
    if let Some(kind) = error_kind {
        counter!(STORE_ERRORS, "op" => op, "kind" => kind).increment(1);
    }
}

/// Counts one lookup on the client cache: `hit`, `miss` or `bypass`.
pub fn client_cache(result: &'static str) {
    if enabled() {
        counter!(CLIENT_CACHE, "result" => result).increment(1);
    }
}

/// The key ring's state: how many keys are in each state, and how long the active key has been
/// signing.
pub fn key_ring(states: &[&'static str], active_age_secs: u64) {
    if !enabled() {
        return;
    }
    for state in ["next", "active", "retired"] {
        let count = states.iter().filter(|s| **s == state).count();
        gauge!(SIGNING_KEYS, "state" => state).set(count as f64);
    }
    gauge!(ACTIVE_KEY_AGE).set(active_age_secs as f64);
}

/// Counts an audit event: every event by name and outcome, and the named series operators
/// alert on. Called by `audit::record` only, so a log line and its count cannot drift apart.
pub(super) fn audit_event(event: &'static str, outcome: &'static str, grant_type: Option<&str>) {
    if !enabled() {
        return;
    }
    counter!(AUDIT_EVENTS, "event" => event, "outcome" => outcome).increment(1);
    match event {
        "login" => counter!(LOGINS, "outcome" => outcome).increment(1),
        "refresh_reuse_detected" => counter!(REFRESH_REUSE).increment(1),
        "token_issued" => {
            let grant_type = grant_label(grant_type.unwrap_or_default());
            counter!(TOKENS_ISSUED, "grant_type" => grant_type).increment(1)
        }
        _ => {}
    }
}

fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

fn grant_label(grant_type: &str) -> &'static str {
    match grant_type {
        "authorization_code" => "authorization_code",
        "client_credentials" => "client_credentials",
        "refresh_token" => "refresh_token",
        _ => "other",
    }
}

fn status_label(status: u16) -> SharedString {
    let common = match status {
        200 => "200",
        204 => "204",
        302 => "302",
        303 => "303",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        413 => "413",
        500 => "500",
        503 => "503",
        _ => return SharedString::from(status.to_string()),
    };
    SharedString::const_str(common)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_within_a_fixed_set() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("BREW"), "other");
        assert_eq!(grant_label("urn:made-up"), "other");
        assert_eq!(&*status_label(200), "200");
        assert_eq!(&*status_label(418), "418");
    }
}
