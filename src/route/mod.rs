//! Route: "which proxies, in which order, for this URL" — and where that answer came from.
//!
//! This room owns the decision, not the connection:
//! - [`sources`]: the precedence of the places a proxy can come from (`-x`/`--pac` › the
//!   `*_proxy` variables › `TOLL_PAC`/`pac =` › the desktop's settings › WPAD, opt-in) into a
//!   [`Plan`], and the per-URL [`Router`] (with `NO_PROXY`/`--noproxy` winning over a PAC);
//! - [`desktop`]: readers of the desktop's proxy settings (GNOME through `gsettings`, KDE's
//!   `kioslaverc`, macOS `scutil --proxy` output, Windows WinINet values) into one model;
//! - [`wpad`]: the WPAD candidate URLs from the DNS search domain (never above the
//!   organisation's domain), checked through an injected resolver;
//! - [`failover`]: the order in which a list is tried, which failures skip to the next entry,
//!   and the dead-proxy memory shared by runs;
//! - [`pac_fetch`]: getting a PAC's text (file, `file://`, `http(s)://` always DIRECT) with an
//!   on-disk cache and ETag/Last-Modified revalidation; `pac_http` holds the real fetcher;
//! - [`refresh`]: what a long-running `toll serve` watches to decide again (a PAC going stale,
//!   a PAC file changing, the desktop's settings, the network).
//!
//! Nothing here reads the process environment, the terminal or a fixed path: the environment
//! comes in as a lookup closure, files as paths, commands through a [`desktop::Runner`], DNS
//! through a [`wpad::Resolver`], the network through a [`pac_fetch::Fetcher`], time through a
//! clock. The PAC engine itself lives elsewhere and plugs in through [`PacEvaluator`].

pub mod choice;
pub mod desktop;
pub mod failover;
pub mod pac_engine;
pub mod pac_fetch;
mod pac_http;
pub mod refresh;
pub mod sources;
pub mod wpad;

pub use sources::{Inputs, Plan, Routed, Router, Source, Step};

use crate::config::ProxySpec;
use std::fmt;
use url::Url;

/// One entry of an ordered proxy list: what a PAC's `"PROXY a:1; DIRECT"` means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteEntry {
    Direct,
    Proxy(ProxySpec),
}

impl RouteEntry {
    /// A proxy entry with no credentials. `scheme` is one of `crate::proxy_env::PROXY_SCHEMES`
    /// (a PAC's `PROXY` is `http`, `HTTPS` is `https`, `SOCKS`/`SOCKS4` is `socks4`, `SOCKS5` is
    /// `socks5h`: the proxy resolves names, as browsers have it); `origin` says where it came
    /// from, for messages.
    pub fn proxy(scheme: &str, host: &str, port: u16, origin: &str) -> RouteEntry {
        RouteEntry::Proxy(ProxySpec {
            scheme: scheme.to_string(),
            host: host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase(),
            port,
            user: None,
            password: None,
            origin: origin.to_string(),
        })
    }

    /// The key of a proxy in the dead-proxy memory: `scheme://host:port`, never credentials.
    /// `None` for DIRECT.
    pub fn key(&self) -> Option<String> {
        match self {
            RouteEntry::Direct => None,
            RouteEntry::Proxy(p) => Some(p.display_url()),
        }
    }
}

impl fmt::Display for RouteEntry {
    /// `DIRECT` or `http://host:port`, the way `-v` and `toll doctor` print a list.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteEntry::Direct => f.write_str("DIRECT"),
            RouteEntry::Proxy(p) => f.write_str(&p.display_url()),
        }
    }
}

/// `a; b; DIRECT`: a list as one line.
pub fn describe_list(entries: &[RouteEntry]) -> String {
    entries.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
}

/// The PAC engine as route sees it: one compiled script, asked per URL. The coordinator wraps
/// the `pac` engine in this; tests use a fake. `url` is already what a transfer may show a PAC
/// (see [`pac_url_for`]).
pub trait PacEvaluator: Send + Sync {
    /// The ordered list the script returned for `url` (`""` is `[Direct]`).
    fn evaluate(&self, url: &Url) -> Result<Vec<RouteEntry>, RouteError>;
}

/// The URL a transfer hands to a PAC, as Chrome and Firefox do: no user info, no fragment, and
/// for `https://` (and `wss://`) nothing after the authority, so a PAC that came from the
/// network never learns the paths or queries of encrypted requests.
pub fn pac_url_for(url: &Url) -> Url {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_fragment(None);
    if matches!(u.scheme(), "https" | "wss") {
        u.set_path("/");
        u.set_query(None);
    }
    u
}

/// Why no route could be given. Every message names the source it is about.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// A `-x`/`*_proxy`/desktop proxy value that cannot be used.
    #[error(transparent)]
    Proxy(#[from] crate::proxy_env::ProxyError),
    /// The PAC engine failed for this URL (script error, bad result, time limit); `message` is
    /// the engine's, which names the PAC and the line (`PAC proxy.pac, line 3: …`).
    #[error("{message}")]
    Pac { message: String },
    /// The PAC could not be read or fetched, and no cached copy exists.
    #[error("cannot get the PAC {location}: {message}")]
    PacFetch { location: String, message: String },
    /// The desktop's settings could not be read or make no sense.
    #[error("{desktop} proxy settings: {message}")]
    Desktop { desktop: String, message: String },
    /// A `pac =`/`wpad =` setting or `TOLL_PAC` value that cannot be used.
    #[error("{origin}: {message}")]
    Setting { origin: String, message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pac_url_hides_https_paths_and_all_userinfo() {
        let u = |s: &str| pac_url_for(&Url::parse(s).unwrap()).to_string();
        assert_eq!(u("https://user:pw@Example.COM:8443/secret/path?q=1#frag"), "https://example.com:8443/");
        assert_eq!(u("https://example.com/a"), "https://example.com/");
        assert_eq!(u("http://user:pw@example.com/p?q=1#f"), "http://example.com/p?q=1");
        assert_eq!(u("wss://example.com/chat?room=1"), "wss://example.com/");
        assert_eq!(u("http://[::1]:8080/x"), "http://[::1]:8080/x");
    }

    #[test]
    fn entries_print_without_credentials() {
        let mut e = RouteEntry::proxy("http", "[::1]", 3128, "test");
        if let RouteEntry::Proxy(p) = &mut e {
            p.user = Some("alice".into());
            p.password = Some(crate::secret::Secret::new("hunter2"));
        }
        assert_eq!(describe_list(&[e.clone(), RouteEntry::Direct]), "http://[::1]:3128; DIRECT");
        assert_eq!(e.key().as_deref(), Some("http://[::1]:3128"));
        assert_eq!(RouteEntry::Direct.key(), None);
    }
}
