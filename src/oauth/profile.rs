//! Security profiles a client can be held to. `profile = "fapi2"` applies the FAPI 2.0 Security
//! Profile's authorization-server requirements that ferrid implements today, each as a setting
//! the profile turns on and a contradicting config refuses, naming the field:
//!
//! - a confidential client authenticating with `private_key_jwt` (RFC 7523; FAPI 2.0 §5.3.1.1
//!   allows it or mTLS, which ferrid does not implement): shared secrets are refused;
//! - pushed authorization requests only (`require_pushed_authorization_requests`, RFC 9126);
//! - sender-constrained access tokens: DPoP on every token request (`dpop_bound_access_tokens`,
//!   RFC 9449);
//! - PKCE with S256 on every authorization request, confidential or not (`Client::requires_pkce`);
//! - refresh tokens never reused as they are: `refresh_token_rotation = "reuse"` is refused. A
//!   retry with the just-rotated token still gets its successor within
//!   `tokens.refresh_token_reuse_grace_secs`, which is how a lost refresh response is survived;
//! - a client assertion's `aud` is the issuer alone, even with
//!   `private_key_jwt.accept_endpoint_audience` on (`client_auth::authenticate_assertion`);
//! - `iss` in every authorization response (RFC 9207) and codes of at most 60 s hold for every
//!   client already; the assertion below keeps the second true.

use serde::{Deserialize, Serialize};

use crate::oauth::clients::ClientMetadata;
use crate::oauth::codes::CODE_TTL;

// FAPI 2.0: authorization codes live at most 60 seconds.
const _: () = assert!(CODE_TTL.as_secs() <= 60);

/// The profile a client is held to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// ferrid's own defaults.
    #[default]
    Standard,
    /// The FAPI 2.0 Security Profile.
    Fapi2,
}

/// The per-client settings a profile decides, resolved from a config entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    pub profile: Profile,
    pub dpop_bound_access_tokens: bool,
    pub require_pushed_authorization_requests: bool,
}

/// Resolves the profile of a client registered with `config`; the error names the field that
/// contradicts it.
pub fn resolve(config: &ClientMetadata) -> Result<Resolved, (&'static str, String)> {
    let fail = |field: &'static str, message: String| Err((field, message));
    let profile = match config.profile.as_deref() {
        None | Some("") => Profile::Standard,
        Some("fapi2") => Profile::Fapi2,
        Some(other) => {
            return fail(
                "profile",
                format!("`{other}` is not a profile; use `fapi2`"),
            )
        }
    };
    if profile == Profile::Standard {
        return Ok(Resolved {
            profile,
            dpop_bound_access_tokens: config.dpop_bound_access_tokens.unwrap_or(false),
            require_pushed_authorization_requests: config
                .require_pushed_authorization_requests
                .unwrap_or(false),
        });
    }
    let contradiction = |requirement: &str| {
        format!("profile `fapi2` requires {requirement}; remove the setting or the profile")
    };
    if config.token_endpoint_auth_method.as_deref() == Some("none") {
        return fail(
            "token_endpoint_auth_method",
            contradiction("a confidential client"),
        );
    }
    if config.require_pushed_authorization_requests == Some(false) {
        return fail(
            "require_pushed_authorization_requests",
            contradiction("pushed authorization requests (PAR)"),
        );
    }
    if config.dpop_bound_access_tokens == Some(false) {
        return fail(
            "dpop_bound_access_tokens",
            contradiction("sender-constrained (DPoP) access tokens"),
        );
    }
    if config.refresh_token_rotation.as_deref() == Some("reuse") {
        return fail(
            "refresh_token_rotation",
            contradiction("refresh tokens that are not reused (`rotate`)"),
        );
    }
    // RFC 7591 §2: an absent method means client_secret_basic, which the profile refuses.
    let method = config
        .token_endpoint_auth_method
        .as_deref()
        .unwrap_or("client_secret_basic");
    check_auth_method(method).map_err(|message| ("token_endpoint_auth_method", message))?;
    Ok(Resolved {
        profile,
        dpop_bound_access_tokens: true,
        require_pushed_authorization_requests: true,
    })
}

/// The client authentication methods a `fapi2` client may register. FAPI 2.0 §5.3.1.1 allows
/// only `private_key_jwt` and mTLS; ferrid has no mTLS, so `private_key_jwt` it is.
fn check_auth_method(method: &str) -> Result<(), String> {
    match method {
        "private_key_jwt" => Ok(()),
        other => Err(format!(
            "profile `fapi2` requires private_key_jwt client authentication (FAPI 2.0 section \
             5.3.1.1); `{other}` is not allowed, remove the setting or the profile"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::ClientConfig;

    fn fapi(change: impl FnOnce(&mut ClientConfig)) -> Result<Resolved, (&'static str, String)> {
        let mut config = ClientConfig {
            id: "bank".into(),
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            jwks_uri: Some("https://bank.example.com/jwks.json".into()),
            profile: Some("fapi2".into()),
            ..ClientConfig::default()
        };
        change(&mut config);
        resolve(&config.metadata())
    }

    #[test]
    fn fapi2_turns_on_par_and_dpop() {
        let resolved = fapi(|_| {}).unwrap();
        assert_eq!(resolved.profile, Profile::Fapi2);
        assert!(resolved.dpop_bound_access_tokens);
        assert!(resolved.require_pushed_authorization_requests);
        let explicit = fapi(|c| {
            c.dpop_bound_access_tokens = Some(true);
            c.require_pushed_authorization_requests = Some(true);
        });
        assert_eq!(explicit.unwrap(), resolved);
    }

    #[test]
    fn a_contradicting_setting_is_refused_by_name() {
        let field = |change: fn(&mut ClientConfig)| fapi(change).unwrap_err().0;
        let public = |c: &mut ClientConfig| {
            c.public = true;
            c.token_endpoint_auth_method = None;
        };
        assert_eq!(field(public), "token_endpoint_auth_method");
        assert_eq!(
            field(|c| c.require_pushed_authorization_requests = Some(false)),
            "require_pushed_authorization_requests"
        );
        assert_eq!(
            field(|c| c.dpop_bound_access_tokens = Some(false)),
            "dpop_bound_access_tokens"
        );
        assert_eq!(
            field(|c| c.refresh_token_rotation = Some("reuse".into())),
            "refresh_token_rotation"
        );
        assert_eq!(
            field(|c| c.token_endpoint_auth_method = Some("none".into())),
            "token_endpoint_auth_method"
        );
        for secret_method in ["client_secret_basic", "client_secret_post"] {
            let err = fapi(|c| c.token_endpoint_auth_method = Some(secret_method.into()));
            let (field, message) = err.unwrap_err();
            assert_eq!(field, "token_endpoint_auth_method");
            assert!(message.contains("private_key_jwt"), "{message}");
        }
        // RFC 7591: no method at all means client_secret_basic.
        let metadata = ClientMetadata {
            profile: Some("fapi2".into()),
            ..ClientMetadata::default()
        };
        assert_eq!(
            resolve(&metadata).unwrap_err().0,
            "token_endpoint_auth_method"
        );
        assert_eq!(field(|c| c.profile = Some("fapi1".into())), "profile");
    }

    #[test]
    fn without_a_profile_the_settings_are_the_clients() {
        let config = ClientConfig {
            require_pushed_authorization_requests: Some(true),
            ..ClientConfig::default()
        };
        let resolved = resolve(&config.metadata()).unwrap();
        assert_eq!(resolved.profile, Profile::Standard);
        assert!(resolved.require_pushed_authorization_requests);
        assert!(!resolved.dpop_bound_access_tokens);
    }
}
