//! One module per grant type the token endpoint dispatches to.

pub mod client_credentials;
