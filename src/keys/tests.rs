use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::*;

fn material(state: KeyState) -> KeyMaterial {
    static PKCS8: OnceLock<Vec<u8>> = OnceLock::new();
    let der = PKCS8.get_or_init(|| rsa_key::generate_pkcs8(2048).unwrap().to_vec());
    KeyMaterial::from_pkcs8(Zeroizing::new(der.clone()), state, 1_700_000_000).unwrap()
}

/// RS256 validation that accepts any audience.
fn any_audience() -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    validation
}

/// A one-key ring and an access token it signed with `claims`.
fn ring_and_token(typ: TokenType, claims: Value) -> (KeyRing, String) {
    let ring = KeyRing::from_materials(&[material(KeyState::Active)]).unwrap();
    let token = ring.sign(typ, &claims).unwrap();
    (ring, token)
}

#[test]
fn signs_rs256_with_kid_and_typ_and_verifies() {
    let (ring, token) = ring_and_token(
        TokenType::AccessToken,
        json!({"sub": "x", "exp": 4_000_000_000u64}),
    );
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.kid.as_deref(), Some(ring.active().kid()));
    let validation = any_audience();
    let claims: Value = ring.verify(&token, &validation).unwrap();
    assert_eq!(claims["sub"], "x");
}

#[test]
fn tampered_tokens_do_not_verify() {
    let (ring, token) = ring_and_token(
        TokenType::IdToken,
        json!({"sub": "x", "exp": 4_000_000_000u64}),
    );
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(r#"{"sub":"admin","exp":4000000000}"#);
    let validation = any_audience();
    assert!(ring.verify::<Value>(&parts.join("."), &validation).is_err());
}

#[test]
fn a_header_naming_another_algorithm_or_a_broken_signature_does_not_verify() {
    let (ring, token) = ring_and_token(
        TokenType::AccessToken,
        json!({"sub": "x", "exp": 4_000_000_000u64}),
    );
    let validation = any_audience();
    let parts: Vec<&str> = token.split('.').collect();

    let hs256 = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}"}}"#,
        ring.active().kid()
    ));
    let confused = [hs256.as_str(), parts[1], parts[2]].join(".");
    assert!(ring.verify::<Value>(&confused, &validation).is_err());

    let truncated = [parts[0], parts[1], &parts[2][..parts[2].len() - 4]].join(".");
    assert!(ring.verify::<Value>(&truncated, &validation).is_err());
    let not_base64 = [parts[0], parts[1], "*"].join(".");
    assert!(ring.verify::<Value>(&not_base64, &validation).is_err());
    assert!(ring.verify::<Value>("", &validation).is_err());
}

#[test]
fn the_claim_checks_still_apply_after_the_signature_check() {
    let (ring, token) = ring_and_token(
        TokenType::AccessToken,
        json!({"sub": "x", "iss": "https://a.example", "exp": 1_000u64}),
    );
    let mut validation = any_audience();
    validation.validate_exp = false;
    assert!(ring.verify::<Value>(&token, &validation).is_ok());

    validation.set_issuer(&["https://b.example"]);
    assert!(ring.verify::<Value>(&token, &validation).is_err());

    validation.set_issuer(&["https://a.example"]);
    validation.validate_exp = true;
    assert!(ring.verify::<Value>(&token, &validation).is_err());
}

#[test]
fn jwks_has_public_members_only() {
    let ring = KeyRing::from_materials(&[material(KeyState::Active)]).unwrap();
    let jwks: Value = serde_json::from_slice(ring.jwks()).unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kid"], ring.active().kid());
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    let members: Vec<&str> = key
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(!members.contains(&private), "{private} leaked");
    }
    assert!(ring.jwks_etag().starts_with('"'));
}

#[test]
fn a_ring_needs_exactly_one_active_key() {
    assert!(KeyRing::from_materials(&[material(KeyState::Next)]).is_err());
    assert!(
        KeyRing::from_materials(&[material(KeyState::Active), material(KeyState::Active)]).is_err()
    );
}

#[test]
fn a_kid_that_does_not_match_the_key_is_refused() {
    let mut wrong = material(KeyState::Active);
    wrong.kid = "not-the-thumbprint".into();
    assert!(matches!(
        SigningKey::from_material(&wrong),
        Err(KeyError::Invalid(_))
    ));
}

#[test]
fn a_ring_has_at_most_one_next_key() {
    let err = KeyRing::from_materials(&[
        material(KeyState::Active),
        material(KeyState::Next),
        material(KeyState::Next),
    ])
    .err()
    .unwrap();
    assert!(err.to_string().contains("more than one next key"), "{err}");
}

#[test]
fn a_scheduled_activation_retires_the_old_key_at_the_same_instant() {
    use super::rotation::apply;
    use super::schedule::Change;

    let old = material(KeyState::Active);
    let mut next = old.clone();
    next.kid = "next".into();
    next.lifecycle = Lifecycle::new(KeyState::Next, 1_700_000_100);
    let changes = [Change::Activate { kid: "next".into() }];
    let keys = apply(&[old.clone(), next], &changes, None, 1_800_000_000);
    assert_eq!(keys[0].state(), KeyState::Retired);
    assert_eq!(keys[0].lifecycle.retired_at, Some(1_800_000_000));
    assert_eq!(keys[1].state(), KeyState::Active);
    assert_eq!(keys[1].lifecycle.activated_at, Some(1_800_000_000));
    let removed = apply(
        &keys,
        &[Change::Remove {
            kid: old.kid.clone(),
        }],
        None,
        1_800_000_001,
    );
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].kid, "next");
}

#[test]
fn rings_written_before_rotation_existed_count_from_creation() {
    let legacy: Lifecycle =
        serde_json::from_value(json!({"state": "active", "created_at": 1_700_000_000u64})).unwrap();
    assert_eq!(legacy.normalized().activated_at, Some(1_700_000_000));
    let retired: Lifecycle =
        serde_json::from_value(json!({"state": "retired", "created_at": 5u64})).unwrap();
    assert_eq!(retired.normalized().retired_at, Some(5));
}

#[tokio::test]
async fn a_lost_ring_is_written_back_as_the_instances_held_it() {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::clock::{Clock, ManualClock};
    use crate::store::keyspace::KEY_RING;
    use crate::store::memory::MemoryStore;
    use crate::store::SharedStore;
    use live::{LiveKeys, RingOrigin};
    use persist::KeyPersistence;

    let clock = ManualClock::at_millis(1_700_000_000_000);
    let store: SharedStore = Arc::new(MemoryStore::new(Arc::new(clock.clone())));
    let instance = || {
        LiveKeys::new(
            KeyPersistence::Store {
                store: store.clone(),
                sealer: sealed::Sealer::from_secret("a-system-secret-of-32-characters").unwrap(),
            },
            schedule::Schedule::from_settings(&crate::config::Settings::default()),
            2048,
            Duration::from_secs(5),
        )
    };
    let (first, second) = (instance(), instance());
    let held = [material(KeyState::Active)];
    assert!(first.persistence().create_at(&held, 7).await.unwrap());
    for keys in [&first, &second] {
        let (_, origin) = keys.load_or_create(&clock as &dyn Clock).await.unwrap();
        assert_eq!(origin, RingOrigin::Loaded);
    }

    store.delete(KEY_RING).await.unwrap();
    let (a, b) = tokio::join!(
        first.load_or_create(&clock as &dyn Clock),
        second.load_or_create(&clock as &dyn Clock)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    // One writes the ring back; the other finds it back already, or writes nothing over it.
    assert!(a.1 == RingOrigin::Restored || b.1 == RingOrigin::Restored);
    for (ring, _) in [a, b] {
        assert_eq!(ring.revision(), 7);
        assert_eq!(ring.active().kid(), held[0].kid);
    }
    let persisted = first.persistence().load().await.unwrap().unwrap();
    assert_eq!(persisted.revision, 7);
    assert_eq!(persisted.keys[0].kid, held[0].kid);
}
