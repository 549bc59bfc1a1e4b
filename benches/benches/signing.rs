//! RS256 through ferrid's signer: minting an access token (`access_token::mint` → `KeyRing::sign`,
//! claims serialised and signed with the aws-lc key pair parsed once) and verifying one
//! (`KeyRing::verify`, `kid` lookup + `jsonwebtoken` with RS256 forced). Signing is the token
//! endpoint's floor; verification is what introspection and userinfo will pay per request.

use criterion::{criterion_group, criterion_main, Criterion};
use ferrid::keys::{rsa_key, KeyMaterial, KeyRing, KeyState};
use ferrid::oauth::access_token::{self, AccessTokenClaims, AccessTokenRequest};
use jsonwebtoken::{Algorithm, Validation};
use zeroize::Zeroizing;

const ISSUER: &str = "http://127.0.0.1:8080";

fn ring() -> KeyRing {
    let pkcs8 = rsa_key::generate_pkcs8(rsa_key::DEFAULT_BITS).expect("RSA key");
    let material = KeyMaterial::from_pkcs8(Zeroizing::new(pkcs8.to_vec()), KeyState::Active, 0)
        .expect("key material");
    KeyRing::from_materials(&[material]).expect("key ring")
}

fn mint(ring: &KeyRing, scopes: &[String]) -> String {
    access_token::mint(
        ring,
        AccessTokenRequest {
            jti: access_token::new_jti().expect("jti"),
            issuer: ISSUER,
            subject: "demo",
            client_id: "demo",
            audiences: vec![ISSUER.to_owned()],
            scopes,
            roles: None,
            issued_at: 1_900_000_000,
            ttl_secs: 600,
            cnf: None,
            family: None,
        },
    )
    .expect("mint")
    .token
}

fn bench(c: &mut Criterion) {
    let ring = ring();
    let scopes = vec!["read".to_owned()];
    c.bench_function("rs256_mint_access_token", |b| {
        b.iter(|| mint(&ring, &scopes))
    });

    let token = mint(&ring, &scopes);
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[ISSUER]);
    validation.validate_exp = false;
    c.bench_function("rs256_verify_access_token", |b| {
        b.iter(|| {
            ring.verify::<AccessTokenClaims>(&token, &validation)
                .expect("verify")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
