use serde_json::json;

use super::validate::MetadataErrorCode;
use super::*;
use crate::oauth::scope_catalog::ScopeCatalog;

const ISSUER: &str = "https://auth.example.com";

fn catalog() -> ScopeCatalog {
    ScopeCatalog::new([("invoices:read", None)], [])
}

fn check(metadata: serde_json::Value, secret: bool) -> Result<Client, MetadataError> {
    let metadata: ClientMetadata = serde_json::from_value(metadata).unwrap();
    let catalog = catalog();
    let rules = Rules {
        catalog: &catalog,
        issuer: ISSUER,
    };
    validate("app", &metadata, secret.then(|| sha256(b"s")), &rules)
}

fn refused(metadata: serde_json::Value) -> (MetadataErrorCode, &'static str) {
    let err = check(metadata, true).unwrap_err();
    assert!(!err.description.is_empty());
    (err.code, err.field)
}

#[test]
fn rfc_7591_defaults_give_a_code_flow_client() {
    let client = check(
        json!({"redirect_uris": ["https://app.example.com/cb"], "scope": "openid invoices:read"}),
        true,
    )
    .unwrap();
    assert_eq!(client.grant_types, [GrantType::AuthorizationCode]);
    assert_eq!(client.auth_method, AuthMethod::ClientSecretBasic);
    assert_eq!(client.name, "app");
    assert_eq!(client.scopes, ["openid", "invoices:read"]);
    assert_eq!(client.default_scopes, client.scopes);
    let rendered = client.metadata();
    assert_eq!(rendered.response_types, Some(vec!["code".to_owned()]));
    // What a client is rendered as registers the same client again.
    let again = check(serde_json::to_value(&rendered).unwrap(), true).unwrap();
    assert_eq!(again, client);
}

#[test]
fn attacker_redirect_uris_are_invalid_redirect_uri() {
    for uri in [
        "https://app.example.com/cb#fragment",
        "https://*.example.com/cb",
        "https://app.example.com/*",
        "http://app.example.com/cb",
        "javascript:alert(document.cookie)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "/relative/cb",
    ] {
        assert_eq!(
            refused(json!({"redirect_uris": [uri]})),
            (MetadataErrorCode::InvalidRedirectUri, "redirect_uris"),
            "{uri}"
        );
    }
    assert_eq!(
        refused(json!({"redirect_uris": []})),
        (MetadataErrorCode::InvalidRedirectUri, "redirect_uris")
    );
    assert_eq!(
        refused(json!({
            "redirect_uris": ["https://app.example.com/cb"],
            "post_logout_redirect_uris": ["javascript:alert(1)"]
        })),
        (
            MetadataErrorCode::InvalidRedirectUri,
            "post_logout_redirect_uris"
        )
    );
    // Native apps: loopback on any port, and a private-use scheme.
    assert!(check(
        json!({"redirect_uris": ["http://127.0.0.1:49152/cb", "http://[::1]/cb", "com.example.app:/cb"]}),
        true
    )
    .is_ok());
}

#[test]
fn every_other_field_is_invalid_client_metadata() {
    let service = |extra: serde_json::Value| {
        let mut metadata = json!({"grant_types": ["client_credentials"]});
        for (key, value) in extra.as_object().unwrap() {
            metadata[key] = value.clone();
        }
        metadata
    };
    let cases = [
        (json!({"scope": "invoices:write"}), "scope"),
        (json!({"scope": "admin\"x"}), "scope"),
        (
            json!({"scope": "openid", "default_scope": "invoices:read"}),
            "default_scope",
        ),
        (json!({"grant_types": ["password"]}), "grant_types"),
        (json!({"grant_types": ["implicit"]}), "grant_types"),
        (json!({"response_types": ["token"]}), "response_types"),
        (json!({"response_types": ["code"]}), "response_types"),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt"}),
            "token_endpoint_auth_method",
        ),
        (json!({"client_name": "\u{7}"}), "client_name"),
        (
            json!({"jwks": {"keys": []}, "jwks_uri": "https://app.example.com/jwks"}),
            "jwks",
        ),
        (json!({"jwks": {"kty": "RSA"}}), "jwks"),
        (
            json!({"jwks_uri": "http://app.example.com/jwks"}),
            "jwks_uri",
        ),
        (
            json!({"allowed_cors_origins": ["*"]}),
            "allowed_cors_origins",
        ),
        (
            json!({"allowed_cors_origins": ["https://app.example.com/"]}),
            "allowed_cors_origins",
        ),
        (
            json!({"allowed_cors_origins": ["http://app.example.com"]}),
            "allowed_cors_origins",
        ),
        (
            json!({"allowed_cors_origins": ["null"]}),
            "allowed_cors_origins",
        ),
        (
            json!({"refresh_token_rotation": "sometimes"}),
            "refresh_token_rotation",
        ),
        (json!({"audiences": ["https://a b"]}), "audiences"),
    ];
    for (extra, field) in cases {
        let metadata = service(extra.clone());
        assert_eq!(
            refused(metadata),
            (MetadataErrorCode::InvalidClientMetadata, field),
            "{extra}"
        );
    }
    let client = check(
        service(json!({
            "allowed_cors_origins": ["https://app.example.com", "http://localhost:3000"],
            "jwks": {"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}]}
        })),
        true,
    )
    .unwrap();
    assert_eq!(client.allowed_cors_origins.len(), 2);
    assert!(client.jwks.is_some());
}

#[test]
fn secrets_follow_the_authentication_method() {
    let public = json!({
        "token_endpoint_auth_method": "none",
        "redirect_uris": ["https://app.example.com/cb"]
    });
    assert!(check(public.clone(), false).is_ok());
    assert_eq!(
        check(public.clone(), true).unwrap_err().field,
        "token_endpoint_auth_method"
    );
    let mut public_service = public.clone();
    public_service["grant_types"] = json!(["client_credentials"]);
    assert_eq!(
        check(public_service, false).unwrap_err().field,
        "grant_types"
    );
    let mut keeper = public;
    keeper["refresh_token_rotation"] = json!("reuse");
    assert_eq!(
        check(keeper, false).unwrap_err().field,
        "refresh_token_rotation"
    );
    let confidential = json!({"grant_types": ["client_credentials"]});
    assert_eq!(
        check(confidential, false).unwrap_err().field,
        "token_endpoint_auth_method"
    );
}

#[test]
fn client_ids_cannot_move_keys_to_another_slot() {
    for bad in ["", " app", "app ", "a{b}", "tab\tid", "é"] {
        assert!(validate::validate_client_id(bad).is_err(), "{bad:?}");
    }
    for good in ["app", "odd id:1", "billing-service", "urn:example:client"] {
        assert!(validate::validate_client_id(good).is_ok(), "{good}");
    }
}

#[test]
fn generated_ids_never_read_as_command_line_options() {
    // 0xf8 encodes as `-` first, 0xfc as `_`.
    for first in [0xf8u8, 0xfc, 0x00, 0x7f] {
        let mut bytes = [0x11u8; 16];
        bytes[0] = first;
        let id = super::id_from(bytes);
        assert_eq!(id.len(), 22);
        assert!(id.starts_with(|c: char| c.is_ascii_alphanumeric()), "{id}");
    }
    assert!(super::generate_id()
        .unwrap()
        .starts_with(|c: char| c.is_ascii_alphanumeric()));
}

#[test]
fn long_lists_are_refused_naming_the_field() {
    let origins: Vec<String> = (0..=validate::MAX_LIST_LEN)
        .map(|n| format!("https://app{n}.example.com"))
        .collect();
    let uris: Vec<String> = origins
        .iter()
        .map(|origin| format!("{origin}/cb"))
        .collect();
    assert_eq!(
        refused(
            json!({"redirect_uris": ["https://app.example.com/cb"], "allowed_cors_origins": origins})
        ),
        (
            MetadataErrorCode::InvalidClientMetadata,
            "allowed_cors_origins"
        )
    );
    assert_eq!(
        refused(json!({"redirect_uris": uris})),
        (MetadataErrorCode::InvalidClientMetadata, "redirect_uris")
    );
    let fifty: Vec<String> = uris[..validate::MAX_LIST_LEN].to_vec();
    assert!(check(json!({"redirect_uris": fifty}), true).is_ok());
}
