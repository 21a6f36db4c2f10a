//! toll: an HTTP client that talks to authenticating proxies. See README.md.
//!
//! Layers: `cli` (clap) → `app` (turns it into `config::*` once, owns the terminal and the
//! environment) → `client` (reqwest) + `relay` (the in-process proxy that owns the conversation
//! with the upstream proxy) → `auth` (pure scheme engine) and `creds` (credential sources).

pub mod app;
pub mod auth;
pub mod auth_cmd;
pub mod cli;
pub mod client;
pub mod completions;
pub mod config;
pub mod creds;
pub mod demo;
pub mod dns;
pub mod doctor;
pub mod doh;
pub mod error;
pub mod keyring;
pub mod netif;
pub mod output;
pub mod pac_cmd;
pub mod pin;
pub mod prompt;
pub mod proxy_env;
pub mod relay;
pub mod remembered;
pub mod report;
pub mod request_target;
pub mod route;
pub mod secret;
pub mod serve;
pub mod serve_cmd;
pub mod socks;
pub mod statefile;
pub mod store;
pub mod term;
pub mod utc;

/// The PAC engine (its own crate, `crates/toll-pac`).
pub use toll_pac as pac;
