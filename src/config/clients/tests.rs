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
    config.to_client_alone().unwrap_err().0
}

#[test]
fn a_confidential_client_defaults_to_basic_and_keeps_only_a_digest() {
    let client = config().to_client_alone().unwrap();
    assert_eq!(client.auth_method, AuthMethod::ClientSecretBasic);
    assert!(client.from_config);
    assert!(client.secret_matches("change-me"));
    assert!(!client.secret_matches("change-me "));
    assert_eq!(client.default_scopes, ["invoices:read"]);
    let json = serde_json::to_string(&client).unwrap();
    assert!(!json.contains("change-me"));
    let back: Client = serde_json::from_str(&json).unwrap();
    assert_eq!(back, client);
    assert!(!format!("{client:?}").contains(&hex::encode(sha256(b"change-me"))));
}

#[test]
fn secret_sha256_is_accepted() {
    let digest = hex::encode(sha256(b"change-me"));
    let client = ClientConfig {
        secret: None,
        secret_sha256: Some(digest),
        ..config()
    }
    .to_client_alone()
    .unwrap();
    assert!(client.secret_matches("change-me"));
}

#[test]
fn invalid_entries_name_their_own_key() {
    let cases: Vec<(ClientConfig, &str)> = vec![
        (
            ClientConfig {
                secret: None,
                ..config()
            },
            "secret",
        ),
        (
            ClientConfig {
                secret_sha256: Some("abc".into()),
                secret: None,
                ..config()
            },
            "secret_sha256",
        ),
        (
            ClientConfig {
                grant_types: vec!["password".into()],
                ..config()
            },
            "grant_types",
        ),
        (
            ClientConfig {
                scopes: vec!["bad\"scope".into()],
                ..config()
            },
            "scopes",
        ),
        (
            ClientConfig {
                default_scopes: Some(vec!["other".into()]),
                ..config()
            },
            "default_scopes",
        ),
        (
            ClientConfig {
                token_endpoint_auth_method: Some("tls".into()),
                ..config()
            },
            "token_endpoint_auth_method",
        ),
        (
            ClientConfig {
                token_endpoint_auth_method: Some("none".into()),
                ..config()
            },
            "token_endpoint_auth_method",
        ),
        (
            ClientConfig {
                public: true,
                ..config()
            },
            "secret",
        ),
        (
            ClientConfig {
                id: " ".into(),
                ..config()
            },
            "id",
        ),
        (
            ClientConfig {
                id: "a{b}".into(),
                ..config()
            },
            "id",
        ),
        (
            ClientConfig {
                name: Some(String::new()),
                ..config()
            },
            "name",
        ),
        (
            ClientConfig {
                grant_types: vec!["authorization_code".into()],
                redirect_uris: vec!["http://app.example.com/cb".into()],
                ..config()
            },
            "redirect_uris",
        ),
        (
            ClientConfig {
                post_logout_redirect_uris: vec!["https://app.example.com/#bye".into()],
                ..config()
            },
            "post_logout_redirect_uris",
        ),
    ];
    for (config, key) in cases {
        assert_eq!(error_field(config), key);
    }
}

#[test]
fn duplicate_ids_are_rejected() {
    let catalog = ScopeCatalog::new([], ["invoices:read"]);
    let err = validate_clients(&[config(), config()], &catalog, "https://a.example").unwrap_err();
    assert_eq!(err.key, "clients[1].id");
}

#[test]
fn declared_scopes_make_the_catalog_strict_for_config_clients() {
    let strict = ScopeCatalog::new([("reports:read", None)], ["invoices:read"]);
    let err = validate_clients(&[config()], &strict, "https://a.example").unwrap_err();
    assert_eq!(err.key, "clients[0].scopes");
    assert!(err.message.contains("invoices:read"), "{}", err.message);
    let lenient = ScopeCatalog::new([], ["invoices:read"]);
    assert!(validate_clients(&[config()], &lenient, "https://a.example").is_ok());
}

#[test]
fn scope_declarations_are_checked() {
    let scope = |name: &str| ScopeConfig {
        name: name.into(),
        description: None,
    };
    assert!(validate_scopes(&[scope("invoices:read"), scope("reports")]).is_ok());
    for bad in [
        vec![scope("openid")],
        vec![scope("a b")],
        vec![scope("x"), scope("x")],
    ] {
        let err = validate_scopes(&bad).unwrap_err();
        assert!(err.key.starts_with("scopes["), "{}", err.key);
    }
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
    let (field, message) = public.to_client_alone().unwrap_err();
    assert_eq!(field, "refresh_token_rotation");
    assert!(message.contains("`spa`"), "{message}");
    // Rotating is fine, and a confidential client may keep its tokens.
    assert!(ClientConfig {
        refresh_token_rotation: Some("rotate".into()),
        ..public.clone()
    }
    .to_client_alone()
    .is_ok());
    assert!(ClientConfig {
        public: false,
        secret: Some("s".to_owned().into()),
        ..public
    }
    .to_client_alone()
    .is_ok());
}

#[test]
fn the_swagger_ui_client_is_valid_on_any_issuer_the_config_accepts() {
    let catalog = ScopeCatalog::built_in();
    for issuer in [
        "http://127.0.0.1:8080",
        "http://localhost:8080",
        "http://auth.lan",
    ] {
        let rules = Rules {
            catalog: &catalog,
            issuer,
        };
        assert!(
            swagger_ui_client(issuer).to_client(&rules).is_ok(),
            "{issuer}"
        );
    }
}
