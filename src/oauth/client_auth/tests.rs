use std::sync::Arc;

use super::*;
use crate::config::ClientConfig;
use crate::error::ErrorCode;

async fn store_with(configs: &[ClientConfig]) -> Arc<Context> {
    let test = crate::test_support::context(|_| {});
    let store = test.ctx.store();
    crate::store::provisioned::mark(store, "test")
        .await
        .unwrap();
    for config in configs {
        clients::upsert(store, &config.to_client_alone().unwrap())
            .await
            .unwrap();
    }
    test.ctx
}

fn confidential(id: &str, method: &str) -> ClientConfig {
    ClientConfig {
        id: id.into(),
        secret: Some("right".to_owned().into()),
        token_endpoint_auth_method: Some(method.into()),
        grant_types: vec!["client_credentials".into()],
        ..ClientConfig::default()
    }
}

fn basic(id: &str, secret: &str) -> Option<BasicCredentials> {
    Some(BasicCredentials {
        client_id: id.into(),
        client_secret: SecretString::new(secret),
    })
}

fn post(id: &str, secret: &str) -> ClientCredentials {
    ClientCredentials {
        client_id: Some(id.into()),
        client_secret: Some(SecretString::new(secret)),
        ..ClientCredentials::default()
    }
}

#[tokio::test]
async fn basic_and_post_clients_authenticate() {
    let store = store_with(&[
        confidential("b", "client_secret_basic"),
        confidential("p", "client_secret_post"),
    ])
    .await;
    let creds = ClientCredentials {
        basic: basic("b", "right"),
        ..Default::default()
    };
    assert_eq!(authenticate(&store, creds).await.unwrap().client_id, "b");
    assert_eq!(
        authenticate(&store, post("p", "right"))
            .await
            .unwrap()
            .client_id,
        "p"
    );
}

#[tokio::test]
async fn failures_say_what_went_wrong() {
    let store = store_with(&[confidential("b", "client_secret_basic")]).await;
    let cases = [
        (
            ClientCredentials {
                basic: basic("b", "wrong"),
                ..Default::default()
            },
            ErrorCode::InvalidClient,
            "secret is wrong",
        ),
        (
            ClientCredentials {
                basic: basic("nobody", "x"),
                ..Default::default()
            },
            ErrorCode::InvalidClient,
            "no client is registered",
        ),
        (
            post("b", "right"),
            ErrorCode::InvalidClient,
            "client_secret_post was used but the client is registered for client_secret_basic",
        ),
        (
            ClientCredentials {
                client_id: Some("b".into()),
                ..Default::default()
            },
            ErrorCode::InvalidClient,
            "no client secret was sent",
        ),
        (
            ClientCredentials::default(),
            ErrorCode::InvalidClient,
            "authentication is required",
        ),
        (
            ClientCredentials {
                basic: basic("b", "right"),
                client_secret: Some(SecretString::new("right")),
                ..Default::default()
            },
            ErrorCode::InvalidRequest,
            "both in the Authorization header and in the",
        ),
        (
            ClientCredentials {
                basic: basic("b", "right"),
                client_id: Some("other".into()),
                ..Default::default()
            },
            ErrorCode::InvalidRequest,
            "differs",
        ),
    ];
    for (creds, code, text) in cases {
        let err = authenticate(&store, creds).await.unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        assert!(err.description().unwrap().contains(text), "{err}");
    }
}

#[tokio::test]
async fn basic_with_the_same_body_client_id_is_fine() {
    let store = store_with(&[confidential("b", "client_secret_basic")]).await;
    let creds = ClientCredentials {
        basic: basic("b", "right"),
        client_id: Some("b".into()),
        ..Default::default()
    };
    assert!(authenticate(&store, creds).await.is_ok());
}
