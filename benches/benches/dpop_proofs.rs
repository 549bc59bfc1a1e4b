//! DPoP proofs for the load benchmark's `token_client_credentials_dpop` scenario: a proof is
//! single-use and must be fresh, and wrk cannot sign, so `bench/run.sh` makes a feed of them
//! right before each run — one P-256 key (one client), a random `jti` each, `iat` now, `htm`
//! POST and `htu` the token endpoint — and `bench/wrk.lua` puts the next one in each request's
//! `DPoP` header. Proofs are ES256, the algorithm client libraries default to.
//!
//! Not a criterion benchmark: prints `FERRID_BENCH_DPOP_COUNT` proofs, one per line, for
//! `FERRID_BENCH_DPOP_HTU`. With `FERRID_BENCH_DPOP_VERIFY=1` it prints instead what verifying
//! them costs through ferrid's own verifier (`oauth::dpop::proof::verify`: parsing, the key
//! from the `jwk`, thumbprint, the ES256 verification, the claims), as one JSON line
//! `{"verify_us":…,"es256_verify_us":…,"proofs":…}` — the CPU a DPoP token request adds besides
//! the store write, and the part of it that is the ES256 verification itself.

use std::io::{BufWriter, Write};
use std::time::Instant;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ferrid::clock::{Clock, SystemClock};
use ferrid::oauth::dpop::proof::{self, Expected};

fn main() {
    let htu = std::env::var("FERRID_BENCH_DPOP_HTU").expect("FERRID_BENCH_DPOP_HTU");
    let count: usize = std::env::var("FERRID_BENCH_DPOP_COUNT")
        .ok()
        .and_then(|value| value.parse().ok())
        .expect("FERRID_BENCH_DPOP_COUNT");
    let rng = SystemRandom::new();
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("P-256 key");
    let point = key.public_key().as_ref();
    let header = format!(
        r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","crv":"P-256","x":"{}","y":"{}"}}}}"#,
        URL_SAFE_NO_PAD.encode(&point[1..33]),
        URL_SAFE_NO_PAD.encode(&point[33..65])
    );
    let header = URL_SAFE_NO_PAD.encode(header);
    let iat = SystemClock.now_secs();
    let proofs = (0..count).map(|_| {
        let jti = ferrid::secret::random_token().expect("jti");
        let claims = format!(r#"{{"jti":"{jti}","htm":"POST","htu":"{htu}","iat":{iat}}}"#);
        let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims));
        let signature = key.sign(&rng, input.as_bytes()).expect("signature");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    });
    if std::env::var("FERRID_BENCH_DPOP_VERIFY").is_ok_and(|v| v == "1") {
        let proofs: Vec<String> = proofs.collect();
        let expected = Expected {
            method: "POST",
            url: &htu,
            access_token: None,
            now: iat,
            max_age_secs: 60,
            clock_skew_secs: 5,
        };
        let started = Instant::now();
        for proof in &proofs {
            std::hint::black_box(proof::verify(proof, &expected).expect("a valid proof"));
        }
        let us = started.elapsed().as_secs_f64() * 1e6 / proofs.len().max(1) as f64;
        // The ES256 verification alone, for comparison.
        let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point);
        let started = Instant::now();
        for proof in &proofs {
            let (input, signature) = proof.rsplit_once('.').expect("a JWS");
            let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
            public
                .verify(input.as_bytes(), &signature)
                .expect("a valid signature");
        }
        let ecdsa_us = started.elapsed().as_secs_f64() * 1e6 / proofs.len().max(1) as f64;
        println!(
            "{{\"verify_us\":{us:.1},\"es256_verify_us\":{ecdsa_us:.1},\"proofs\":{}}}",
            proofs.len()
        );
        return;
    }
    let mut out = BufWriter::new(std::io::stdout().lock());
    for proof in proofs {
        writeln!(out, "{proof}").expect("stdout");
    }
}
