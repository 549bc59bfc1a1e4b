//! ferrid's integration tests, one binary: each module is a feature tested from outside, over
//! HTTP against a real server on `127.0.0.1:0` (memory store and a real `redis-server`), or through
//! the `ferrid` binary as an operator runs it. One binary links the dependency graph once;
//! `common` is the harness every module shares.

#[macro_use]
mod common;

mod authorization_code;
mod cli;
mod client_credentials;
mod discovery;
mod key_rotation;
mod keys;
mod keys_cli;
mod keyspace;
mod login_pages;
mod login_throttling;
mod logout;
mod openapi;
mod openid_connect;
mod pending_logins;
mod redis_outage;
mod refresh;
mod revocation;
mod store;
mod token_errors;
