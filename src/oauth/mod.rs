//! OAuth 2.0 domain logic, free of HTTP: clients and how they authenticate, scopes and
//! audiences, access-token minting, and the grants the token endpoint dispatches to.

pub mod audience;
pub mod client_auth;
pub mod clients;
pub mod grants;
pub mod scope;
pub mod token;
pub mod tokens;
