//! ferrid: an OAuth 2.0 / OpenID Connect authorization server.
//!
//! The crate is layered: `http` (poem + poem-openapi, thin handlers) calls the domain (`oauth`,
//! `oidc`, `keys`, `users`), which keeps every piece of mutable state behind the `store` trait
//! (`store::memory` embedded, `store::redis` for several instances). `bootstrap` wires them
//! together; `cli` is what the `ferrid` binary runs.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)
)]
#![deny(clippy::await_holding_lock)]

pub mod admin;
pub mod bootstrap;
pub mod cli;
pub mod clock;
pub mod config;
pub mod context;
pub mod error;
pub mod http;
pub mod interaction;
pub mod keys;
pub mod oauth;
pub mod oidc;
pub mod registration;
pub mod secret;
pub mod session;
pub mod store;
pub mod telemetry;
#[cfg(test)]
pub(crate) mod test_support;
pub mod users;
