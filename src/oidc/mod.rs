//! OpenID Connect on top of the OAuth domain: ID tokens, the claims each scope releases, and
//! the userinfo endpoint's logic.

pub mod claims;
pub mod id_token;
pub mod userinfo;
