//! What a client may ask for through `/register`, beyond what the one client validator checks.
//! Privileges are the operator's to give, so a registration that asks for one is refused with
//! the field named (rather than silently registered without it, which would leave the developer
//! guessing): `skip_consent` (people would not be asked before the client gets their data), the
//! `admin` scope (the admin API), `introspect_any_token` (reading any token's claims),
//! `audiences` (tokens for resource servers the operator did not give it) and
//! `issue_refresh_tokens` (refresh tokens without consent to `offline_access`). In `open`
//! mode, where anyone can register, the `client_credentials` grant is refused too: it mints
//! tokens with no person's consent, so anyone could give themselves any scope of the catalog.
//! Also in `open` mode, a `jwks_uri` is refused: ferrid would fetch whatever address anyone
//! registered, from inside the operator's network; an open registration sends its keys inline
//! (`jwks`). An absent `scope` gets `DEFAULT_SCOPE` (RFC 7591 §2 lets the server choose).

use super::RegistrationError;
use crate::config::RegistrationMode;
use crate::oauth::clients::ClientMetadata;
use crate::oauth::grants::GrantType;
use crate::oauth::scope_catalog::ADMIN_SCOPE;

/// The scopes of a registration that names none.
pub const DEFAULT_SCOPE: &str = "openid profile email";

/// `metadata` with the defaults a registration gets, or the privilege it may not have.
pub fn apply(
    metadata: ClientMetadata,
    mode: RegistrationMode,
) -> Result<ClientMetadata, RegistrationError> {
    apply_within(metadata, mode, &ClientMetadata::default())
}

/// Like `apply`, for a replacement of a client that has `granted`: what the operator gave it
/// (through the admin API or the CLI) may be kept, nothing more may be asked for — so a client
/// can send back what its registration read returned.
pub fn apply_within(
    mut metadata: ClientMetadata,
    mode: RegistrationMode,
    granted: &ClientMetadata,
) -> Result<ClientMetadata, RegistrationError> {
    if metadata.skip_consent && !granted.skip_consent {
        return Err(RegistrationError::metadata(
            "skip_consent",
            "a dynamically registered client cannot skip the consent page; only the operator \
             can register such a client",
        ));
    }
    if metadata.introspect_any_token && !granted.introspect_any_token {
        return Err(RegistrationError::metadata(
            "introspect_any_token",
            "a dynamically registered client cannot introspect other clients' tokens; only the \
             operator can register such a client",
        ));
    }
    if let Some(audience) = metadata
        .audiences
        .iter()
        .find(|audience| !granted.audiences.contains(audience))
    {
        return Err(RegistrationError::metadata(
            "audiences",
            format!(
                "a dynamically registered client cannot choose the resource servers its tokens \
                 are for (`{audience}`); only the operator can give a client audiences"
            ),
        ));
    }
    if metadata.issue_refresh_tokens && !granted.issue_refresh_tokens {
        return Err(RegistrationError::metadata(
            "issue_refresh_tokens",
            "a dynamically registered client gets refresh tokens only when a person consents \
             to `offline_access`; only the operator can register a client that gets them \
             otherwise",
        ));
    }
    let has_admin = |scopes: &Option<String>| {
        scopes
            .as_deref()
            .is_some_and(|scopes| scopes.split(' ').any(|scope| scope == ADMIN_SCOPE))
    };
    for (field, value, given) in [
        ("scope", &metadata.scope, &granted.scope),
        (
            "default_scope",
            &metadata.default_scope,
            &granted.default_scope,
        ),
    ] {
        if has_admin(value) && !has_admin(given) {
            return Err(RegistrationError::metadata(
                field,
                format!(
                    "the `{ADMIN_SCOPE}` scope is not available to dynamically registered \
                     clients"
                ),
            ));
        }
    }
    let client_credentials = GrantType::ClientCredentials.as_str();
    let asks_client_credentials = |grants: &Option<Vec<String>>| {
        grants
            .iter()
            .flatten()
            .any(|grant| grant == client_credentials)
    };
    if mode == RegistrationMode::Open
        && asks_client_credentials(&metadata.grant_types)
        && !asks_client_credentials(&granted.grant_types)
    {
        return Err(RegistrationError::metadata(
            "grant_types",
            "client_credentials is not available through open registration: it issues tokens \
             without any person's consent; ask the operator for an initial access token or a \
             client",
        ));
    }
    if mode == RegistrationMode::Open
        && metadata.jwks_uri.is_some()
        && metadata.jwks_uri != granted.jwks_uri
    {
        return Err(RegistrationError::metadata(
            "jwks_uri",
            "open registration takes the client's keys inline as `jwks`, not a `jwks_uri` \
             ferrid would fetch; ask the operator for an initial access token to register a \
             jwks_uri",
        ));
    }
    if metadata.scope.is_none() {
        metadata.scope = Some(DEFAULT_SCOPE.to_owned());
    }
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_field(metadata: ClientMetadata, mode: RegistrationMode) -> &'static str {
        match apply(metadata, mode) {
            Err(RegistrationError::Metadata(err)) => err.field,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn privileges_are_refused_with_the_field_named() {
        let mode = RegistrationMode::InitialAccessToken;
        let skip = ClientMetadata {
            skip_consent: true,
            ..ClientMetadata::default()
        };
        assert_eq!(refused_field(skip, mode), "skip_consent");
        let introspect = ClientMetadata {
            introspect_any_token: true,
            ..ClientMetadata::default()
        };
        assert_eq!(refused_field(introspect, mode), "introspect_any_token");
        let admin = ClientMetadata {
            scope: Some("openid admin".into()),
            ..ClientMetadata::default()
        };
        assert_eq!(refused_field(admin, mode), "scope");
        let admin_default = ClientMetadata {
            default_scope: Some("admin".into()),
            ..ClientMetadata::default()
        };
        assert_eq!(refused_field(admin_default, mode), "default_scope");
        let audiences = ClientMetadata {
            audiences: vec!["https://payments.internal".into()],
            ..ClientMetadata::default()
        };
        assert_eq!(refused_field(audiences, mode), "audiences");
        let refresh = ClientMetadata {
            issue_refresh_tokens: true,
            ..ClientMetadata::default()
        };
        assert_eq!(refused_field(refresh, mode), "issue_refresh_tokens");
    }

    #[test]
    fn a_replacement_keeps_what_the_operator_granted_and_asks_for_nothing_more() {
        let granted = ClientMetadata {
            audiences: vec!["https://payments.internal".into()],
            issue_refresh_tokens: true,
            ..ClientMetadata::default()
        };
        let mode = RegistrationMode::InitialAccessToken;
        assert!(apply_within(granted.clone(), mode, &granted).is_ok());
        let more = ClientMetadata {
            audiences: vec![
                "https://payments.internal".into(),
                "https://ledger.internal".into(),
            ],
            ..granted.clone()
        };
        match apply_within(more, mode, &granted) {
            Err(RegistrationError::Metadata(err)) => assert_eq!(err.field, "audiences"),
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_jwks_uri_needs_more_than_open_registration() {
        let fetched = ClientMetadata {
            jwks_uri: Some("https://keys.example.com/jwks.json".into()),
            ..ClientMetadata::default()
        };
        assert_eq!(
            refused_field(fetched.clone(), RegistrationMode::Open),
            "jwks_uri"
        );
        assert!(apply(fetched, RegistrationMode::InitialAccessToken).is_ok());
    }

    #[test]
    fn client_credentials_needs_more_than_open_registration() {
        let machine = ClientMetadata {
            grant_types: Some(vec!["client_credentials".into()]),
            ..ClientMetadata::default()
        };
        assert_eq!(
            refused_field(machine.clone(), RegistrationMode::Open),
            "grant_types"
        );
        assert!(apply(machine, RegistrationMode::InitialAccessToken).is_ok());
    }

    #[test]
    fn an_absent_scope_gets_the_default_and_a_given_one_stays() {
        let mode = RegistrationMode::Open;
        let absent = apply(ClientMetadata::default(), mode).unwrap();
        assert_eq!(absent.scope.as_deref(), Some(DEFAULT_SCOPE));
        let given = ClientMetadata {
            scope: Some("openid".into()),
            ..ClientMetadata::default()
        };
        assert_eq!(apply(given, mode).unwrap().scope.as_deref(), Some("openid"));
    }
}
