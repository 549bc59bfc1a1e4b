//! Proof verification from the attacker's side: every way a proof can be wrong is refused with
//! `invalid_dpop_proof` and a description naming the check; replays and nonces on the memory
//! store with a manual clock.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, RsaSubjectPublicKey,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use super::*;
use crate::error::ErrorCode;
use crate::test_support::{self, START_MILLIS};

const NOW: u64 = START_MILLIS / 1000;
const URL: &str = "https://auth.example.com/token";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A key pair a client could hold.
enum Key {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair, &'static str),
    Ed(Ed25519KeyPair),
}

impl Key {
    fn ec() -> Self {
        Self::Ec(EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap())
    }

    fn alg(&self) -> &'static str {
        match self {
            Self::Ec(_) => "ES256",
            Self::Rsa(_, alg) => alg,
            Self::Ed(_) => "EdDSA",
        }
    }

    fn jwk(&self) -> Value {
        match self {
            Self::Ec(pair) => {
                let point = pair.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..])})
            }
            Self::Rsa(pair, _) => {
                let public: &RsaSubjectPublicKey = pair.public_key();
                json!({
                    "kty": "RSA",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                })
            }
            Self::Ed(pair) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref())})
            }
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Self::Ec(pair) => pair.sign(&rng, message).unwrap().as_ref().to_vec(),
            Self::Rsa(pair, alg) => {
                let padding: &dyn signature::RsaEncoding = if *alg == "PS256" {
                    &signature::RSA_PSS_SHA256
                } else {
                    &signature::RSA_PKCS1_SHA256
                };
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, message, &mut out).unwrap();
                out
            }
            Self::Ed(pair) => pair.sign(message).as_ref().to_vec(),
        }
    }

    /// A compact JWS of `header` and `claims`, signed by this key.
    fn jws(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = self.sign(input.as_bytes());
        format!("{input}.{}", b64(&signature))
    }

    fn header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": self.alg(), "jwk": self.jwk()})
    }

    /// A proof for `POST URL` at `NOW`.
    fn proof(&self) -> String {
        self.jws(&self.header(), &claims())
    }
}

fn claims() -> Value {
    json!({"jti": "jti-1", "htm": "POST", "htu": URL, "iat": NOW})
}

fn expected() -> Expected<'static> {
    Expected {
        method: "POST",
        url: URL,
        access_token: None,
        now: NOW,
        max_age_secs: 60,
        clock_skew_secs: 5,
    }
}

fn refused(result: Result<Proof, OAuthError>, reason: &str) {
    match result {
        Ok(_) => panic!("a proof that {reason} must be refused"),
        Err(err) => {
            assert_eq!(err.code(), ErrorCode::InvalidDpopProof, "{err}");
            let description = err.description().unwrap_or_default();
            assert!(description.contains(reason), "{description} / {reason}");
        }
    }
}

#[test]
fn a_valid_proof_of_each_algorithm_verifies_and_yields_the_rfc_7638_thumbprint() {
    let rsa = || RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    for key in [
        Key::ec(),
        Key::Ed(Ed25519KeyPair::generate().unwrap()),
        Key::Rsa(rsa(), "RS256"),
        Key::Rsa(rsa(), "PS256"),
    ] {
        let proof = proof::verify(&key.proof(), &expected()).unwrap();
        assert_eq!(proof.jti, "jti-1");
        assert_eq!(proof.iat, NOW);
        assert_eq!(proof.jkt.len(), 43, "{}", key.alg());
    }
}

#[test]
fn the_thumbprint_is_the_rfc_7638_example() {
    // RFC 7638 §3.1: this RSA key's thumbprint is NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs.
    let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    let jwk = json!({"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"});
    let key = jwk::ProofKey::parse(jwk.as_object().unwrap(), jwk::ProofAlgorithm::Rs256).unwrap();
    assert_eq!(
        key.thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn a_proof_for_another_method_or_url_is_refused() {
    let key = Key::ec();
    let mut other = claims();
    other["htm"] = json!("GET");
    refused(
        proof::verify(&key.jws(&key.header(), &other), &expected()),
        "htm",
    );
    for htu in [
        "https://auth.example.com/userinfo",
        "https://evil.example.com/token",
        "http://auth.example.com/token",
    ] {
        let mut other = claims();
        other["htu"] = json!(htu);
        refused(
            proof::verify(&key.jws(&key.header(), &other), &expected()),
            "htu",
        );
    }
}

#[test]
fn htu_is_compared_without_query_and_fragment_after_normalisation() {
    let key = Key::ec();
    for htu in [
        "https://auth.example.com/token?x=1",
        "https://auth.example.com/token#f",
        "HTTPS://AUTH.example.com:443/token",
    ] {
        let mut other = claims();
        other["htu"] = json!(htu);
        proof::verify(&key.jws(&key.header(), &other), &expected())
            .unwrap_or_else(|err| panic!("{htu}: {err}"));
    }
}

#[test]
fn a_stale_or_future_proof_is_refused() {
    let key = Key::ec();
    let mut old = claims();
    old["iat"] = json!(NOW - 61);
    refused(
        proof::verify(&key.jws(&key.header(), &old), &expected()),
        "in the past",
    );
    let mut future = claims();
    future["iat"] = json!(NOW + 6);
    refused(
        proof::verify(&key.jws(&key.header(), &future), &expected()),
        "future",
    );
    let mut edge = claims();
    edge["iat"] = json!(NOW - 60);
    proof::verify(&key.jws(&key.header(), &edge), &expected()).unwrap();
}

#[test]
fn a_proof_signed_by_another_key_than_its_jwk_is_refused() {
    let (signer, claimed) = (Key::ec(), Key::ec());
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": claimed.jwk()});
    refused(
        proof::verify(&signer.jws(&header, &claims()), &expected()),
        "signature",
    );
    // Claims changed after signing.
    let proof = signer.proof();
    let mut parts: Vec<&str> = proof.split('.').collect();
    let mut tampered = claims();
    tampered["htu"] = json!("https://auth.example.com/token2");
    let payload = b64(tampered.to_string().as_bytes());
    parts[1] = &payload;
    refused(proof::verify(&parts.join("."), &expected()), "signature");
}

#[test]
fn a_private_key_in_the_jwk_is_refused() {
    let key = Key::ec();
    let mut jwk = key.jwk();
    jwk["d"] = json!(b64(&[7; 32]));
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk});
    refused(
        proof::verify(&key.jws(&header, &claims()), &expected()),
        "private member `d`",
    );
}

#[test]
fn the_header_must_be_a_dpop_proof_with_an_asymmetric_algorithm_and_a_matching_key() {
    let key = Key::ec();
    let cases = [
        (
            json!({"typ": "JWT", "alg": "ES256", "jwk": key.jwk()}),
            "typ",
        ),
        (json!({"alg": "ES256", "jwk": key.jwk()}), "typ"),
        (
            json!({"typ": "dpop+jwt", "alg": "none", "jwk": key.jwk()}),
            "alg `none`",
        ),
        (
            json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": key.jwk()}),
            "alg `HS256`",
        ),
        (
            json!({"typ": "dpop+jwt", "alg": "RS256", "jwk": key.jwk()}),
            "`EC` key",
        ),
        (json!({"typ": "dpop+jwt", "alg": "ES256"}), "no jwk"),
        (
            json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.jwk(), "crit": ["x"]}),
            "crit",
        ),
    ];
    for (header, reason) in cases {
        refused(
            proof::verify(&key.jws(&header, &claims()), &expected()),
            reason,
        );
    }
    refused(proof::verify("not.a-jwt", &expected()), "compact JWS");
    refused(proof::verify(&"a".repeat(9000), &expected()), "longer");
}

#[test]
fn claims_must_be_complete() {
    let key = Key::ec();
    for (member, reason) in [
        ("jti", "jti"),
        ("htm", "htm"),
        ("htu", "htu"),
        ("iat", "iat"),
    ] {
        let mut incomplete = claims();
        incomplete.as_object_mut().unwrap().remove(member);
        refused(
            proof::verify(&key.jws(&key.header(), &incomplete), &expected()),
            reason,
        );
    }
}

#[test]
fn with_an_access_token_the_proof_must_carry_its_hash() {
    let key = Key::ec();
    let with_token = Expected {
        access_token: Some("the-token"),
        ..expected()
    };
    refused(proof::verify(&key.proof(), &with_token), "ath is missing");
    let mut wrong = claims();
    wrong["ath"] = json!(access_token_hash("another-token"));
    refused(
        proof::verify(&key.jws(&key.header(), &wrong), &with_token),
        "ath is not",
    );
    let mut right = claims();
    right["ath"] = json!(access_token_hash("the-token"));
    proof::verify(&key.jws(&key.header(), &right), &with_token).unwrap();
}

fn request(proofs: &[String]) -> DpopRequest<'_> {
    DpopRequest {
        proofs,
        method: "POST",
        url: URL,
    }
}

#[tokio::test]
async fn a_proof_is_accepted_once() {
    let t = test_support::context(|settings| settings.issuer = "https://auth.example.com".into());
    let key = Key::ec();
    let mut fresh = claims();
    fresh["iat"] = json!(t.ctx.clock().now_secs());
    let proofs = [key.jws(&key.header(), &fresh)];
    assert!(check(&t.ctx, &request(&proofs), None)
        .await
        .unwrap()
        .is_some());
    let replay = check(&t.ctx, &request(&proofs), None).await.unwrap_err();
    assert_eq!(replay.code(), ErrorCode::InvalidDpopProof);
    assert!(replay
        .description()
        .unwrap_or_default()
        .contains("already used"));
    // No header: nothing to check; two headers: refused.
    assert!(check(&t.ctx, &request(&[]), None).await.unwrap().is_none());
    let two = [proofs[0].clone(), proofs[0].clone()];
    let err = check(&t.ctx, &request(&two), None).await.unwrap_err();
    assert!(err
        .description()
        .unwrap_or_default()
        .contains("exactly one"));
}

#[tokio::test]
async fn with_nonces_required_a_proof_needs_a_current_one() {
    let t = test_support::context(|settings| settings.dpop.require_nonce = true);
    let key = Key::ec();
    let proof_with = |nonce: Option<&str>, jti: &str| {
        let mut claims = claims();
        claims["iat"] = json!(t.ctx.clock().now_secs());
        claims["jti"] = json!(jti);
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        [key.jws(&key.header(), &claims)]
    };
    let missing = check(&t.ctx, &request(&proof_with(None, "a")), None)
        .await
        .unwrap_err();
    assert_eq!(missing.code(), ErrorCode::UseDpopNonce);
    let nonce = missing.dpop_nonce().unwrap().to_owned();
    let accepted = check(&t.ctx, &request(&proof_with(Some(&nonce), "b")), None).await;
    assert!(accepted.unwrap().is_some());
    // Still good in the next window, stale after it; a forged one never is.
    t.clock
        .advance(std::time::Duration::from_secs(nonce::WINDOW_SECS));
    assert!(
        check(&t.ctx, &request(&proof_with(Some(&nonce), "c")), None)
            .await
            .is_ok()
    );
    t.clock
        .advance(std::time::Duration::from_secs(nonce::WINDOW_SECS));
    let stale = check(&t.ctx, &request(&proof_with(Some(&nonce), "d")), None)
        .await
        .unwrap_err();
    assert_eq!(stale.code(), ErrorCode::UseDpopNonce);
    assert_ne!(stale.dpop_nonce(), Some(nonce.as_str()));
    let forged = check(
        &t.ctx,
        &request(&proof_with(Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "e")),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(forged.code(), ErrorCode::UseDpopNonce);
}
