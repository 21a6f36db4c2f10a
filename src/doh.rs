//! `--doh-url`: the lookups of toll's own connections (the server's name on a direct
//! connection, an HTTP proxy's name in the relay, a SOCKS proxy's name and, for `socks4://` and
//! `socks5://`, the server's, an Alt-Svc alternative's; and on the way to them the PAC's host,
//! the WPAD names, the proxies fail-over tries, a PAC's `dnsResolve`) made with DNS over HTTPS (RFC 8484) instead of the system's
//! resolver. Owns the DoH client (a POST of `application/dns-message` per record type; its TLS
//! settings are the caller's), the per-run cache, `localhost` and IP literals, and the time
//! limit. A failed DoH lookup is an error, never a system lookup: with `--doh-url` a name is not
//! given to the system's resolver (curl 7.88 behaves the same). The DoH server's own name is
//! the exception, resolved by the system as curl does (`--resolve` applies to it).

use crate::dns::{self, AnswerError, RecordType};
use crate::report::{Direction, Reporter};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The address family lookups are for (`-4`: A only, `-6`: AAAA only, else both).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Family {
    #[default]
    Any,
    V4,
    V6,
}

/// What a [`Doh`] resolver is made of.
pub struct Settings {
    /// The DoH server's URL (https://).
    pub url: url::Url,
    /// TLS for the DoH server: `--cacert`/`--capath`/`--crlfile`, `--doh-insecure` (the caller's).
    pub tls: rustls::ClientConfig,
    pub family: Family,
    /// `--connect-timeout` (or `-m`): a lookup that takes longer fails (curl's exit 28).
    pub limit: Option<Duration>,
    /// `--resolve` entries, for the DoH server's own name.
    pub resolve: Vec<(String, SocketAddr)>,
    pub reporter: Arc<dyn Reporter>,
}

/// Lookups through one DoH server, their results kept for the run (whatever their TTL: a run
/// is short, and curl 7.88 keeps them in its DNS cache too).
pub struct Doh {
    url: url::Url,
    client: reqwest::Client,
    family: Family,
    limit: Option<Duration>,
    cache: Mutex<HashMap<String, Vec<IpAddr>>>,
    /// The latest failed lookup, for an error that lost it on the way (reqwest's SOCKS
    /// connector reports its proxy's name as "failed to create underlying connection").
    failed: Mutex<Option<LookupError>>,
    reporter: Arc<dyn Reporter>,
}

/// Why a name has no addresses. curl 7.88 says "Could not resolve host" (exit 6) for all but
/// the timeout (exit 28), proxies' names included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("{name}: no such name (NXDOMAIN from the DoH server {server})")]
    NotFound { name: String, server: String },
    #[error("{name}: the DoH server {server} gave no {family}address")]
    NoAddress { name: String, server: String, family: &'static str },
    #[error("{name}: the DoH lookup at {server} failed: {why}")]
    Failed { name: String, server: String, why: String },
    #[error("resolving {name} through the DoH server {server} timed out after {ms} milliseconds")]
    Timeout { name: String, server: String, ms: u128 },
}

impl LookupError {
    pub fn name(&self) -> &str {
        match self {
            LookupError::NotFound { name, .. }
            | LookupError::NoAddress { name, .. }
            | LookupError::Failed { name, .. }
            | LookupError::Timeout { name, .. } => name,
        }
    }

    pub fn is_timeout(&self) -> bool {
        matches!(self, LookupError::Timeout { .. })
    }

    /// The DoH lookup error inside an I/O error (as the relay's connections carry it), if any.
    pub fn inside(e: &std::io::Error) -> Option<&LookupError> {
        e.get_ref().and_then(|i| i.downcast_ref::<LookupError>())
    }
}

impl std::fmt::Debug for Doh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Doh").field("server", &self.server()).finish_non_exhaustive()
    }
}

/// A DNS answer, or why there was none, for one record type.
enum Asked {
    Answer(dns::Answer),
    NoSuchName,
    Failed(String),
}

/// The largest DNS message (its length is 16 bits): a larger body is not one.
const MAX_MESSAGE: usize = 65_535;

impl Doh {
    pub fn new(s: Settings) -> Result<Doh, String> {
        let mut b = reqwest::Client::builder()
            // curl's DoH transfers do not take -x; toll's go direct (README "Coming from curl").
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .tls_backend_preconfigured(s.tls);
        // As for the transfer's own client: the DoH URL keeps its port whatever a rule's says.
        for (host, addr) in crate::config::resolve_overrides(&s.resolve, &s.url) {
            b = b.resolve(&host, addr);
        }
        let client = b.build().map_err(|e| format!("cannot set up the DoH client: {e}"))?;
        Ok(Doh {
            url: s.url,
            client,
            family: s.family,
            limit: s.limit,
            cache: Mutex::default(),
            failed: Mutex::default(),
            reporter: s.reporter,
        })
    }

    fn server(&self) -> String {
        crate::term::display_url(&self.url)
    }

    /// `host`'s addresses: an IP literal is its own, `localhost` (and `*.localhost`) is the
    /// loopback addresses (RFC 6761, as curl resolves it without asking), anything else is asked
    /// of the DoH server once per run.
    pub async fn lookup(&self, host: &str) -> Result<Vec<IpAddr>, LookupError> {
        self.lookup_noting(host, true).await
    }

    /// [`Doh::lookup`] that does not keep a failure for [`Doh::take_failure`]: for the names
    /// tried on the way (fail-over's proxies, WPAD's candidates), whose failure is not the
    /// transfer's.
    pub async fn probe(&self, host: &str) -> Result<Vec<IpAddr>, LookupError> {
        self.lookup_noting(host, false).await
    }

    /// [`Doh::probe`] for a caller that is not async (a PAC's `dnsResolve`, WPAD): waits for
    /// the lookup on a thread of its own, driven by `rt`, at most `limit`. `None` when the name
    /// has no address or the lookup failed.
    pub fn probe_blocking(
        self: &Arc<Self>,
        rt: &tokio::runtime::Handle,
        host: &str,
        limit: Duration,
    ) -> Option<Vec<IpAddr>> {
        let (doh, rt, host) = (self.clone(), rt.clone(), host.to_string());
        let lookup = std::thread::Builder::new()
            .name("toll-doh".into())
            .spawn(move || rt.block_on(async { tokio::time::timeout(limit, doh.probe(&host)).await }));
        let addrs = lookup.ok()?.join().ok()?.ok()?.ok()?;
        (!addrs.is_empty()).then_some(addrs)
    }

    async fn lookup_noting(&self, host: &str, note_failure: bool) -> Result<Vec<IpAddr>, LookupError> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let key = host.trim_end_matches('.').to_ascii_lowercase();
        if key == "localhost" || key.ends_with(".localhost") {
            return Ok(loopback(self.family));
        }
        if let Some(hit) = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key) {
            return Ok(hit.clone());
        }
        let asked = self.ask_all(&key);
        let found = match self.limit {
            Some(t) => tokio::time::timeout(t, asked).await.unwrap_or_else(|_| {
                Err(LookupError::Timeout { name: key.clone(), server: self.server(), ms: t.as_millis() })
            }),
            None => asked.await,
        };
        match &found {
            Ok(addrs) => {
                self.cache
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(key, addrs.clone());
            }
            Err(e) if !note_failure => self.info(format_args!("DoH: {e}")),
            Err(e) => {
                self.info(format_args!("DoH: {e}"));
                *self.failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e.clone());
            }
        }
        found
    }

    /// The latest failed lookup, taken (see `failed`).
    pub fn take_failure(&self) -> Option<LookupError> {
        self.failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }

    fn info(&self, text: std::fmt::Arguments<'_>) {
        if self.reporter.verbose() {
            self.reporter.line(Direction::Info, &text.to_string());
        }
    }

    async fn ask_all(&self, name: &str) -> Result<Vec<IpAddr>, LookupError> {
        let types: &[RecordType] = match self.family {
            Family::Any => &[RecordType::A, RecordType::Aaaa],
            Family::V4 => &[RecordType::A],
            Family::V6 => &[RecordType::Aaaa],
        };
        let answers = futures_util::future::join_all(types.iter().map(|t| self.ask(name, *t))).await;
        let server = self.server();
        let mut addrs = Vec::new();
        let (mut failures, mut missing) = (Vec::new(), 0);
        for (rtype, asked) in types.iter().zip(answers) {
            match asked {
                Asked::Answer(a) => {
                    if !a.addresses.is_empty() {
                        let shown: Vec<String> = a.addresses.iter().map(IpAddr::to_string).collect();
                        let through: String = a.cnames.iter().map(|c| format!("through {c}, ")).collect();
                        self.info(format_args!(
                            "DoH: {name}: {} {} ({through}TTL {} s)",
                            rtype.name(),
                            shown.join(", "),
                            a.ttl
                        ));
                    }
                    addrs.extend(a.addresses);
                }
                Asked::NoSuchName => missing += 1,
                Asked::Failed(why) => failures.push(format!("{}: {why}", rtype.name())),
            }
        }
        if !addrs.is_empty() {
            return Ok(addrs);
        }
        let name = name.to_string();
        if !failures.is_empty() {
            return Err(LookupError::Failed { name, server, why: failures.join("; ") });
        }
        if missing > 0 {
            return Err(LookupError::NotFound { name, server });
        }
        let family = match self.family {
            Family::Any => "",
            Family::V4 => "IPv4 ",
            Family::V6 => "IPv6 ",
        };
        Err(LookupError::NoAddress { name, server, family })
    }

    /// One query, POSTed as curl does (RFC 8484 §4.1).
    async fn ask(&self, name: &str, rtype: RecordType) -> Asked {
        let query = match dns::query(name, rtype) {
            Ok(q) => q,
            Err(e) => return Asked::Failed(e.to_string()),
        };
        let sent = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/dns-message")
            .header(reqwest::header::ACCEPT, "application/dns-message")
            .body(query)
            .send()
            .await;
        let mut resp = match sent {
            Ok(r) => r,
            Err(e) => return Asked::Failed(error_text(&e)),
        };
        if resp.status() != reqwest::StatusCode::OK {
            return Asked::Failed(format!("the server answered HTTP {}", resp.status()));
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() <= MAX_MESSAGE => body.extend_from_slice(&chunk),
                Ok(Some(_)) => return Asked::Failed("the answer is larger than a DNS message".into()),
                Ok(None) => break,
                Err(e) => return Asked::Failed(error_text(&e)),
            }
        }
        match dns::parse_answer(&body, name, rtype) {
            Ok(a) => Asked::Answer(a),
            Err(AnswerError::NxDomain) => Asked::NoSuchName,
            Err(e) => Asked::Failed(e.to_string()),
        }
    }
}

/// An error and its causes, one line (no URL credentials: reqwest's errors show none).
fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    crate::term::sanitize(&crate::error::chain_text(e))
}

fn loopback(family: Family) -> Vec<IpAddr> {
    let (v4, v6) = (IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST));
    match family {
        Family::Any => vec![v4, v6],
        Family::V4 => vec![v4],
        Family::V6 => vec![v6],
    }
}

/// A TCP connection to `host:port`, the name looked up through `doh` when it is given (else by
/// the system), its addresses tried in turn. A failed DoH lookup is an error that
/// [`LookupError::inside`] finds.
pub async fn connect(host: &str, port: u16, doh: Option<&Doh>) -> std::io::Result<tokio::net::TcpStream> {
    let Some(doh) = doh else { return tokio::net::TcpStream::connect((host, port)).await };
    let ips = doh.probe(host).await.map_err(std::io::Error::other)?;
    let mut last = None;
    for ip in ips {
        match tokio::net::TcpStream::connect(SocketAddr::new(ip, port)).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other(format!("{host} has no address"))))
}

/// reqwest's resolver for the HTTP client's own connections: the server's name, a SOCKS
/// proxy's, and the server's again for `socks4://`/`socks5://`. `on_done` notes when a lookup
/// finished (`-w`'s `time_namelookup`).
pub struct Resolver<F> {
    pub doh: Arc<Doh>,
    pub on_done: F,
}

impl<F: Fn() + Clone + Send + Sync + 'static> reqwest::dns::Resolve for Resolver<F> {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (doh, done, host) = (self.doh.clone(), self.on_done.clone(), name.as_str().to_string());
        Box::pin(async move {
            let addrs = doh.lookup(&host).await?;
            done();
            let addrs: Vec<SocketAddr> = addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doh(family: Family, url: &str) -> Doh {
        crate::client::install_crypto();
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        Doh::new(Settings {
            url: url.parse().unwrap(),
            tls,
            family,
            limit: Some(Duration::from_secs(5)),
            resolve: Vec::new(),
            reporter: Arc::new(crate::report::Quiet),
        })
        .unwrap()
    }

    #[tokio::test]
    async fn literals_and_localhost_are_never_asked() {
        // Port 9 on loopback: nothing answers, so a query would fail the lookup.
        let d = doh(Family::Any, "https://127.0.0.1:9/dns-query");
        assert_eq!(d.lookup("192.0.2.1").await.unwrap(), vec!["192.0.2.1".parse::<IpAddr>().unwrap()]);
        assert_eq!(d.lookup("[::1]").await.unwrap(), vec!["::1".parse::<IpAddr>().unwrap()]);
        assert_eq!(d.lookup("LocalHost.").await.unwrap().len(), 2);
        assert_eq!(d.lookup("app.localhost").await.unwrap()[0], IpAddr::V4(Ipv4Addr::LOCALHOST));
        let six = doh(Family::V6, "https://127.0.0.1:9/dns-query");
        assert_eq!(six.lookup("localhost").await.unwrap(), vec![IpAddr::V6(Ipv6Addr::LOCALHOST)]);
    }

    /// The lookups made on the way (fail-over, WPAD, a PAC's `dnsResolve`) from code that is not
    /// async: answered without a query where no query is needed, and a failure is not kept
    /// as the transfer's.
    #[test]
    fn probes_from_blocking_code_keep_no_failure() {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let d = Arc::new(rt.block_on(async { doh(Family::Any, "https://127.0.0.1:9/dns-query") }));
        let limit = Duration::from_secs(5);
        assert_eq!(d.probe_blocking(rt.handle(), "localhost", limit).map(|a| a.len()), Some(2));
        assert_eq!(d.probe_blocking(rt.handle(), "wpad.doh-a.test", limit), None);
        assert_eq!(d.take_failure(), None);
        // The same name asked as the transfer's own is kept.
        assert!(rt.block_on(d.lookup("wpad.doh-a.test")).is_err());
        assert!(d.take_failure().is_some());
    }

    #[tokio::test]
    async fn an_unreachable_server_is_an_error_not_a_system_lookup() {
        let d = doh(Family::Any, "https://127.0.0.1:9/dns-query");
        let e = d.lookup("doh-a.test").await.unwrap_err();
        assert!(matches!(&e, LookupError::Failed { name, .. } if name == "doh-a.test"), "{e}");
        assert_eq!(d.take_failure().as_ref(), Some(&e));
        assert_eq!(d.take_failure(), None);
        assert!(e.to_string().contains("A: ") && e.to_string().contains("AAAA: "), "{e}");
        let io = std::io::Error::other(e.clone());
        assert_eq!(LookupError::inside(&io), Some(&e));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_server_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let _keep = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        });
        let d = doh(Family::V4, &format!("https://127.0.0.1:{port}/dns-query"));
        let e = d.lookup("doh-a.test").await.unwrap_err();
        assert!(e.is_timeout(), "{e}");
        assert!(e.to_string().contains("timed out after 5000 milliseconds"), "{e}");
    }
}
