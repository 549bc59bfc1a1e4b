//! The signing ceiling: how many access tokens one core can mint per second through ferrid's own
//! path (`oauth::access_token::mint` → `KeyRing::sign`, the aws-lc key pair parsed once), with no HTTP
//! and no store. `bench/run.sh` runs it pinned to the server's core and divides the measured
//! token rate by it; that ratio is the figure tracked, since absolute numbers drift between
//! machines.
//!
//! Not a criterion benchmark: it signs in a loop for a fixed time on one thread and prints one
//! JSON line, `{"sign_ceiling_per_sec":…,"signatures":…,"secs":…,"cpu_us_per_token":…,
//! "cpu_share":…}`, where
//! `cpu_us_per_token` is the thread's CPU time per token and `cpu_share` the part of the measured time the thread was actually on the CPU (from
//! `/proc/thread-self/schedstat`): below 1.0, something else took the core and the ceiling
//! reads low.
//!
//! Environment: `FERRID_BENCH_KEYS` (a `keys/` directory; the server's, so the same key signs;
//! a key is generated there when absent), `FERRID_BENCH_SECS` (default 5),
//! `FERRID_BENCH_ISSUER` (default `http://127.0.0.1:8080`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ferrid::clock::{Clock, SystemClock};
use ferrid::keys::persist::{self, KeyPersistence};
use ferrid::keys::KeyRing;
use ferrid::oauth::access_token::{self, AccessTokenRequest};

fn main() {
    let keys = std::env::var_os("FERRID_BENCH_KEYS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("ferrid-sign-ceiling-keys"));
    let secs: f64 = std::env::var("FERRID_BENCH_SECS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(5.0);
    let issuer =
        std::env::var("FERRID_BENCH_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:8080".into());

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (ring, _) = runtime
        .block_on(persist::load_or_create(
            &KeyPersistence::Dir(keys),
            2048,
            &SystemClock,
        ))
        .expect("key ring");

    // Warm up caches and the CPU's frequency before measuring.
    mint_for(&ring, &issuer, Duration::from_millis(500));
    let on_cpu_before = on_cpu_ns();
    let (signatures, elapsed) = mint_for(&ring, &issuer, Duration::from_secs_f64(secs));
    let on_cpu = on_cpu_ns().saturating_sub(on_cpu_before);
    let per_sec = signatures as f64 / elapsed.as_secs_f64();
    let cpu_share = on_cpu as f64 / elapsed.as_nanos() as f64;
    let cpu_us = on_cpu as f64 / signatures.max(1) as f64 / 1000.0;
    println!(
        "{{\"sign_ceiling_per_sec\":{per_sec:.1},\"signatures\":{signatures},\"secs\":{:.3},\"cpu_us_per_token\":{cpu_us:.1},\"cpu_share\":{cpu_share:.3}}}",
        elapsed.as_secs_f64()
    );
}

/// Nanoseconds this thread has spent on a CPU (0 where the kernel does not say).
fn on_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Mints tokens like the client-credentials grant does, for `duration`.
fn mint_for(ring: &KeyRing, issuer: &str, duration: Duration) -> (u64, Duration) {
    let scopes = vec!["read".to_owned()];
    let started = Instant::now();
    let mut signatures = 0u64;
    while started.elapsed() < duration {
        let token = access_token::mint(
            ring,
            AccessTokenRequest {
                jti: access_token::new_jti().expect("jti"),
                issuer,
                subject: "demo",
                client_id: "demo",
                audiences: vec![issuer.to_owned()],
                scopes: &scopes,
                roles: None,
                issued_at: SystemClock.now_secs(),
                ttl_secs: 600,
                cnf: None,
                family: None,
            },
        )
        .expect("mint");
        std::hint::black_box(token.token);
        signatures += 1;
    }
    (signatures, started.elapsed())
}
