//! The scope catalog: every scope a client may be given, and what discovery publishes as
//! `scopes_supported`. It holds ferrid's built-in scopes — the OpenID Connect ones (`openid`,
//! `profile`, `email`, `offline_access`), `roles` (the user's roles in tokens and userinfo) and
//! `admin` (the admin API) — and the scopes the operator declares in `[[scopes]]`.
//!
//! Configs written before the catalog existed give clients scopes such as `invoices:read`
//! without declaring them. To keep them loading, a config without `[[scopes]]` declares
//! implicitly every scope its `[[clients]]` name. Once the operator declares any scope the
//! catalog is strict: a config client naming an undeclared scope is a configuration error, and
//! in both cases a client created at runtime (admin API, CLI, registration) can only be given
//! scopes from the catalog.

/// Where a scope in the catalog comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeOrigin {
    /// Defined by ferrid.
    BuiltIn,
    /// Declared by the operator in `[[scopes]]`.
    Declared,
    /// Named by a `[[clients]]` entry of a config without `[[scopes]]`.
    Implicit,
}

/// One scope of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogScope {
    pub name: String,
    /// What the scope grants, in words for people; `None` for implicit scopes.
    pub description: Option<String>,
    pub origin: ScopeOrigin,
}

/// The scope that opens the admin API.
pub const ADMIN_SCOPE: &str = "admin";

/// ferrid's own scopes, in the order discovery lists them.
pub const BUILT_IN: [(&str, &str); 6] = [
    ("openid", "Sign in with OpenID Connect (ID token, userinfo)"),
    ("profile", "The person's name and username"),
    ("email", "The person's email address"),
    (
        "offline_access",
        "A refresh token that outlives the browser session",
    ),
    ("roles", "The person's roles, in tokens and userinfo"),
    (
        ADMIN_SCOPE,
        "Manage clients, users and signing keys through the admin API",
    ),
];

/// The scopes clients may be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeCatalog {
    scopes: Vec<CatalogScope>,
    strict: bool,
}

impl ScopeCatalog {
    /// The built-in scopes, then `declared` (name, description), then — only when nothing is
    /// declared — every scope `client_scopes` names that is not there yet.
    pub fn new<'a>(
        declared: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
        client_scopes: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut catalog = Self {
            scopes: BUILT_IN
                .iter()
                .map(|(name, description)| CatalogScope {
                    name: (*name).to_owned(),
                    description: Some((*description).to_owned()),
                    origin: ScopeOrigin::BuiltIn,
                })
                .collect(),
            strict: false,
        };
        for (name, description) in declared {
            catalog.strict = true;
            catalog.add(name, description, ScopeOrigin::Declared);
        }
        if !catalog.strict {
            for name in client_scopes {
                catalog.add(name, None, ScopeOrigin::Implicit);
            }
        }
        catalog
    }

    /// Only ferrid's built-in scopes.
    pub fn built_in() -> Self {
        Self::new([], [])
    }

    fn add(&mut self, name: &str, description: Option<&str>, origin: ScopeOrigin) {
        if !self.contains(name) {
            self.scopes.push(CatalogScope {
                name: name.to_owned(),
                description: description.map(str::to_owned),
                origin,
            });
        }
    }

    /// Whether clients may be given `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.scopes.iter().any(|scope| scope.name == name)
    }

    /// Whether the operator declared scopes, so that config clients are held to them too.
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// Every scope, built-in first.
    pub fn scopes(&self) -> &[CatalogScope] {
        &self.scopes
    }

    /// Every scope name, built-in first: discovery's `scopes_supported`.
    pub fn names(&self) -> Vec<String> {
        self.scopes.iter().map(|scope| scope.name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undeclared_client_scopes_are_implicit_until_the_operator_declares_any() {
        let lenient = ScopeCatalog::new([], ["invoices:read", "openid", "invoices:read"]);
        assert!(!lenient.is_strict());
        assert!(lenient.contains("invoices:read"));
        assert_eq!(
            lenient.names(),
            [
                "openid",
                "profile",
                "email",
                "offline_access",
                "roles",
                "admin",
                "invoices:read"
            ]
        );
        let strict = ScopeCatalog::new([("reports:read", Some("Reports"))], ["invoices:read"]);
        assert!(strict.is_strict());
        assert!(strict.contains("reports:read"));
        assert!(!strict.contains("invoices:read"));
        assert!(strict.contains("openid"));
    }
}
