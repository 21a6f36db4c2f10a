//! The in-process auth relay: a loopback HTTP proxy that reqwest uses for every target toll
//! routes through a real proxy. reqwest cannot see a 407's challenge on a CONNECT, and can only
//! send a fixed `Proxy-Authorization` (../shared/notes/reqwest-and-407.md), so the relay owns the
//! conversation with the upstream proxy (RFC 7235 §3.2 407, §4.3, §4.4; RFC 7231 §4.3.6 CONNECT):
//!
//! - CONNECT (https targets): sends `CONNECT host:port` upstream, answers 407s on the same
//!   connection while it is kept alive, then passes bytes untouched both ways. A 407 inside the
//!   tunnel is the origin's and never sees a proxy credential.
//! - absolute-form requests (http targets): forwards them with `Proxy-Authorization`, replaying
//!   or withholding the body across 407s (`body`). A 407 is answered only when the proxy itself
//!   is known to demand authentication (`Upstream::proxy_demands_auth`): through an open proxy
//!   it is the origin's, and is passed on unanswered.
//!
//! For toll's own https requests the client does not go through the loopback socket at all:
//! [`Relay::open_tunnel_stream`] runs the same CONNECT/407 conversation in process and hands
//! over the upstream connection, on which `client::tunnel` runs TLS (no second loopback copy
//! of every byte). `toll serve` and requests the client leaves to reqwest use the loopback path.
//!
//! Locked down: it binds 127.0.0.1 only, and serves only requests carrying this process's random
//! key as their proxy credential (checked, then stripped; a refusal is marked so the client
//! reports it as toll's own error). Against another local user holding connections open: at
//! most [`MAX_CONNECTIONS`] at once, a connection must show the key within [`KEY_WAIT`], request
//! heads must arrive within [`HEADER_READ_TIMEOUT`], and a failing `accept` (out of descriptors)
//! backs off instead of spinning. The real upstream status, challenges
//! and the reason for giving up are kept as a [`Failure`] for the app to report, since reqwest
//! itself only sees "tunnel error".
//!
//! The loopback listener's connections are `loopback`'s; the conversations with the upstream
//! proxy that it, `toll serve` and the in-process paths share (a CONNECT through its 407s, a
//! forwarded request on a held or lent connection) are `exchange`'s.
//!
//! For `toll serve` ([`Relay::carry`]) and toll's own in-process forwarding, `pool` lends each
//! request an upstream connection and takes it back when the response has been read, and
//! `spare` opens connections for new tunnels ahead of need.
//!
//! A forwarded response's body drives the upstream connection it is read from (`driven`): the
//! task that reads it (the transfer, or the loopback connection serving reqwest) polls the
//! connection itself, so no chunk is handed between tasks.

pub mod body;
pub mod driven;
mod exchange;
mod failure;
pub mod hop;
mod loopback;
mod notes;
mod pool;
mod spare;
pub(crate) mod tunnel;
mod upstream;

use crate::auth::SchemeSet;
use crate::config::ProxySpec;
use crate::creds::CredentialBroker;
use crate::remembered::Entry;
use crate::report::{shown_challenge, Direction, Reporter};
use crate::secret::Secret;
use body::{RelayBody, RequestBody};
use http::header::{HeaderName, HeaderValue, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use upstream::{Conn, Outgoing};

use exchange::{connect_through, forward_or_fail, send_forward, Via};
use loopback::serve;

use failure::failure_status;
pub use failure::{failure_error, readable, Failure, FailureKind, Unreached};
use notes::TransferNotes;
pub use notes::{ConnectHead, ProxyAddresses};

/// hyper's read buffers grow with a fast transfer (to ~400 KiB each by default); capped so
/// memory stays flat from small to large forwarded bodies.
const HTTP_BUFFER: usize = 64 * 1024;

/// Header fields toll takes in one response head. hyper stops at 100 ("message head is too
/// large"); curl counts none, only bytes, and a site with many cookies and policies passes 100.
/// The head's size stays bounded (64 KiB here, `HTTP_BUFFER`; as Squid's 64-KB reply limit).
///
/// Every HTTP client toll builds (reqwest's, the tunnel's, the relay's, toll serve's) reads
/// response heads as leniently as curl and Squid's relaxed parser do: a space before the
/// colon (`X-A : b`) and obsolete line folding are taken, and a line that is not a header
/// field (no colon, a bad name) is left out instead of failing the whole response. hyper
/// would refuse each. Request heads stay strict.
pub const MAX_HEADER_FIELDS: usize = 1000;

/// Connections the relay serves at once; more (another local user flooding it) are closed at
/// once, so toll cannot be made to run out of descriptors.
const MAX_CONNECTIONS: usize = 256;

/// Pause after a failed `accept` (e.g. EMFILE) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// A connection must show the key (send a whole request head carrying it) within this time.
const KEY_WAIT: Duration = Duration::from_secs(5);

/// A request head must arrive within this time (hyper's slowloris guard). hyper runs this timer
/// while a kept-alive connection waits for its next request too, so it is also the idle limit of
/// reqwest's pooled connections: long enough that a run's back-to-back requests never meet it.
/// Strangers are cut off sooner by [`KEY_WAIT`].
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Header on the relay's own refusal (a request without this run's key), so that the client
/// can tell it from an origin's 403: `client` turns it into toll's own error.
pub const REFUSAL_MARKER: HeaderName = HeaderName::from_static("x-toll-relay-refusal");

/// Where schemes that worked are remembered between runs (`crate::remembered` in the app).
pub trait AuthMemory: Send + Sync {
    fn recall(&self, proxy: &ProxySpec) -> Option<Entry>;
    /// The Digest nonce count this process may send next with `memory`'s nonce (see
    /// `remembered`): counts are handed out one at a time across concurrent runs.
    fn reserve_nc(&self, proxy: &ProxySpec, memory: &crate::auth::Memory) -> Option<u32>;
    fn remember(&self, proxy: &ProxySpec, entry: Entry);
    fn forget(&self, proxy: &ProxySpec);
}

/// What the app provides for each proxy the relay talks to.
pub struct UpstreamSetup {
    /// TLS settings for an `https://` proxy.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub allowed: SchemeSet,
    pub creds: CredentialBroker,
    pub memory: Option<Arc<dyn AuthMemory>>,
    /// The Kerberos service Negotiate asks this proxy's ticket for (`auth::HTTP_SERVICE`
    /// unless `--proxy-service-name`).
    pub service: String,
    /// `--delegation`: whether Negotiate delegates the user's credentials to this proxy.
    pub delegation: crate::auth::Delegation,
    /// `--preproxy`: the SOCKS proxy this proxy is reached through.
    pub preproxy: Option<Arc<crate::socks::Hop>>,
    /// `--proxy1.0`: CONNECTs go as HTTP/1.0.
    pub connect_http10: bool,
}

pub type UpstreamFactory = Box<dyn Fn(&ProxySpec) -> UpstreamSetup + Send + Sync>;

pub(crate) struct Upstream {
    spec: ProxySpec,
    tls: Option<Arc<rustls::ClientConfig>>,
    creds: CredentialBroker,
    /// See [`UpstreamSetup::service`].
    service: String,
    delegation: crate::auth::Delegation,
    /// Non-connection-bound answers that worked, reused pre-emptively by later requests in the
    /// run so they cost no 407 (Basic: the same header; Digest: a pool of sessions).
    active: upstream::Active,
    /// The allowed schemes minus those that failed in this run (no GSSAPI, no ticket, refused),
    /// with when Negotiate may be tried again (see `Upstream::drop_scheme`).
    usable: Mutex<(SchemeSet, Option<std::time::Instant>)>,
    memory: Option<Arc<dyn AuthMemory>>,
    /// The memory is consulted once per run, by the first request to this proxy.
    recalled: tokio::sync::Mutex<bool>,
    /// Whether this proxy itself demands authentication (`upstream::Demand`): known when it
    /// answered a CONNECT with 407, or accepted a credential, in this run or an earlier one;
    /// until then a 407 to a forwarded request may be the origin's, relayed by an open proxy
    /// (`Upstream::proxy_demands_auth`).
    demands_auth: std::sync::atomic::AtomicU8,
    /// Held by the request probing whether the proxy demands authentication: concurrent ones
    /// (`toll -Z`) wait for its answer instead of each probing.
    probing: tokio::sync::Mutex<()>,
    /// A connection-bound scheme known to be wanted (forced, remembered, or worked in this run):
    /// each new connection opens its handshake without waiting for a bare challenge.
    opener: Mutex<Option<upstream::Opener>>,
    /// Connections lent to forwarded requests, and spares for tunnels (`pool`).
    pool: pool::Pool,
    /// See [`UpstreamSetup::preproxy`].
    preproxy: Option<Arc<crate::socks::Hop>>,
    /// See [`UpstreamSetup::connect_http10`].
    connect_http10: bool,
}

pub(crate) struct Inner {
    key: Secret,
    upstreams: Mutex<Vec<Arc<Upstream>>>,
    factory: UpstreamFactory,
    /// The latest failure, with the HTTP client's connection to the loopback relay it came on
    /// (`None`: in process, or not known).
    failure: Mutex<Option<(Option<SocketAddr>, Failure)>>,
    reporter: Arc<dyn Reporter>,
    connect_timeout: Option<Duration>,
    /// Spare connections per proxy kept for new tunnels (`spare`); 0 for toll's own transfers.
    spare_tunnels: std::sync::atomic::AtomicUsize,
    /// How long a large body waits behind `Expect: 100-continue`, in milliseconds
    /// ([`body::EXPECT_WAIT`] unless `--expect100-timeout`).
    expect_wait_ms: AtomicU64,
    /// What toll's own transfers report about the proxy conversation (`-i`, `-w`); `None` for
    /// `toll serve`, which has no use for it.
    notes: Option<TransferNotes>,
    /// `--interface`: the address connections to the proxy leave from.
    local_address: std::sync::OnceLock<std::net::IpAddr>,
    /// `-4`/`-6`: the only address family connections to the proxy may use.
    family: std::sync::OnceLock<Family>,
    /// `--doh-url`: proxies' names are looked up through it, never by the system.
    doh: std::sync::OnceLock<std::sync::Arc<crate::doh::Doh>>,
    /// `--resolve HOST:PORT:ADDR`: a proxy at HOST:PORT is reached at ADDR, unlooked-up.
    resolve: std::sync::OnceLock<Vec<(String, std::net::SocketAddr)>>,
    /// The User-Agent a loopback CONNECT carries instead of reqwest's (`None`: none): reqwest
    /// puts its own after the user's `--proxy-header` one (`client::connect_agent` decides).
    connect_agent: std::sync::OnceLock<Option<HeaderValue>>,
}

/// An address family connections are kept to (`-4`, `-6`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// An open tunnel through the upstream proxy, as a byte stream ([`Relay::open_tunnel_stream`]).
pub type TunnelStream = TokioIo<hyper::upgrade::Upgraded>;

/// The authentication scheme that carried a request the proxy let through (`None`: the proxy
/// asked for none), kept as an extension of the response the relay hands back: `toll serve`
/// logs it. Never a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthUsed(pub Option<crate::auth::Scheme>);

impl AuthUsed {
    /// The scheme recorded on `resp` (`None` also for a response the relay did not get from
    /// the proxy, such as its own refusals).
    pub fn of<B>(resp: &Response<B>) -> Option<crate::auth::Scheme> {
        resp.extensions().get::<AuthUsed>().and_then(|a| a.0)
    }
}

/// The running relay. Dropping the tokio runtime stops it.
pub struct Relay {
    inner: Arc<Inner>,
    addr: SocketAddr,
}

impl Relay {
    /// Binds 127.0.0.1 on an ephemeral port and starts accepting requests from this process's
    /// HTTP client (they must carry [`Relay::proxy_url_for`]'s key).
    pub async fn start(
        factory: UpstreamFactory,
        reporter: Arc<dyn Reporter>,
        connect_timeout: Option<Duration>,
    ) -> std::io::Result<Relay> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let relay = Relay::new(factory, reporter, connect_timeout, addr, true)?;
        let accept_inner = relay.inner.clone();
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
        tokio::spawn(async move {
            loop {
                let tcp = match listener.accept().await {
                    Ok((tcp, _)) => tcp,
                    Err(_) => {
                        // Out of descriptors (EMFILE/ENFILE) or a transient error: the pending
                        // connection stays queued, so retrying at once would spin at 100% CPU.
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                // Beyond the cap (another local user holding connections open), close at once.
                let Ok(slot) = slots.clone().try_acquire_owned() else { continue };
                let _ = tcp.set_nodelay(true);
                let inner = accept_inner.clone();
                if let Some(notes) = &inner.notes {
                    notes.accepted.fetch_add(1, Ordering::Relaxed);
                }
                tokio::spawn(async move {
                    serve(inner, tcp).await;
                    drop(slot);
                });
            }
        });
        Ok(relay)
    }

    /// A relay without a listener of its own: `toll serve` admits other programs itself and
    /// hands their requests to [`Relay::carry`].
    pub fn detached(
        factory: UpstreamFactory,
        reporter: Arc<dyn Reporter>,
        connect_timeout: Option<Duration>,
    ) -> std::io::Result<Relay> {
        Relay::new(factory, reporter, connect_timeout, SocketAddr::from(([127, 0, 0, 1], 0)), false)
    }

    fn new(
        factory: UpstreamFactory,
        reporter: Arc<dyn Reporter>,
        connect_timeout: Option<Duration>,
        addr: SocketAddr,
        own_transfers: bool,
    ) -> std::io::Result<Relay> {
        let key = Secret::random_hex(24)?;
        let inner = Arc::new(Inner {
            key,
            upstreams: Mutex::new(Vec::new()),
            factory,
            failure: Mutex::new(None),
            reporter,
            connect_timeout,
            spare_tunnels: std::sync::atomic::AtomicUsize::new(0),
            expect_wait_ms: AtomicU64::new(body::EXPECT_WAIT.as_millis() as u64),
            notes: own_transfers.then(TransferNotes::default),
            local_address: std::sync::OnceLock::new(),
            family: std::sync::OnceLock::new(),
            doh: std::sync::OnceLock::new(),
            resolve: std::sync::OnceLock::new(),
            connect_agent: std::sync::OnceLock::new(),
        });
        Ok(Relay { inner, addr })
    }

    /// Carries one request of another program through the proxy `spec` (`toll serve`),
    /// forwarded in absolute form on an upstream connection lent for it (`pool`); its response
    /// says which scheme carried it ([`AuthUsed`]). The proxy's refusal comes back as the
    /// `Failure` instead of being kept for the app. (A CONNECT is [`Relay::tunnel`]'s.)
    /// `answer_limit`: how long the proxy may take to answer, counted once a connection is
    /// free from the last byte of the request's body (a body up to [`body::REPLAY_LIMIT`] is
    /// read first; a larger one streams), or from when the proxy stopped taking the body.
    pub async fn carry(
        &self,
        spec: &ProxySpec,
        mut req: Request<Incoming>,
        answer_limit: Option<Duration>,
    ) -> Result<Response<RelayBody>, Failure> {
        let up = self.upstream(spec);
        hop::strip_request(req.headers_mut());
        forward_or_fail(self.inner.clone(), up, None, req, answer_limit).await
    }

    /// How long a body over [`body::REPLAY_LIMIT`] waits for the proxy's `100 Continue` (or its
    /// 407) before it is sent anyway (`--expect100-timeout`; curl's default is one second).
    pub fn set_expect_wait(&self, wait: Duration) {
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        self.inner.expect_wait_ms.store(ms, Ordering::Relaxed);
    }

    /// Connections to proxies leave from `ip` (`--interface`); set once, before the first.
    pub fn set_local_address(&self, ip: std::net::IpAddr) {
        let _ = self.inner.local_address.set(ip);
    }

    /// The address set with [`Relay::set_local_address`].
    pub fn local_address(&self) -> Option<std::net::IpAddr> {
        self.inner.local_address.get().copied()
    }

    /// Connections to proxies use only `family`'s addresses (`-4`, `-6`); set once, before the
    /// first.
    pub fn set_family(&self, family: Family) {
        let _ = self.inner.family.set(family);
    }

    /// Proxies' names (and the names `--preproxy`'s `socks4://`/`socks5://` are given) are
    /// looked up through `doh` (`--doh-url`); set once, before the first connection.
    pub fn set_doh(&self, doh: std::sync::Arc<crate::doh::Doh>) {
        let _ = self.inner.doh.set(doh);
    }

    /// `--resolve`'s rules, for the proxies' names too (curl's apply to every name it looks up);
    /// set once, before the first connection.
    pub fn set_resolve(&self, rules: Vec<(String, std::net::SocketAddr)>) {
        let _ = self.inner.resolve.set(rules);
    }

    /// The User-Agent of the CONNECTs that reach the loopback listener (from toll's own
    /// reqwest), `None` for none, in place of the one reqwest sent (see `Inner::connect_agent`);
    /// set once, before the first connection. Unset (`toll serve`), a CONNECT keeps its own.
    pub fn set_connect_agent(&self, agent: Option<HeaderValue>) {
        let _ = self.inner.connect_agent.set(agent);
    }

    /// The latest failed `--doh-url` lookup, taken (the HTTP client's SOCKS connector loses it).
    pub fn take_doh_failure(&self) -> Option<crate::doh::LookupError> {
        self.inner.doh.get().and_then(|d| d.take_failure())
    }

    /// The resolver set by [`Relay::set_doh`], if any.
    pub fn doh(&self) -> Option<&crate::doh::Doh> {
        self.inner.doh.get().map(|d| &**d)
    }

    /// The address a `--resolve` rule ([`Relay::set_resolve`]) gives `host:port`, if one does.
    pub fn resolved(&self, host: &str, port: u16) -> Option<std::net::IpAddr> {
        self.inner.resolved(host, port)
    }

    /// The family set by [`Relay::set_family`], if any.
    pub fn family(&self) -> Option<Family> {
        self.inner.family.get().copied()
    }

    /// Keep `n` connections per proxy opened ahead for new tunnels (`toll serve`; see `spare`).
    pub fn set_spare_tunnels(&self, n: usize) {
        self.inner.spare_tunnels.store(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Closes every proxy connection kept open for the next request or tunnel (idle ones and
    /// spares): this machine's network changed, and a connection from before may lead nowhere
    /// now, so a request sent on it would wait its whole answer timeout. Connections carrying a
    /// request or a tunnel go on.
    pub fn forget_idle(&self) {
        let ups = self.inner.upstreams.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for up in ups {
            up.pool.forget_idle();
        }
    }

    /// Opens a tunnel to `authority` (`host:port`) through the proxy `spec`, answering its 407s
    /// here as for any CONNECT (with the user's `--proxy-header`s, `headers`), and hands over
    /// the upstream connection itself: the caller runs TLS (or, for `-p`, HTTP) on it in this
    /// process, without the loopback hop (`client::tunnel`). Proxy credentials went only into
    /// the CONNECT; what passes through the tunnel afterwards is the caller's, and a 407 in it
    /// is the origin's. A refusal is returned and also kept for [`Relay::take_failure`], as the
    /// loopback relay keeps it.
    pub async fn open_tunnel_stream(
        &self,
        spec: &ProxySpec,
        authority: &str,
        headers: http::HeaderMap,
    ) -> Result<TunnelStream, Failure> {
        let result = match http::uri::Authority::try_from(authority) {
            Ok(a) => self.tunnel(spec, &a, headers).await.map(|(t, _)| t),
            Err(_) => {
                let up = self.upstream(spec);
                let mut f = up.failure(FailureKind::ProxyError(format!("{authority:?} is not host:port")));
                f.target = authority.to_string();
                Err(f)
            }
        };
        if let Err(f) = &result {
            self.inner.record(f.clone());
        }
        result
    }

    /// Opens a tunnel to `authority` through the proxy `spec` for `toll serve`, which read the
    /// client's CONNECT itself: as [`Relay::open_tunnel_stream`], with the client's own
    /// `headers` passed on to the proxy (hop-by-hop ones already removed) and nothing kept for
    /// [`Relay::take_failure`] (the server answers each client itself). Hop-by-hop headers and
    /// a length are not passed on. Also returns the scheme that opened it, for the log.
    pub async fn tunnel(
        &self,
        spec: &ProxySpec,
        authority: &http::uri::Authority,
        mut headers: http::HeaderMap,
    ) -> Result<(TunnelStream, Option<crate::auth::Scheme>), Failure> {
        let up = self.upstream(spec);
        // As `carry` strips them from a CONNECT hyper read.
        hop::strip_request(&mut headers);
        let resp = connect_through(&self.inner, &up, authority, &headers).await?;
        self.inner.note_connect_head(&resp, None);
        let used = AuthUsed::of(&resp);
        hyper::upgrade::on(resp).await.map(|t| (TokioIo::new(t), used)).map_err(|e| {
            let mut f =
                up.failure(FailureKind::ProxyError(format!("the tunnel could not be taken over: {e}")));
            f.target = authority.to_string();
            f
        })
    }

    fn upstream(&self, spec: &ProxySpec) -> Arc<Upstream> {
        let index = self.inner.upstream_index(spec);
        self.inner.upstreams.lock().unwrap_or_else(|e| e.into_inner())[index].clone()
    }

    /// Forwards a request (`parts`: absolute URI; `body` read with [`RequestBody::read`]) through
    /// the proxy `spec`, in process, on an upstream connection lent for it (`pool`), answering
    /// the proxy's 407s exactly as for a request reqwest sends through the loopback relay, and as
    /// `toll serve` does for other programs (`client::tunnel` uses it so http transfers skip the
    /// loopback hop). A refusal is returned and also kept for [`Relay::take_failure`]; a 403 the
    /// proxy made itself is kept there and returned as the response, as on the loopback path.
    pub async fn forward_in_process(
        &self,
        spec: &ProxySpec,
        mut parts: http::request::Parts,
        body: RequestBody,
    ) -> Result<Response<RelayBody>, Failure> {
        let up = self.upstream(spec);
        hop::strip_request(&mut parts.headers);
        let lease = up.pool.lanes.lease().await;
        let result = send_forward(&self.inner, up, Via::Lent(lease), parts, body).await;
        if let Err(f) = &result {
            self.inner.record(f.clone());
        }
        result
    }

    /// The proxy URL (with this process's key as credential) through which reqwest reaches `spec`.
    pub fn proxy_url_for(&self, spec: &ProxySpec) -> url::Url {
        let index = self.inner.upstream_index(spec);
        let mut u = url::Url::parse(&format!("http://{}", self.addr)).expect("socket address URL");
        u.set_username(&format!("u{index}")).expect("http URL takes a user");
        u.set_password(Some(self.inner.key.expose())).expect("http URL takes a password");
        u
    }

    /// The most recent reason a request did not get through the proxy, if any.
    pub fn take_failure(&self) -> Option<Failure> {
        self.inner.failure.lock().unwrap_or_else(|e| e.into_inner()).take().map(|(_, f)| f)
    }

    /// The most recent failure, unless it came on another of the HTTP client's connections to
    /// the loopback relay than `client` (the one a response came on): the CONNECT of a tunnel
    /// hyper's pool opened beside a kept connection and then did not use (see
    /// [`Relay::take_connect_heads_of`]) may be refused, and a response that came on the kept
    /// one is not that failure's.
    pub fn take_failure_of(&self, client: Option<SocketAddr>) -> Option<Failure> {
        let mut slot = self.inner.failure.lock().unwrap_or_else(|e| e.into_inner());
        match &*slot {
            Some((Some(from), _)) if client.is_some_and(|c| c != *from) => None,
            _ => slot.take().map(|(_, f)| f),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Inner {
    /// The address the last `--resolve` rule for `host:port` gives it, if any.
    fn resolved(&self, host: &str, port: u16) -> Option<std::net::IpAddr> {
        let rules = self.resolve.get().into_iter().flatten().rev();
        rules.filter(|(h, a)| h.eq_ignore_ascii_case(host) && a.port() == port).map(|(_, a)| a.ip()).next()
    }

    /// Where `--resolve` says `host:port` is (the name as given when no rule is for it).
    fn pinned(&self, host: &str, port: u16) -> String {
        self.resolved(host, port).map_or_else(|| host.to_string(), |ip| ip.to_string())
    }

    fn expect_wait(&self) -> Duration {
        Duration::from_millis(self.expect_wait_ms.load(Ordering::Relaxed))
    }

    fn upstream_index(&self, spec: &ProxySpec) -> usize {
        let mut ups = self.upstreams.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = ups.iter().position(|u| same_proxy(&u.spec, spec)) {
            return i;
        }
        let setup = (self.factory)(spec);
        ups.push(Arc::new(Upstream {
            spec: spec.clone(),
            tls: setup.tls,
            creds: setup.creds,
            service: setup.service,
            delegation: setup.delegation,
            active: upstream::Active::default(),
            usable: Mutex::new((setup.allowed, None)),
            memory: setup.memory,
            recalled: tokio::sync::Mutex::new(false),
            demands_auth: std::sync::atomic::AtomicU8::new(upstream::Demand::Unknown as u8),
            probing: tokio::sync::Mutex::new(()),
            opener: Mutex::new(upstream::Opener::forced(setup.allowed)),
            pool: pool::Pool::default(),
            preproxy: setup.preproxy,
            connect_http10: setup.connect_http10,
        }));
        ups.len() - 1
    }

    /// The upstream a request is for, when it carries this process's key (`u<index>:<key>`).
    fn authorize(&self, headers: &http::HeaderMap) -> Option<Arc<Upstream>> {
        let (user, key) = proxy_basic(headers)?;
        if !constant_time_eq(key.expose().as_bytes(), self.key.expose().as_bytes()) {
            return None;
        }
        let index: usize = user.strip_prefix('u')?.parse().ok()?;
        self.upstreams.lock().unwrap_or_else(|e| e.into_inner()).get(index).cloned()
    }

    fn record(&self, f: Failure) {
        self.record_from(f, None);
    }

    /// Keeps `f` as the latest failure, which came on the loopback connection from `client`.
    fn record_from(&self, f: Failure, client: Option<SocketAddr>) {
        *self.failure.lock().unwrap_or_else(|e| e.into_inner()) = Some((client, f));
    }

    fn info(&self, args: fmt::Arguments<'_>) {
        if self.reporter.verbose() {
            self.reporter.line(Direction::Info, &args.to_string());
        }
    }

    fn trace_response(&self, resp: &Response<Incoming>) {
        if !self.reporter.verbose() {
            return;
        }
        let reason = resp.status().canonical_reason().unwrap_or("");
        self.reporter.line(Direction::Received, &format!("HTTP/1.1 {} {reason}", resp.status().as_u16()));
        for v in resp.headers().get_all(PROXY_AUTHENTICATE) {
            self.reporter.line(
                Direction::Received,
                &format!(
                    "Proxy-Authenticate: {}",
                    shown_challenge(&crate::auth::challenge::header_text(v.as_bytes()))
                ),
            );
        }
        for name in ["connection", "content-length", "transfer-encoding", "x-squid-error", "proxy-status"] {
            if let Some(v) = resp.headers().get(name) {
                self.reporter
                    .line(Direction::Received, &format!("{name}: {}", String::from_utf8_lossy(v.as_bytes())));
            }
        }
    }
}

fn same_proxy(a: &ProxySpec, b: &ProxySpec) -> bool {
    a.scheme == b.scheme
        && a.host.eq_ignore_ascii_case(&b.host)
        && a.port == b.port
        && a.user == b.user
        && a.password == b.password
}

/// Whether an HTTP exchange failed because the peer closed or reset the connection (hyper's
/// "connection closed before message completed", or a reset or broken pipe underneath), as
/// opposed to an answer that is not HTTP. Callers rule out what happened before the connection
/// (a connect error) and timeouts, which their error types tell.
pub fn closed_under(e: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    std::iter::successors(Some(e), |e| e.source()).any(|e| {
        e.downcast_ref::<hyper::Error>().is_some_and(|h| h.is_incomplete_message())
            || e.downcast_ref::<std::io::Error>().is_some_and(|io| {
                matches!(io.kind(), ConnectionReset | BrokenPipe | ConnectionAborted | UnexpectedEof)
            })
    })
}

/// The user name and password of a `Proxy-Authorization: Basic` header (how a client shows the
/// relay's key, and `toll serve`'s).
pub fn proxy_basic(headers: &http::HeaderMap) -> Option<(String, Secret)> {
    use base64::Engine;
    let v = headers.get(PROXY_AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded =
        zeroize::Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(token.trim()).ok()?);
    let text = std::str::from_utf8(&decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), Secret::new(password)))
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A bodiless answer of the relay's own (closing the connection with `close`).
fn plain(status: StatusCode, close: bool) -> Response<RelayBody> {
    let mut r = Response::new(body::empty());
    *r.status_mut() = status;
    if close {
        r.headers_mut().insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    r
}
