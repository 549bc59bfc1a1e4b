//! One module per grant type the token endpoint dispatches to.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;
pub mod user_tokens;
