//! What metrics add to a client-credentials token request, measured apart from the noise of a
//! load run: the request count and latency histogram, the timed store read (the client), and the
//! audit event's counters, first with no recorder installed (`metrics.enabled = false`), then
//! with ferrid's Prometheus recorder. No log subscriber is installed, so the audit line itself
//! (written either way) costs nothing here. Compare with the CPU time per token request of the
//! load benchmark.

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ferrid::telemetry::{self, metrics, AuditEvent};

/// The metric work of one successful client-credentials request.
fn token_request_metrics(route: &Arc<str>) {
    metrics::store_op("get", Duration::from_micros(3), None);
    telemetry::record(AuditEvent::TokenIssued {
        grant_type: "client_credentials",
        client_id: "bench-service",
        sub: "bench-service",
        jti: "0123456789abcdef",
    });
    metrics::http_request(
        "POST",
        Some(route.clone().into()),
        200,
        Duration::from_micros(450),
    );
}

fn bench(c: &mut Criterion) {
    let route: Arc<str> = Arc::from("/token");
    c.bench_function("token_request_metrics_off", |b| {
        b.iter(|| token_request_metrics(std::hint::black_box(&route)))
    });
    assert!(metrics::install());
    c.bench_function("token_request_metrics_on", |b| {
        b.iter(|| token_request_metrics(std::hint::black_box(&route)))
    });
    c.bench_function("render_after_one_token_request", |b| {
        b.iter(metrics::render)
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
