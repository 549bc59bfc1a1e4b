use super::*;
use crate::test_support::context;

fn web_app() -> ClientMetadata {
    ClientMetadata {
        client_name: Some("Photos".into()),
        redirect_uris: vec!["https://photos.example.com/cb".into()],
        ..ClientMetadata::default()
    }
}

fn open() -> crate::test_support::TestContext {
    context(|settings| settings.registration.mode = RegistrationMode::Open)
}

fn access_token(registration: &Registration) -> String {
    registration
        .registration_access_token
        .as_ref()
        .unwrap()
        .expose()
        .to_owned()
}

#[tokio::test]
async fn closed_by_default() {
    let t = context(|_| {});
    let err = register(&t.ctx, None, None, web_app()).await.unwrap_err();
    assert_eq!(err, RegistrationError::Closed);
    assert_eq!(err.status(), 403);
}

#[tokio::test]
async fn a_registration_gets_rfc_7591_defaults_and_its_own_token() {
    let t = open();
    let registration = register(&t.ctx, None, None, web_app()).await.unwrap();
    let client = &registration.client;
    assert_eq!(client.auth_method, AuthMethod::ClientSecretBasic);
    assert_eq!(
        client.metadata().grant_types.unwrap(),
        vec!["authorization_code"]
    );
    assert_eq!(client.scopes.join(" "), policy::DEFAULT_SCOPE);
    let secret = registration.client_secret.as_ref().unwrap();
    assert!(client.secret_matches(secret.expose()));
    let token = access_token(&registration);
    assert!(client.registration_token_matches(&token));
    let read = read(&t.ctx, &client.client_id, Some(&token)).await.unwrap();
    assert_eq!(&read, client);
}

#[tokio::test]
async fn a_replacement_rotates_the_token_and_keeps_the_secret() {
    let t = open();
    let registration = register(&t.ctx, None, None, web_app()).await.unwrap();
    let id = registration.client.client_id.clone();
    let old = access_token(&registration);
    let replacement = Replacement {
        client_id: Some(id.clone()),
        client_secret: registration.client_secret.clone(),
        metadata: ClientMetadata {
            client_name: Some("Photos 2".into()),
            ..web_app()
        },
    };
    let replaced = replace(&t.ctx, &id, Some(&old), replacement).await.unwrap();
    assert_eq!(replaced.client.name, "Photos 2");
    assert!(replaced.client_secret.is_none());
    let secret = registration.client_secret.as_ref().unwrap();
    assert!(replaced.client.secret_matches(secret.expose()));
    let new = access_token(&replaced);
    assert_ne!(new, old);
    assert!(matches!(
        read(&t.ctx, &id, Some(&old)).await,
        Err(RegistrationError::InvalidToken(_))
    ));
    assert!(read(&t.ctx, &id, Some(&new)).await.is_ok());
}

#[tokio::test]
async fn a_replacement_must_name_the_client_and_may_only_name_its_secret() {
    let t = open();
    let registration = register(&t.ctx, None, None, web_app()).await.unwrap();
    let id = registration.client.client_id.clone();
    let token = access_token(&registration);
    for (client_id, secret, field) in [
        (None, None, "client_id"),
        (Some("other".to_owned()), None, "client_id"),
        (Some(id.clone()), Some("wrong"), "client_secret"),
    ] {
        let replacement = Replacement {
            client_id,
            client_secret: secret.map(SecretString::new),
            metadata: web_app(),
        };
        match replace(&t.ctx, &id, Some(&token), replacement).await {
            Err(RegistrationError::Metadata(err)) => assert_eq!(err.field, field),
            other => panic!("{other:?}"),
        }
    }
    // Nothing was replaced: the token still works.
    assert!(read(&t.ctx, &id, Some(&token)).await.is_ok());
}

#[tokio::test]
async fn open_registrations_are_counted_per_address_per_hour() {
    let t = context(|settings| {
        settings.registration.mode = RegistrationMode::Open;
        settings.registration.open_registrations_per_hour = 2;
    });
    let here = Some(IpAddr::from([192, 0, 2, 7]));
    let there = Some(IpAddr::from([192, 0, 2, 8]));
    for _ in 0..2 {
        register(&t.ctx, None, here, web_app()).await.unwrap();
    }
    let refused = register(&t.ctx, None, here, web_app()).await.unwrap_err();
    assert_eq!(refused, RegistrationError::Throttled(3600));
    assert_eq!(refused.status(), 429);
    // Another address is counted on its own, and the hour ends.
    register(&t.ctx, None, there, web_app()).await.unwrap();
    t.clock.advance(OPEN_WINDOW);
    register(&t.ctx, None, here, web_app()).await.unwrap();
}

#[tokio::test]
async fn registrations_with_an_initial_access_token_are_not_counted() {
    let t = context(|settings| {
        settings.registration.mode = RegistrationMode::InitialAccessToken;
        settings.registration.open_registrations_per_hour = 1;
    });
    let minted = initial_access_token::mint(&t.ctx, 60, None).await.unwrap();
    for _ in 0..3 {
        register(&t.ctx, Some(minted.token.expose()), None, web_app())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_deletion_with_a_token_rotated_away_in_the_meantime_deletes_nothing() {
    let t = open();
    let registration = register(&t.ctx, None, None, web_app()).await.unwrap();
    let id = registration.client.client_id.clone();
    let old = access_token(&registration);
    // A replacement rotates the token after a deletion checked the old one: the deletion
    // judges the record as it is when it deletes.
    let replacement = Replacement {
        client_id: Some(id.clone()),
        client_secret: None,
        metadata: web_app(),
    };
    let replaced = replace(&t.ctx, &id, Some(&old), replacement).await.unwrap();
    let removed = admin::clients::remove_if(&t.ctx, &id, |client| {
        client.registration_token_matches(&old)
    })
    .await
    .unwrap();
    assert!(removed.is_none());
    let new = access_token(&replaced);
    assert!(read(&t.ctx, &id, Some(&new)).await.is_ok());
    delete(&t.ctx, &id, Some(&new)).await.unwrap();
    assert!(clients::find(t.ctx.store(), &id).await.unwrap().is_none());
}
