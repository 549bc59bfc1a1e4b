//! OAuth 2.0 domain logic, free of HTTP: clients and how they authenticate, scopes and
//! audiences, PKCE, redirect URIs, authorization requests and codes, access-token minting and
//! revocation, and the grants the token endpoint dispatches to.

pub mod audience;
pub mod authorize;
pub mod client_auth;
pub mod clients;
pub mod codes;
pub mod grants;
pub mod introspect;
pub mod pkce;
pub mod redirect_uri;
pub mod refresh;
pub mod revocation;
pub mod revoke;
pub mod scope;
pub mod token;
pub mod tokens;
