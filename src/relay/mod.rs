//! The in-process auth relay: a loopback HTTP proxy that reqwest uses for every target toll
//! routes through a real proxy. reqwest cannot see a 407's challenge on a CONNECT, and can only
//! send a fixed `Proxy-Authorization` (../shared/notes/reqwest-and-407.md), so the relay owns the
//! conversation with the upstream proxy (RFC 7235 §3.2 407, §4.3, §4.4; RFC 7231 §4.3.6 CONNECT):
//!
//! - CONNECT (https targets): sends `CONNECT host:port` upstream, answers 407s on the same
//!   connection while it is kept alive, then passes bytes untouched both ways. A 407 inside the
//!   tunnel is the origin's and never sees a proxy credential.
//! - absolute-form requests (http targets): forwards them with `Proxy-Authorization`, replaying
//!   or withholding the body across 407s (`body`).
//!
//! Locked down: it binds 127.0.0.1 only, and serves only requests carrying this process's random
//! key as their proxy credential (checked, then stripped). The real upstream status, challenges
//! and the reason for giving up are kept as a [`Failure`] for the app to report, since reqwest
//! itself only sees "tunnel error".

pub mod body;
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
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use upstream::{Answer, Conn, Outgoing};

/// Tunnel copy buffers: large, allocated once per direction per tunnel. A user-space copy, not
/// `splice(2)`: splicing loopback TCP through a pipe was measured (issue 10, Linux 6.18) to cost
/// the process more CPU than this copy (200 MiB: 0.21 s against 0.15 s), and more wall time.
const TUNNEL_BUFFER: usize = 256 * 1024;

/// hyper's read buffers grow with a fast transfer (to ~400 KiB each by default); capped so
/// memory stays flat from small to large forwarded bodies.
const HTTP_BUFFER: usize = 64 * 1024;

/// Why the relay could not get a request through the upstream proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// DNS, TCP or TLS to the proxy failed.
    Unreachable(String),
    /// 407 without any `Proxy-Authenticate` challenge.
    NoChallenge,
    /// 407 offering only schemes toll cannot answer (or the user did not allow); `unusable`
    /// says why offered schemes failed here (e.g. "Negotiate: no Kerberos ticket").
    NoUsableScheme { unusable: Vec<String> },
    /// 407 and no credential source had anything; `incomplete` says what was half-configured.
    NoCredentials { incomplete: Vec<String> },
    /// Every available credential was refused; the labels of their sources.
    Rejected { sources: Vec<String> },
    /// A credential that worked earlier in this run got a 407 for this destination.
    RestrictedDestination { user: String },
    /// The proxy answered 403 (CONNECT, or its own error page on a request).
    Denied,
    /// Anything else: other statuses on CONNECT, a broken conversation.
    ProxyError(String),
}

/// The upstream side of a request that did not get through, for the app's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The proxy, as `scheme://host:port` (no credentials).
    pub proxy: String,
    /// Where the proxy setting came from (`-x/--proxy`, `https_proxy`, …).
    pub origin: String,
    /// `host:port` of a CONNECT, or the absolute URI of a request.
    pub target: String,
    pub kind: FailureKind,
    /// The proxy's last status, when it answered.
    pub status: Option<(u16, String)>,
    /// The schemes the proxy offered in its last 407, readable (`Digest (realm "Corp")`).
    pub offered: Vec<String>,
}

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
}

pub type UpstreamFactory = Box<dyn Fn(&ProxySpec) -> UpstreamSetup + Send + Sync>;

pub(crate) struct Upstream {
    spec: ProxySpec,
    tls: Option<Arc<rustls::ClientConfig>>,
    creds: CredentialBroker,
    /// A non-connection-bound scheme that worked, reused pre-emptively by later requests in the
    /// run (Basic: the same header; Digest: the same nonce, next nc) so they cost no 407.
    active: Mutex<Option<Answer>>,
    /// The allowed schemes minus those that failed in this run (no GSSAPI, no ticket, refused).
    usable: Mutex<SchemeSet>,
    memory: Option<Arc<dyn AuthMemory>>,
    /// The memory is consulted once per run, by the first request to this proxy.
    recalled: tokio::sync::Mutex<bool>,
    /// A connection-bound scheme known to be wanted (forced, remembered, or worked in this run):
    /// each new connection opens its handshake without waiting for a bare challenge.
    opener: Mutex<Option<upstream::Opener>>,
}

pub(crate) struct Inner {
    key: Secret,
    upstreams: Mutex<Vec<Arc<Upstream>>>,
    factory: UpstreamFactory,
    failure: Mutex<Option<Failure>>,
    reporter: Arc<dyn Reporter>,
    connect_timeout: Option<Duration>,
}

/// The running relay. Dropping the tokio runtime stops it.
pub struct Relay {
    inner: Arc<Inner>,
    addr: SocketAddr,
}

impl Relay {
    /// Binds 127.0.0.1 on an ephemeral port and starts accepting.
    pub async fn start(
        factory: UpstreamFactory,
        reporter: Arc<dyn Reporter>,
        connect_timeout: Option<Duration>,
    ) -> std::io::Result<Relay> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let mut raw = [0u8; 24];
        getrandom::fill(&mut raw).map_err(|e| std::io::Error::other(e.to_string()))?;
        let key = Secret::new(raw.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let inner = Arc::new(Inner {
            key,
            upstreams: Mutex::new(Vec::new()),
            factory,
            failure: Mutex::new(None),
            reporter,
            connect_timeout,
        });
        let accept_inner = inner.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { continue };
                let _ = tcp.set_nodelay(true);
                tokio::spawn(serve(accept_inner.clone(), tcp));
            }
        });
        Ok(Relay { inner, addr })
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
        self.inner.failure.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Inner {
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
            active: Mutex::new(None),
            usable: Mutex::new(setup.allowed),
            memory: setup.memory,
            recalled: tokio::sync::Mutex::new(false),
            opener: Mutex::new(upstream::Opener::forced(setup.allowed)),
        }));
        ups.len() - 1
    }

    /// The upstream a request is for, when it carries this process's key (`u<index>:<key>`).
    fn authorize(&self, headers: &http::HeaderMap) -> Option<Arc<Upstream>> {
        use base64::Engine;
        let v = headers.get(PROXY_AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = v.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded =
            zeroize::Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(token.trim()).ok()?);
        let text = std::str::from_utf8(&decoded).ok()?;
        let (user, key) = text.split_once(':')?;
        if !constant_time_eq(key.as_bytes(), self.key.expose().as_bytes()) {
            return None;
        }
        let index: usize = user.strip_prefix('u')?.parse().ok()?;
        self.upstreams.lock().unwrap_or_else(|e| e.into_inner()).get(index).cloned()
    }

    fn record(&self, f: Failure) {
        *self.failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(f);
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
                &format!("Proxy-Authenticate: {}", shown_challenge(&String::from_utf8_lossy(v.as_bytes()))),
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

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// State of one reqwest→relay connection: its upstream connection for forwarded requests.
struct ClientConn {
    upstream: Option<Arc<Upstream>>,
    conn: Option<Conn>,
}

async fn serve(inner: Arc<Inner>, tcp: TcpStream) {
    let state = Arc::new(tokio::sync::Mutex::new(ClientConn { upstream: None, conn: None }));
    let svc = hyper::service::service_fn(move |req| handle(inner.clone(), state.clone(), req));
    let _ = hyper::server::conn::http1::Builder::new()
        .max_buf_size(HTTP_BUFFER)
        .serve_connection(TokioIo::new(tcp), svc)
        .with_upgrades()
        .await;
}

fn plain(status: StatusCode, close: bool) -> Response<RelayBody> {
    let mut r = Response::new(body::empty());
    *r.status_mut() = status;
    if close {
        r.headers_mut().insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    r
}

/// Headers that belong to one hop (RFC 7230 §6.1) or to the relay itself.
fn strip_hop_headers(h: &mut http::HeaderMap) {
    for name in [
        "proxy-authorization",
        "proxy-connection",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        h.remove(HeaderName::from_static(name));
    }
}

async fn handle(
    inner: Arc<Inner>,
    state: Arc<tokio::sync::Mutex<ClientConn>>,
    mut req: Request<Incoming>,
) -> Result<Response<RelayBody>, Infallible> {
    let Some(up) = inner.authorize(req.headers()) else {
        return Ok(plain(StatusCode::FORBIDDEN, true));
    };
    strip_hop_headers(req.headers_mut());
    if req.method() == Method::CONNECT {
        Ok(tunnel(inner, up, req).await)
    } else {
        Ok(forward(inner, up, state, req).await)
    }
}

/// The status the relay gives reqwest for a failure (the app reads the details from `Failure`).
fn failure_status(kind: &FailureKind) -> StatusCode {
    match kind {
        FailureKind::Denied => StatusCode::FORBIDDEN,
        FailureKind::Unreachable(_) | FailureKind::ProxyError(_) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::PROXY_AUTHENTICATION_REQUIRED,
    }
}

async fn tunnel(inner: Arc<Inner>, up: Arc<Upstream>, mut req: Request<Incoming>) -> Response<RelayBody> {
    let Some(authority) = req.uri().authority().cloned() else {
        return plain(StatusCode::BAD_REQUEST, true);
    };
    let client_side = hyper::upgrade::on(&mut req);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::HOST,
        HeaderValue::from_str(authority.as_str()).expect("authority is a header value"),
    );
    let out = Outgoing {
        method: Method::CONNECT,
        uri: http::Uri::from(authority.clone()),
        headers,
        body: RequestBody::Empty,
    };
    let mut conn = None;
    match up.exchange(&inner, &mut conn, out).await {
        Ok(resp) if resp.status().is_success() => {
            inner.info(format_args!("tunnel to {authority} established; bytes now pass untouched"));
            let upstream_side = hyper::upgrade::on(resp);
            tokio::spawn(async move {
                let (Ok(client), Ok(upstream)) = (client_side.await, upstream_side.await) else { return };
                let _ = tokio::io::copy_bidirectional_with_sizes(
                    &mut TokioIo::new(client),
                    &mut TokioIo::new(upstream),
                    TUNNEL_BUFFER,
                    TUNNEL_BUFFER,
                )
                .await;
            });
            plain(StatusCode::OK, false)
        }
        Ok(resp) => {
            let status = resp.status();
            let kind = if status == StatusCode::FORBIDDEN {
                FailureKind::Denied
            } else {
                FailureKind::ProxyError(format!("the proxy answered the CONNECT with {status}"))
            };
            let reason = status.canonical_reason().unwrap_or("").to_string();
            let mut f = up.failure(kind);
            f.target = authority.to_string();
            f.status = Some((status.as_u16(), reason));
            let code = failure_status(&f.kind);
            inner.record(f);
            plain(code, true)
        }
        Err(f) => {
            let code = failure_status(&f.kind);
            inner.record(f);
            plain(code, true)
        }
    }
}

/// True when a response was made by the proxy itself (Squid's `X-Squid-Error`, RFC 9209
/// `Proxy-Status`), not by the origin behind it.
fn from_proxy(resp: &Response<Incoming>) -> bool {
    resp.headers().contains_key("x-squid-error") || resp.headers().contains_key("proxy-status")
}

async fn forward(
    inner: Arc<Inner>,
    up: Arc<Upstream>,
    state: Arc<tokio::sync::Mutex<ClientConn>>,
    req: Request<Incoming>,
) -> Response<RelayBody> {
    let mut st = state.lock().await;
    if !st.upstream.as_ref().is_some_and(|u| Arc::ptr_eq(u, &up)) {
        // reqwest pools by relay address: one client connection may serve two upstreams.
        st.upstream = Some(up.clone());
        st.conn = None;
    }
    let (parts, incoming) = req.into_parts();
    if parts.uri.scheme().is_none() {
        return plain(StatusCode::BAD_REQUEST, true);
    }
    let body = match RequestBody::read(incoming).await {
        Ok(b) => b,
        Err(_) => return plain(StatusCode::BAD_REQUEST, true),
    };
    let out = Outgoing { method: parts.method, uri: parts.uri.clone(), headers: parts.headers, body };
    match up.exchange(&inner, &mut st.conn, out).await {
        Ok(resp) => {
            if resp.status() == StatusCode::FORBIDDEN && from_proxy(&resp) {
                let mut f = up.failure(FailureKind::Denied);
                f.target = parts.uri.to_string();
                f.status = Some((403, "Forbidden".into()));
                inner.record(f);
            }
            resp.map(|b| b.map_err(Into::into).boxed())
        }
        Err(f) => {
            st.conn = None;
            let code = failure_status(&f.kind);
            inner.record(f);
            plain(code, true)
        }
    }
}
