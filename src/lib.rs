//! toll: an HTTP client that talks to authenticating proxies. See README.md.
//!
//! Layers: `cli` (clap) → `app` (turns it into `config::*` once, owns the terminal and the
//! environment) → `client` (reqwest) + `relay` (the in-process proxy that owns the conversation
//! with the upstream proxy) → `auth` (pure scheme engine) and `creds` (credential sources).

/// `eprintln!` that never panics. std's panics when standard error is gone (a closed pipe:
/// `toll -v URL 2>&1 >/dev/null | head -c 10`), which turned a finished transfer into exit 101;
/// a message that cannot be written is dropped, as curl drops it. Defined before the modules,
/// so every one of them uses this one (textual scope wins over the prelude's); exported for the
/// binary (`use toll::eprintln`).
#[macro_export]
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr(), $($arg)*);
    }};
}

/// `eprint!` that never panics (see `eprintln!`).
#[macro_export]
macro_rules! eprint {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::write!(::std::io::stderr(), $($arg)*);
    }};
}

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
pub mod setup;
pub mod socks;
pub mod statefile;
pub mod store;
pub mod term;
pub mod utc;

/// The PAC engine (its own crate, `crates/toll-pac`).
pub use toll_pac as pac;
