//! `--alt-svc` in a transfer: the cache `alt_svc` keeps, read from its file at the start and
//! written back after each transfer, as curl does; the alternative a new https connection goes
//! to; and the connection itself, made by `tunnel::Direct` as for a proxy's tunnel (TLS on it
//! verifies the ORIGIN's name, `Host` and the response's URL stay the origin's).
//!
//! Measured with curl 7.88.1 and done the same: only responses over https teach alternatives
//! (from the origin or from its alternative, recorded for the URL's origin); an alternative is
//! used for the next request that needs a new connection — a redirect's, or the next URL's
//! when there is a file (curl's `--alt-svc ""` cache lives in one URL's handle); an unreachable
//! alternative fails the transfer (exit 7, no fall back to the origin), one whose certificate
//! does not cover the origin's name too (60); the request carries `Alt-Used: host:port`; a
//! `--connect-to` rule comes first; through an HTTP proxy, the CONNECT names the alternative.
//! Not used (the origin is reached itself) where `tunnel::Direct::for_alternatives` says, and
//! through a SOCKS proxy.

use super::alt_svc::{Alpn, Cache, Entry};
use super::tunnel::Direct;
use crate::error::{Error, Exit, Result};
use crate::relay::{Family, Relay};
use crate::report::{Direction, Reporter};
use crate::route::RouteEntry;
use crate::term::sanitize;
use crate::utc::now;
use std::path::{Path, PathBuf};

/// The alternatives of a run.
pub(super) struct AltSvc {
    cache: std::sync::Mutex<Cache>,
    /// `None`: no `--alt-svc`; an empty path: the cache lives in memory only.
    file: Option<PathBuf>,
    /// How requests reach alternatives (`None`: they cannot, in this run).
    direct: Option<Direct>,
}

/// The alternatives toll can use: HTTP/1.1 and HTTP/2 (no HTTP/3).
const USABLE: [Alpn; 2] = [Alpn::H1, Alpn::H2];

impl AltSvc {
    /// Reads the file (a missing one, or one that cannot be read, is an empty cache, as curl).
    pub fn start(req: &crate::config::RequestConfig, user_agent: &str) -> Result<AltSvc> {
        let file = req.curl.alt_svc.clone();
        let mut cache = Cache::default();
        if let Some(path) = file.as_deref().filter(|p| !p.as_os_str().is_empty()) {
            cache = read(path);
        }
        let direct = match &file {
            Some(_) => Direct::for_alternatives(req, user_agent)?,
            None => None,
        };
        Ok(AltSvc { cache: std::sync::Mutex::new(cache), file, direct })
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The alternative a request to `url` along `route` goes to, if any.
    pub fn pick(&self, url: &url::Url, route: &RouteEntry, reporter: &dyn Reporter) -> Option<Entry> {
        self.direct.as_ref()?;
        if url.scheme() != "https" || matches!(route, RouteEntry::Proxy(s) if s.is_socks()) {
            return None;
        }
        let (host, port) = (url.host_str()?, url.port_or_known_default()?);
        let alt = self.cache().lookup(host, port, &USABLE, now())?;
        if reporter.verbose() {
            let line = format!(
                "Alt-svc connecting from [{}]{}:{} to [{}]{}:{}",
                alt.src.alpn.name(),
                alt.src.host,
                alt.src.port,
                alt.dst.alpn.name(),
                alt.dst.host,
                alt.dst.port
            );
            reporter.line(Direction::Info, &sanitize(&line));
        }
        Some(alt)
    }

    /// New connections made to alternatives (`%{num_connects}`; through a proxy the relay
    /// counts them).
    pub fn connections(&self) -> u64 {
        self.direct.as_ref().map_or(0, Direct::connections_made)
    }

    /// Sends `request` to the alternative `alt` (from [`AltSvc::pick`]), with `Alt-Used`.
    pub async fn execute(
        &self,
        alt: &Option<Entry>,
        relay: &Relay,
        route: &RouteEntry,
        mut request: reqwest::Request,
        reporter: &dyn Reporter,
    ) -> Result<reqwest::Response> {
        let direct = self.direct.as_ref().expect("pick returns alternatives only with a path to them");
        let alt = alt.as_ref().expect("called with the alternative pick chose");
        let to = super::elsewhere::authority(&alt.dst.host, alt.dst.port);
        if let Ok(v) = http::HeaderValue::from_str(&to) {
            request.headers_mut().insert("alt-used", v);
        }
        let spec = match route {
            RouteEntry::Proxy(s) => Some(s),
            RouteEntry::Direct => None,
        };
        direct.execute_to(relay, spec, Some(&to), request, reporter, None).await
    }

    /// Learns a response's `Alt-Svc`, if it came over https; the origin is the URL's.
    pub fn learn(&self, resp: &reqwest::Response, reporter: &dyn Reporter) {
        let url = resp.url();
        if self.file.is_none() || url.scheme() != "https" {
            return;
        }
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else { return };
        let alpn = if resp.version() == reqwest::Version::HTTP_2 { Alpn::H2 } else { Alpn::H1 };
        for value in resp.headers().get_all("alt-svc") {
            let Ok(value) = value.to_str() else { continue };
            let learnt = self.cache().learn(alpn, host, port, value, now());
            if reporter.verbose() {
                for d in learnt {
                    let line = format!("Added alt-svc: {}:{} over {}", d.host, d.port, d.alpn.name());
                    reporter.line(Direction::Info, &sanitize(&line));
                }
            }
        }
    }

    /// Writes the cache back to its file after a transfer, as curl does: whole, or not at all
    /// (a temporary file beside it, renamed over it). With `--alt-svc ""`, what this transfer
    /// learnt is forgotten: curl keeps that cache in the transfer's handle.
    pub fn save(&self) -> Result<()> {
        let Some(path) = self.file.as_ref() else { return Ok(()) };
        if path.as_os_str().is_empty() {
            *self.cache() = Cache::default();
            return Ok(());
        }
        let text = super::alt_svc::write_file(&self.cache().entries);
        let fail = |e: std::io::Error| {
            Error::new(Exit::Write, format!("cannot write the alt-svc cache {}: {e}", path.display()))
        };
        crate::statefile::replace_whole(path, ".altsvc", text.as_bytes(), false).map_err(fail)
    }
}

/// The cache in `path`; nothing when it cannot be read (curl ignores such a file).
fn read(path: &Path) -> Cache {
    match crate::statefile::read_limited(path, crate::statefile::Links::Follow) {
        Ok(b) => Cache { entries: super::alt_svc::parse_file(&String::from_utf8_lossy(&b)) },
        Err(_) => Cache::default(),
    }
}

/// A TCP connection to `to` (`host:port`: the URL's own, or — `rerouted` — an Alt-Svc
/// alternative or a `--connect-to` rule's target), trying its addresses in turn (only IPv4 ones
/// with `-4`); a `--resolve` rule for it comes first, as in curl. Failing: curl's exit 7.
pub(super) async fn connect(to: &str, rerouted: bool, relay: &Relay) -> Result<tokio::net::TcpStream> {
    let fail = |why: String| {
        let e = Error::new(Exit::Connect, format!("Failed to connect to {}: {why}", sanitize(to)));
        match rerouted {
            true => e.hint(
                "toll went there for an Alt-Svc alternative (remove its line from the --alt-svc file) \
                 or a --connect-to rule",
            ),
            false => e.hint("check the URL and port; behind a proxy, set -x or https_proxy"),
        }
    };
    let target = to.strip_prefix('[').map_or(to.to_string(), |t| t.replacen("]:", ":", 1));
    let (host, port) = target.rsplit_once(':').ok_or_else(|| fail("no port".into()))?;
    let port: u16 = port.parse().map_err(|_| fail("bad port".into()))?;
    // With `--doh-url` the alternative's name is the DoH server's to answer, as the origin's is.
    let found: Vec<std::net::SocketAddr> = match (relay.resolved(host, port), relay.doh()) {
        (Some(ip), _) => vec![std::net::SocketAddr::new(ip, port)],
        (None, Some(doh)) => doh
            .lookup(host)
            .await
            .map_err(|e| fail(e.to_string()))?
            .into_iter()
            .map(|ip| std::net::SocketAddr::new(ip, port))
            .collect(),
        (None, None) => {
            tokio::net::lookup_host((host, port)).await.map_err(|e| fail(e.to_string()))?.collect()
        }
    };
    let addrs: Vec<std::net::SocketAddr> =
        found.into_iter().filter(|a| relay.family() != Some(Family::V4) || a.is_ipv4()).collect();
    let mut last = "no address".to_string();
    for addr in addrs {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(fail(last))
}
