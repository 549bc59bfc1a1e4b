//! ferrid's integration tests, one binary: each module is a feature tested from outside, over
//! HTTP against a real server on `127.0.0.1:0` (memory store and a real `redis-server`), or through
//! the `ferrid` binary as an operator runs it. One binary links the dependency graph once;
//! `common` is the harness every module shares.

#[macro_use]
mod common;

mod admin_api;
mod admin_users;
mod audit;
mod authorization_code;
mod check;
mod cli;
mod client_cache;
mod client_credentials;
mod clients_cli;
mod cors;
mod cors_browser;
mod discovery;
mod docker_context;
mod dpop;
mod durability;
mod fapi;
mod form_post;
mod key_rotation;
mod keys;
mod keys_cli;
mod keyspace;
mod log_secrets;
mod login_pages;
mod login_throttling;
mod logout;
mod method_not_allowed;
mod metrics;
mod openapi;
mod openid_connect;
mod oversized_bodies;
mod par;
mod pending_logins;
mod private_key_jwt;
mod quick_tour;
mod redis_cluster;
mod redis_outage;
mod redis_sentinel;
mod rediss;
mod refresh;
mod registration;
mod registration_audit;
mod registration_cli;
mod registration_management;
mod removed_users;
mod repeated_parameters;
mod revocation;
mod store;
mod store_recovery;
mod tls;
mod token_errors;
mod userinfo;
