use super::*;

fn config() -> ClientConfig {
    ClientConfig {
        id: "billing".into(),
        secret: Some("change-me".to_owned().into()),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["invoices:read".into()],
        ..ClientConfig::default()
    }
}

fn error_field(config: ClientConfig) -> String {
    Client::from_config(&config).unwrap_err().0
}

#[test]
fn a_confidential_client_defaults_to_basic_and_keeps_only_a_digest() {
    let client = Client::from_config(&config()).unwrap();
    assert_eq!(client.auth_method, AuthMethod::ClientSecretBasic);
    assert!(client.secret_matches("change-me"));
    assert!(!client.secret_matches("change-me "));
    assert_eq!(client.default_scopes, ["invoices:read"]);
    let json = serde_json::to_string(&client).unwrap();
    assert!(!json.contains("change-me"));
    let back: Client = serde_json::from_str(&json).unwrap();
    assert_eq!(back, client);
}

#[test]
fn secret_sha256_is_accepted() {
    let digest = hex::encode(sha256(b"change-me"));
    let client = Client::from_config(&ClientConfig {
        secret: None,
        secret_sha256: Some(digest),
        ..config()
    })
    .unwrap();
    assert!(client.secret_matches("change-me"));
}

#[test]
fn invalid_entries_name_their_field() {
    assert_eq!(
        error_field(ClientConfig {
            secret: None,
            ..config()
        }),
        "secret"
    );
    assert_eq!(
        error_field(ClientConfig {
            secret_sha256: Some("abc".into()),
            secret: None,
            ..config()
        }),
        "secret_sha256"
    );
    assert_eq!(
        error_field(ClientConfig {
            grant_types: vec!["password".into()],
            ..config()
        }),
        "grant_types"
    );
    assert_eq!(
        error_field(ClientConfig {
            scopes: vec!["bad\"scope".into()],
            ..config()
        }),
        "scopes"
    );
    assert_eq!(
        error_field(ClientConfig {
            default_scopes: Some(vec!["other".into()]),
            ..config()
        }),
        "default_scopes"
    );
    assert_eq!(
        error_field(ClientConfig {
            token_endpoint_auth_method: Some("tls".into()),
            ..config()
        }),
        "token_endpoint_auth_method"
    );
    assert_eq!(
        error_field(ClientConfig {
            token_endpoint_auth_method: Some("none".into()),
            ..config()
        }),
        "token_endpoint_auth_method"
    );
    assert_eq!(
        error_field(ClientConfig {
            public: true,
            ..config()
        }),
        "secret"
    );
    assert_eq!(
        error_field(ClientConfig {
            id: " ".into(),
            ..config()
        }),
        "id"
    );
}

#[test]
fn duplicate_ids_are_rejected() {
    let err = validate_configs(&[config(), config()]).unwrap_err();
    assert_eq!(err.key, "clients[1].id");
}

#[test]
fn a_public_client_cannot_keep_its_refresh_tokens() {
    let public = ClientConfig {
        id: "spa".into(),
        public: true,
        secret: None,
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["openid".into(), "offline_access".into()],
        redirect_uris: vec!["https://spa.example.com/cb".into()],
        refresh_token_rotation: Some("reuse".into()),
        ..ClientConfig::default()
    };
    let (field, message) = Client::from_config(&public).unwrap_err();
    assert_eq!(field, "refresh_token_rotation");
    assert!(message.contains("`spa`"), "{message}");
    let err = validate_configs(&[config(), public.clone()]).unwrap_err();
    assert!(
        err.to_string()
            .contains("clients[1].refresh_token_rotation"),
        "{err}"
    );
    // Rotating is fine, and a confidential client may keep its tokens.
    assert!(Client::from_config(&ClientConfig {
        refresh_token_rotation: Some("rotate".into()),
        ..public.clone()
    })
    .is_ok());
    assert!(Client::from_config(&ClientConfig {
        public: false,
        secret: Some("s".to_owned().into()),
        ..public
    })
    .is_ok());
}
