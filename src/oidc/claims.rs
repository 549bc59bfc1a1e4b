//! The scopes ferrid knows and what each releases: a description for the consent page and the
//! user claims userinfo returns for it (OIDC Core §5.4). Scopes a deployment defines itself are
//! shown by name and release no user claims.

use serde::{Deserialize, Serialize};

use crate::users::User;

/// A person-readable description of `scope` for the consent page.
pub fn describe(scope: &str) -> String {
    match scope {
        "openid" => "Sign you in with your ferrid account".into(),
        "profile" => "See your name and username".into(),
        "email" => "See your email address".into(),
        "roles" => "See your roles".into(),
        "offline_access" => "Stay signed in when you are not using it".into(),
        other => format!("Access `{other}`"),
    }
}

/// Claims the OIDC scopes release.
pub const SUPPORTED_CLAIMS: &[&str] = &[
    "sub",
    "name",
    "preferred_username",
    "email",
    "email_verified",
    "roles",
];

/// Claims about a user (OIDC Core §5.1); absent members were not released.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserClaims {
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
}

/// The user claims released by `scopes`, always with `sub`.
pub fn for_scopes(user: &User, scopes: &[String]) -> UserClaims {
    let has = |scope: &str| scopes.iter().any(|s| s == scope);
    let mut claims = UserClaims {
        sub: user.id.clone(),
        ..UserClaims::default()
    };
    if has("profile") {
        claims.preferred_username = Some(user.username.clone());
        claims.name = user.name.clone();
    }
    if has("email") && user.email.is_some() {
        claims.email = user.email.clone();
        claims.email_verified = Some(false);
    }
    if has("roles") {
        claims.roles = Some(user.roles.clone());
    }
    claims
}
