//! OAuth 2.0 domain logic, free of HTTP: clients and how they authenticate, scopes and
//! audiences, PKCE, redirect URIs, authorization requests and codes, access-token minting and
//! revocation, and the grants the token endpoint dispatches to.

pub mod access_token;
pub mod audience;
pub mod authorize;
pub mod client_auth;
pub mod clients;
pub mod codes;
pub mod cors;
pub mod deny_list;
pub mod dpop;
pub mod grants;
pub mod introspection;
pub mod par;
pub mod pkce;
pub mod profile;
pub mod redirect_uri;
pub mod refresh_family;
pub mod response_mode;
pub mod revocation;
pub mod scope;
pub mod scope_catalog;
pub mod token_operation;
