//! The real PAC fetcher: a reqwest client that never uses a proxy (the PAC is what says which
//! proxy), with a time limit, following redirects to http(s) URLs only and at most
//! [`MAX_REDIRECTS`] of them, as transfers follow them; bodies over [`MAX_PAC_BYTES`] are
//! refused. Caching and fall-back are `pac_fetch`'s.

use super::pac_fetch::{freshness, Fetched, Fetcher, Validators, MAX_PAC_BYTES, MAX_REDIRECTS};
use std::future::Future;
use std::time::Duration;
use url::Url;

/// The real fetcher: a reqwest client that never uses a proxy, built on the first fetch: a PAC
/// read from a file or from a fresh cached copy never needs it, and building it loads the
/// platform's trust store (hundreds of files, measured as most of a cached PAC's cost).
pub struct DirectFetcher {
    opts: FetchOptions,
    client: std::sync::OnceLock<reqwest::Client>,
}

/// How [`DirectFetcher`] connects.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// Bounds the whole fetch (connect, TLS, response).
    pub timeout: Duration,
    /// Replaces the platform's trust store (`--cacert`, tests).
    pub roots: Option<Vec<reqwest::Certificate>>,
    /// Host names answered without DNS (as curl's `--resolve`; the WPAD test maps
    /// `wpad.<domain>` to the loopback test origin this way). A port of 0 keeps the URL's.
    pub resolve: Vec<(String, std::net::SocketAddr)>,
    /// `--doh-url`: the PAC's host (and a redirect's) is looked up through DoH.
    pub doh: Option<std::sync::Arc<crate::doh::Doh>>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions { timeout: Duration::from_secs(10), roots: None, resolve: Vec::new(), doh: None }
    }
}

impl DirectFetcher {
    pub fn new(opts: FetchOptions) -> DirectFetcher {
        DirectFetcher { opts, client: std::sync::OnceLock::new() }
    }

    fn client(&self) -> Result<&reqwest::Client, String> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let built = build_client(&self.opts)?;
        Ok(self.client.get_or_init(|| built))
    }
}

fn build_client(opts: &FetchOptions) -> Result<reqwest::Client, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let policy = reqwest::redirect::Policy::custom(|a| {
        if a.previous().len() > MAX_REDIRECTS {
            a.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else if !matches!(a.url().scheme(), "http" | "https") {
            a.stop()
        } else {
            a.follow()
        }
    });
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .redirect(policy)
        .timeout(opts.timeout)
        .connect_timeout(opts.timeout)
        .user_agent(format!("toll/{}", env!("CARGO_PKG_VERSION")));
    if let Some(roots) = &opts.roots {
        b = b.tls_certs_only(roots.clone());
    }
    for (host, addr) in &opts.resolve {
        b = b.resolve(host, *addr);
    }
    if let Some(doh) = &opts.doh {
        b = b.dns_resolver(std::sync::Arc::new(crate::doh::Resolver { doh: doh.clone(), on_done: || {} }));
    }
    b.build().map_err(|e| format!("cannot set up the PAC fetcher: {e}"))
}

impl Fetcher for DirectFetcher {
    fn get(&self, url: &Url, v: &Validators) -> impl Future<Output = Result<Fetched, String>> + Send {
        let req = self.client().map(|c| {
            let mut req = c.get(url.clone());
            if let Some(e) = &v.etag {
                req = req.header(reqwest::header::IF_NONE_MATCH, e);
            }
            if let Some(lm) = &v.last_modified {
                req = req.header(reqwest::header::IF_MODIFIED_SINCE, lm);
            }
            req
        });
        async move {
            let mut resp = req?.send().await.map_err(|e| describe(&e))?;
            let header = |n: reqwest::header::HeaderName| {
                resp.headers().get(n).and_then(|v| v.to_str().ok()).map(String::from)
            };
            let fresh_for = freshness(header(reqwest::header::CACHE_CONTROL).as_deref());
            let validators = Validators {
                etag: header(reqwest::header::ETAG),
                last_modified: header(reqwest::header::LAST_MODIFIED),
            };
            match resp.status().as_u16() {
                304 => return Ok(Fetched::NotModified { fresh_for }),
                200 => {}
                s => return Err(format!("the server answered {s}")),
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| describe(&e))? {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > MAX_PAC_BYTES {
                    return Err(format!("it is larger than {} MiB", MAX_PAC_BYTES >> 20));
                }
            }
            Ok(Fetched::Body { bytes, validators, fresh_for })
        }
    }
}

/// A reqwest error with its causes (reqwest's own message is only the outermost one).
fn describe(e: &reqwest::Error) -> String {
    let mut s = if e.is_timeout() { "timed out".to_string() } else { e.to_string() };
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        s.push_str(&format!(": {c}"));
        src = c.source();
    }
    s
}
