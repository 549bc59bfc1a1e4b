//! Parsing a token request as the token endpoint does: the `Authorization: Basic` header
//! (base64, then form-decoding of id and secret) and the `application/x-www-form-urlencoded`
//! body into `TokenForm` (serde_urlencoded, what poem-openapi's `Form` runs).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion};
use ferrid::http::client_auth::parse_basic;
use ferrid::http::token::TokenForm;

fn bench(c: &mut Criterion) {
    let header = format!(
        "Basic {}",
        STANDARD.encode("demo:3q2-H7yF0b1bX6mT8kQwL4pZs9eR2uV5cN0aJ7gD1fK")
    );
    c.bench_function("token_basic_header_parse", |b| {
        b.iter(|| parse_basic(std::hint::black_box(&header)).expect("credentials"))
    });

    let body =
        b"grant_type=client_credentials&scope=read+write&resource=https%3A%2F%2Fapi.example.com";
    c.bench_function("token_form_parse", |b| {
        b.iter(|| {
            serde_urlencoded::from_bytes::<TokenForm>(std::hint::black_box(body)).expect("form")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
