use std::sync::Arc;

use super::*;
use crate::clock::SystemClock;
use crate::store::memory::MemoryStore;

fn alice() -> UserConfig {
    UserConfig {
        username: "alice".into(),
        password: Some("wonderland".to_owned().into()),
        ..UserConfig::default()
    }
}

#[tokio::test]
async fn passwords_are_argon2id_and_ids_are_stable() {
    let store = MemoryStore::new(Arc::new(SystemClock));
    let first = upsert_from_config(&store, &alice()).await.unwrap();
    assert!(first.password_hash.starts_with("$argon2id$"));
    assert!(first.verify_password("wonderland"));
    assert!(!first.verify_password("Wonderland"));
    assert!(!format!("{first:?}").contains("argon2"));
    let again = upsert_from_config(
        &store,
        &UserConfig {
            name: Some("Alice".into()),
            ..alice()
        },
    )
    .await
    .unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(
        find(&store, "alice")
            .await
            .unwrap()
            .unwrap()
            .name
            .as_deref(),
        Some("Alice")
    );
}

#[test]
fn config_validation_names_the_entry() {
    assert!(validate_configs(&[alice()]).is_ok());
    let bad = UserConfig {
        username: "bob".into(),
        password: None,
        password_hash: Some("$2b$10$bcrypt".into()),
        ..alice()
    };
    assert_eq!(
        validate_configs(&[alice(), bad]).unwrap_err().key,
        "users[1].password_hash"
    );
    let hash = hash_password("x").unwrap();
    let hashed = UserConfig {
        password: None,
        password_hash: Some(hash),
        ..alice()
    };
    assert!(validate_configs(&[hashed]).is_ok());
}

#[test]
fn the_timing_equaliser_is_a_full_cost_argon2id_hash() {
    assert!(verify_hash(TIMING_EQUALISER, "ferrid timing equaliser"));
    assert!(TIMING_EQUALISER.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
}
