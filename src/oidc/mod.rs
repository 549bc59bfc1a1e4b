//! OpenID Connect on top of the OAuth domain: ID tokens, the claims each scope releases, the
//! userinfo endpoint's logic, and logout.

pub mod claims;
pub mod id_token;
pub mod logout;
pub mod userinfo;
