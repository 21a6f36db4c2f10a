//! Requests through an HTTP(S) proxy without the loopback hop (issue 10). reqwest can only reach a
//! proxy over a socket (its connector cannot take a stream), so through the loopback relay every
//! tunnelled byte crossed loopback twice: proxy → relay → loopback → reqwest. Here the relay
//! opens and authenticates the tunnel in process (`Relay::open_tunnel_stream`, the same
//! CONNECT/407 code the loopback relay and `toll serve` use), and TLS (tokio-rustls) and HTTP
//! (hyper's client connection, HTTP/2 or HTTP/1.1 by ALPN) run directly on the upstream
//! connection. The answer becomes the `reqwest::Response` the rest of the client handles, with
//! its URL set (`ResponseBuilderExt::url`), so cookies, `-w`, origin auth and redirects see the
//! same thing as on the reqwest path.
//!
//! What reqwest did for these requests and is done here too: its default headers (`Accept`,
//! `User-Agent`) and `Host`; TLS as `build_client` configures it (`tls::origin_tls`: `--cacert`,
//! `-k`, the platform verifier; ALPN h2 + http/1.1, or http/1.1 with `--http1.1`);
//! `--connect-timeout` over tunnel and TLS handshake, `-m` over the whole exchange, the body
//! included; errors classified into the same exit codes (a TLS failure, a tunnel that broke
//! before the handshake, a body that could not be read). Guarantees kept: proxy credentials
//! exist only in the relay's CONNECT; a 407 inside the tunnel is the origin's response and is
//! returned, never answered; a refused CONNECT is the relay's structured `Failure`.
//!
//! With `-p`, http URLs go through a tunnel too, as in curl: HTTP/1.1 runs on the tunnel itself
//! (no TLS), and since only this module opens tunnels for the client, it is made for them even
//! in a run whose https URLs stay on the reqwest path. The wire tap sees this path's
//! connections too ([`Tapped`]), so `-i`, `-I` and `-D` print their heads as received.
//!
//! http URLs through such a proxy skip the loopback hop the same way ([`Direct::forward`]): the
//! relay forwards the request in process (`Relay::forward_in_process`, the loopback path's
//! code: 407s answered only when the proxy itself demands credentials, its own 403 kept as the
//! failure) on an upstream connection lent from its pool. A body is read as `toll serve` reads
//! one: up to 1 MiB first, replayed after a 407; a larger one streams behind `Expect:
//! 100-continue` (`relay::body`).
//!
//! On both, the body is read by the transfer's own task, which also drives the HTTP/1
//! connection it comes from (`relay::driven`): a chunk goes from the socket to the output in
//! one poll on one thread, instead of being handed from the connection's task to the
//! transfer's across worker threads (a wake-up per chunk).
//!
//! Still on the reqwest path (through the loopback relay), because reqwest does them and this
//! module does not: `--http2-prior-knowledge`. Anything
//! added to reqwest's `ClientBuilder` in `build_client`/`extras::configure` must be mirrored
//! here or excluded in [`Direct::new`]. A tunnel whose response was read to the end is kept
//! for the next request to the same origin through the same proxy ([`Idle`]), as curl keeps
//! its connections; one the origin closed just as a request went out on it is replaced by a
//! new one, and the request sent again, as on the reqwest path.

mod failures;
mod tapped;
mod target;

use failures::{handshake_error, send_error};
use tapped::Tapped;

use super::errors::{find, read_failed};
use super::ReadFailed;
use crate::config::{HttpVersion, ProxySpec, RequestConfig};
use crate::error::{Error, Exit, Result};
use crate::relay::body::RequestBody;
use crate::relay::driven::{Driver, Driving};
use crate::relay::Relay;
use crate::report::{Direction, Reporter};
use crate::term::{display_url, sanitize};
use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, HOST, USER_AGENT};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use reqwest::ResponseBuilderExt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use target::{absolute, asterisk, host_header, server_name, with_authority};
use tokio::time::Instant;

/// Bytes read from the tunnel at once, beneath TLS. rustls asks for at most a record at a time
/// (4–16 KiB, one system call each); a buffer below it takes what the socket holds in one call.
const READ_BUFFER: usize = 128 * 1024;

/// hyper's HTTP/1 read buffer grows with a fast transfer (to ~400 KiB by default); capped so
/// peak memory does not depend on the transfer's size.
const HTTP_BUFFER: usize = 64 * 1024;

/// Tunnels kept open between requests at most (curl keeps a few per host as well).
const IDLE_TUNNELS: usize = 8;

/// How long a kept tunnel may take to be ready for the next request before a new one is opened.
const IDLE_READY: Duration = Duration::from_millis(200);

/// Settings for requests that take the direct path.
pub(super) struct Direct {
    /// For https:// URLs (`None` when only `-p`'s http:// ones take this path).
    tls: Option<Arc<rustls::ClientConfig>>,
    /// See [`Direct::in_process`].
    in_process: bool,
    user_agent: HeaderValue,
    /// `Accept: */*` goes on requests without one (not after `-H 'Accept:'`).
    accept: bool,
    max_time: Option<Duration>,
    connect_timeout: Option<Duration>,
    /// `--proxy-header`s: on the CONNECT, and on a request forwarded in absolute form (as
    /// reqwest adds them to its requests to a proxy), never inside a tunnel.
    proxy_headers: http::HeaderMap,
    /// The User-Agent a CONNECT carries (`client::connect_agent`).
    connect_agent: Option<HeaderValue>,
    /// Tunnels whose last response was read to its end, for the next request to the same
    /// origin through the same proxy (see [`Idle`]).
    idle: Idle,
    /// The ends of the latest connection made to each alternative (by `to`).
    peers: Arc<std::sync::Mutex<std::collections::HashMap<String, Peer>>>,
    /// TCP connections made here (to alternatives).
    connects: Arc<std::sync::atomic::AtomicU64>,
}

/// Open tunnels (TLS and HTTP set up) waiting for the next request to their origin, as curl
/// keeps its connections: the URLs of one command line, a redirect to the same host and the
/// retries of `--retry` go on the same tunnel instead of paying a CONNECT (and the proxy's
/// authentication) and a TLS handshake each. A response puts its tunnel back here only when
/// its body was read to the end; the oldest is closed beyond [`IDLE_TUNNELS`].
#[derive(Clone, Default)]
struct Idle(Arc<std::sync::Mutex<Vec<(TunnelKey, Sender)>>>);

/// Which requests a tunnel can carry: the proxy it goes through (none: a TCP connection made
/// here, to an `--alt-svc` alternative), the origin (`host:port`), where it leads (`to`: the
/// origin, or its alternative), and whether TLS runs on it (https) or HTTP itself (`-p` with
/// http).
#[derive(Clone, PartialEq, Eq)]
struct TunnelKey {
    proxy: Option<ProxySpec>,
    authority: String,
    to: String,
    tls: bool,
}

impl TunnelKey {
    /// The key of a connection for `url` through `spec` (none: straight), leading to `to`
    /// (`host:port`; none: the origin).
    fn of(url: &url::Url, spec: Option<&ProxySpec>, to: Option<&str>) -> TunnelKey {
        let host = url.host_str().unwrap_or_default();
        let tls = url.scheme() == "https";
        let port = url.port_or_known_default().unwrap_or(if tls { 443 } else { 80 });
        let authority = match url.host() {
            Some(url::Host::Ipv6(a)) => format!("[{a}]:{port}"),
            _ => format!("{host}:{port}"),
        };
        let to = to.map_or_else(|| authority.clone(), str::to_string);
        TunnelKey { proxy: spec.cloned(), authority, to, tls }
    }
}

/// The ends of a connection made here to an alternative (`-w`'s `remote_ip`, `local_port`…),
/// kept as an extension of its responses.
#[derive(Clone, Copy, Debug)]
pub(super) struct Peer {
    pub remote: std::net::SocketAddr,
    pub local: std::net::SocketAddr,
}

impl Idle {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(TunnelKey, Sender)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The newest open tunnel for `key`, ready for a request (closed ones are dropped).
    async fn take(&self, key: &TunnelKey) -> Option<Sender> {
        loop {
            let found = {
                let mut idle = self.lock();
                let i = idle.iter().rposition(|(k, _)| k == key)?;
                idle.remove(i).1
            };
            // Ready at once when its last exchange is over; one still sending an upload the
            // origin answered early is not waited for.
            if let Ok(Some(ready)) = tokio::time::timeout(IDLE_READY, found.ready()).await {
                return Some(ready);
            }
        }
    }

    fn put(&self, key: TunnelKey, sender: Sender) {
        let mut idle = self.lock();
        if idle.len() == IDLE_TUNNELS {
            idle.remove(0);
        }
        idle.push((key, sender));
    }
}

/// The connection a response's body is still read from (kept open until the body is dropped).
enum Sender {
    H1(#[allow(dead_code)] hyper::client::conn::http1::SendRequest<reqwest::Body>, Driver),
    H2(#[allow(dead_code)] hyper::client::conn::http2::SendRequest<reqwest::Body>),
}

impl Sender {
    /// The same connection once it can take a request, or `None` if it has closed.
    async fn ready(self) -> Option<Sender> {
        match self {
            Sender::H1(mut send, driver) => send.ready().await.ok().map(|()| Sender::H1(send, driver)),
            Sender::H2(mut send) => send.ready().await.ok().map(|()| Sender::H2(send)),
        }
    }
}

impl Direct {
    /// The direct path for this run, or `None` when the request uses something only the
    /// reqwest path does (see the module doc). With `-p`, http:// URLs go through a tunnel too,
    /// which only this path opens: then it is made for them even where https:// URLs and
    /// forwarded requests stay on the reqwest path (see [`Direct::in_process`]).
    pub(super) fn new(req: &RequestConfig, user_agent: &str, wire_tap: bool) -> Result<Option<Direct>> {
        let c = &req.curl.conn;
        // What no request on this path can do: HTTP/2 without ALPN, HTTP/1.0,
        // --unix-socket, and traces (the wire tap reads reqwest's connection log).
        let never = req.curl.http_version == HttpVersion::Http2PriorKnowledge
            || c.http10
            || c.unix_socket.is_some()
            || c.trace.is_some();
        // What only https:// and forwarded requests lose here: heads printed as received (-i,
        // -I, -D: the wire tap), TLS versions, client certificates, --capath, -6.
        let reqwest_tls_or_heads = wire_tap
            || c.tls_min.is_some()
            || c.tls_max.is_some()
            || c.ipv6_only
            || c.capath.is_some()
            || c.client_cert.is_some();
        let in_process = !never && !reqwest_tls_or_heads;
        let http_tunnel = !never && c.proxytunnel;
        if !in_process && !http_tunnel {
            return Ok(None);
        }
        let user_agent = HeaderValue::from_str(user_agent)
            .map_err(|_| Error::new(Exit::Usage, "the user agent cannot be put in a header"))?;
        let tls = if in_process { Some(super::tls::origin_tls(req)?) } else { None };
        Ok(Some(Direct {
            tls,
            in_process,
            user_agent,
            accept: !req.curl.removed_headers.iter().any(|h| h == "accept"),
            max_time: req.max_time,
            connect_timeout: req.connect_timeout,
            proxy_headers: super::conn::proxy_connect_headers(c),
            connect_agent: super::connect_agent(req),
            idle: Idle::default(),
            peers: Default::default(),
            connects: Default::default(),
        }))
    }

    /// The path to `--alt-svc` alternatives (every https request that goes to one takes it)
    /// and to requests reqwest's path cannot make (a target of their own, `--path-as-is`,
    /// `--request-target`; no `Accept`; `--connect-to`, `--resolve`). `None` when the request
    /// uses something only the reqwest path does (see [`Direct::new`]), `--interface` or `-6`:
    /// alternatives are then not used, and a request target of its own is refused (exit 2).
    pub(super) fn for_alternatives(req: &RequestConfig, user_agent: &str) -> Result<Option<Direct>> {
        let c = &req.curl.conn;
        let unable = req.curl.http_version == HttpVersion::Http2PriorKnowledge
            || c.http10
            || c.unix_socket.is_some()
            || c.trace.is_some()
            || c.tls_min.is_some()
            || c.tls_max.is_some()
            || c.ipv6_only
            || c.capath.is_some()
            || c.client_cert.is_some()
            || c.interface.is_some();
        if unable {
            return Ok(None);
        }
        Ok(Direct::new(req, user_agent, false)?.filter(|d| d.in_process))
    }

    /// Whether https:// URLs and forwarded http:// ones take this path (else only `-p`'s
    /// tunnelled http:// URLs do).
    pub(super) fn in_process(&self) -> bool {
        self.in_process
    }

    /// TCP connections made to alternatives so far.
    pub(super) fn connections_made(&self) -> u64 {
        self.connects.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sends `request` through a tunnel that `relay` opens through `spec`: an https URL (TLS on
    /// the tunnel), or with `-p` an http one (HTTP/1.1 on the tunnel itself).
    pub(super) async fn execute(
        &self,
        relay: &Relay,
        spec: &ProxySpec,
        request: reqwest::Request,
        reporter: &dyn Reporter,
    ) -> Result<reqwest::Response> {
        self.execute_to(relay, Some(spec), None, request, reporter, None).await
    }

    /// [`Direct::execute`], the connection going to `to` (`host:port`, an `--alt-svc`
    /// alternative) instead of the origin: through the proxy `spec` (its CONNECT names `to`), or
    /// without one over TCP. TLS verifies the origin's name and `Host` stays the origin's.
    pub(super) async fn execute_to(
        &self,
        relay: &Relay,
        spec: Option<&ProxySpec>,
        to: Option<&str>,
        request: reqwest::Request,
        reporter: &dyn Reporter,
        target: Option<&str>,
    ) -> Result<reqwest::Response> {
        let key = TunnelKey::of(request.url(), spec, to);
        self.execute_keyed(Some(relay), request, reporter, key, target).await
    }

    /// A request straight to its origin that must go on the connection kept from the last
    /// response, never on a new one: NTLM's authenticate message answers the challenge of the
    /// connection it came on, and a server takes it on another as a failed logon (which counts
    /// toward a lockout). Fails (exit 56) when that connection is gone, the credential unsent.
    pub(super) async fn execute_kept(
        &self,
        request: reqwest::Request,
        reporter: &dyn Reporter,
        target: Option<&str>,
    ) -> Result<reqwest::Response> {
        let key = TunnelKey::of(request.url(), None, None);
        self.execute_keyed(None, request, reporter, key, target).await
    }

    /// `request` on the tunnel kept for `key`, else on a new one that `relay` opens; without a
    /// relay, never on a new one ([`Direct::execute_kept`]).
    async fn execute_keyed(
        &self,
        relay: Option<&Relay>,
        request: reqwest::Request,
        reporter: &dyn Reporter,
        key: TunnelKey,
        target: Option<&str>,
    ) -> Result<reqwest::Response> {
        let url = request.url().clone();
        let deadline = self.max_time.map(|t| Instant::now() + t);
        let authority = key.authority.clone();
        let gone = || {
            Error::new(
                Exit::Receive,
                format!(
                    "the connection to {} that the server's NTLM challenge belongs to is gone: the handshake cannot go on, and the credential was not sent",
                    sanitize(&authority)
                ),
            )
            .hint("the server (or something between) closed it; try again, and check whether it allows keep-alive")
        };
        let Some(sender) = self.idle.take(&key).await else {
            return match relay {
                Some(relay) => self.execute_new(relay, request, reporter, key, deadline, target).await,
                None => Err(gone()),
            };
        };
        if reporter.verbose() {
            let line = format!("the tunnel to {authority} is open: the request goes on it");
            reporter.line(Direction::Info, &sanitize(&line));
        }
        // The origin may have closed it just as this request went out (its idle timeout):
        // then the request goes once more on a new tunnel, when its body can be sent again
        // (and a new tunnel may carry it).
        let again = request.try_clone();
        let sent =
            within(deadline, async { Ok(self.send(sender, request, &url, target).await) }, &url).await?;
        match (sent, again, relay) {
            (Ok((resp, sender)), _, _) => Ok(self.response(resp, url, deadline, key, sender)),
            (Err(Unsent { closed_under: true, .. }), Some(request), Some(relay)) => {
                if reporter.verbose() {
                    let line = format!("the tunnel to {authority} was closed under the request: it goes once more on a new one");
                    reporter.line(Direction::Info, &sanitize(&line));
                }
                self.execute_new(relay, request, reporter, key, deadline, target).await
            }
            (Err(Unsent { closed_under: true, .. }), _, None) => Err(gone()),
            (Err(unsent), _, _) => Err(unsent.error),
        }
    }

    /// [`Direct::execute`] on a tunnel opened for it (through `key`'s proxy, if any).
    async fn execute_new(
        &self,
        relay: &Relay,
        request: reqwest::Request,
        reporter: &dyn Reporter,
        key: TunnelKey,
        deadline: Option<Instant>,
        target: Option<&str>,
    ) -> Result<reqwest::Response> {
        let url = request.url().clone();
        let authority = key.authority.clone();
        let proxy = key.proxy.clone();
        let spec = proxy.as_ref();
        let connect = async {
            let stream: Box<dyn Stream> = match spec {
                Some(spec) => match relay.open_tunnel_stream(spec, &key.to, self.connect_headers()).await {
                    Ok(s) => Box::new(s),
                    Err(_) => {
                        let f = relay.take_failure().expect("the relay keeps the failure it returns");
                        return Err(super::failure_error(f));
                    }
                },
                None => {
                    let tcp = super::alt_route::connect(&key.to, key.to != key.authority, relay).await?;
                    self.connects.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if let (Ok(remote), Ok(local)) = (tcp.peer_addr(), tcp.local_addr()) {
                        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
                        peers.insert(key.to.clone(), Peer { remote, local });
                    }
                    Box::new(tcp)
                }
            };
            let stream = tokio::io::BufReader::with_capacity(READ_BUFFER, stream);
            let Some(tls_config) = self.tls.clone().filter(|_| key.tls) else {
                // `-p` with an http:// URL: HTTP/1.1 on the tunnel itself.
                if reporter.verbose() {
                    let line =
                        format!("HTTP/1.1 with {authority} runs on the tunnel itself (-p), in process");
                    reporter.line(Direction::Info, &sanitize(&line));
                }
                return http1(TokioIo::new(Tapped::new(stream)), &url).await;
            };
            let name = server_name(&url)?;
            let tls = tokio_rustls::TlsConnector::from(tls_config)
                .connect(name, stream)
                .await
                .map_err(|e| handshake_error(&url, &e))?;
            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            if reporter.verbose() {
                let version = if h2 { "HTTP/2" } else { "HTTP/1.1" };
                let line = match spec {
                    Some(_) => {
                        format!("TLS with {authority} ({version}) runs on the tunnel itself, in process")
                    }
                    None => format!("TLS with {authority} ({version}) at its alternative {}", key.to),
                };
                reporter.line(Direction::Info, &sanitize(&line));
            }
            let io = TokioIo::new(Tapped::new(tls));
            if h2 {
                let (send, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                    .timer(TokioTimer::new())
                    .max_header_list_size(super::request::H2_MAX_HEADER_LIST)
                    .handshake(io)
                    .await
                    .map_err(|e| send_error(&url, &e))?;
                tokio::spawn(conn);
                Ok(Sender::H2(send))
            } else {
                http1(io, &url).await
            }
        };
        let connect_limit = match (self.connect_timeout, deadline) {
            (Some(t), Some(d)) => Some(d.min(Instant::now() + t)),
            (Some(t), None) => Some(Instant::now() + t),
            (None, d) => d,
        };
        let sender = within(connect_limit, connect, &url).await?;
        let exchange = async { self.send(sender, request, &url, target).await.map_err(|u| u.error) };
        let (resp, sender) = within(deadline, exchange, &url).await?;
        Ok(self.response(resp, url, deadline, key, sender))
    }

    /// The response, holding its tunnel until its body is dropped; read to the end, the
    /// tunnel goes back to [`Idle`] for the next request.
    fn response(
        &self,
        resp: http::Response<hyper::body::Incoming>,
        url: url::Url,
        deadline: Option<Instant>,
        key: TunnelKey,
        sender: Sender,
    ) -> reqwest::Response {
        let peer = key
            .proxy
            .is_none()
            .then(|| self.peers.lock().unwrap_or_else(|e| e.into_inner()).get(&key.to).copied());
        let mut resp =
            into_reqwest(resp, url, deadline, Some(Held { sender, home: Some((self.idle.clone(), key)) }));
        if let Some(Some(peer)) = peer {
            resp.extensions_mut().insert(peer);
        }
        resp
    }

    /// Sends `request` (an http URL, with or without a body) through the proxy `spec` in process:
    /// the relay forwards it on an upstream connection lent for it, answering the proxy's 407s.
    pub(super) async fn forward(
        &self,
        relay: &Relay,
        spec: &ProxySpec,
        request: reqwest::Request,
        target: Option<&str>,
    ) -> Result<reqwest::Response> {
        let url = request.url().clone();
        let deadline = self.max_time.map(|t| Instant::now() + t);
        let mut req: http::Request<reqwest::Body> =
            request.try_into().map_err(|e: reqwest::Error| send_error(&url, &e))?;
        if let Some(t) = target {
            // The proxy is given the URL with the target as its path, in absolute form.
            *req.uri_mut() = absolute(&url, t)?;
        }
        self.default_headers(req.headers_mut());
        if !req.headers().contains_key(HOST) {
            let host = host_header(&url)?;
            req.headers_mut().insert(HOST, host);
        }
        for (name, value) in &self.proxy_headers {
            req.headers_mut().append(name, value.clone());
        }
        let (parts, body) = req.into_parts();
        // A body that fails to read after its first `REPLAY_LIMIT` bytes fails while the relay
        // sends it, which sees only a connection that broke: the failure is kept here, so it is
        // reported as the read error it is (26), not as the proxy's (43).
        let unread = Arc::new(std::sync::Mutex::new(None::<String>));
        let body = {
            let unread = unread.clone();
            http_body_util::BodyExt::map_err(body, move |e: reqwest::Error| {
                if let Some(r) = find::<ReadFailed>(&e) {
                    *unread.lock().unwrap_or_else(|p| p.into_inner()) = Some(r.0.clone());
                }
                e
            })
        };
        let sent = async {
            // Up to `REPLAY_LIMIT` is read first, so a 407 can be answered by sending it again.
            let body = RequestBody::read(body).await.map_err(|e| send_error(&url, &*e))?;
            relay.forward_in_process(spec, parts, body).await.map_err(|_| {
                let f = relay.take_failure().expect("the relay keeps the failure it returns");
                match unread.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    Some(why) => read_failed(why),
                    None => super::failure_error(f),
                }
            })
        };
        let resp = within(deadline, sent, &url).await?;
        Ok(into_reqwest(resp, url, deadline, None))
    }

    /// The CONNECT's headers: the user's `--proxy-header`s, with the User-Agent
    /// `client::connect_agent` chose.
    fn connect_headers(&self) -> http::HeaderMap {
        let mut headers = self.proxy_headers.clone();
        headers.remove(USER_AGENT);
        if let Some(agent) = &self.connect_agent {
            headers.insert(USER_AGENT, agent.clone());
        }
        headers
    }

    /// reqwest's default headers (`Accept`, `User-Agent`), where the request has none and
    /// the user did not take them out (`-H 'Accept:'`; an empty User-Agent is none).
    fn default_headers(&self, headers: &mut http::HeaderMap) {
        if self.accept && !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        }
        if !self.user_agent.is_empty() && !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, self.user_agent.clone());
        }
    }

    /// Sends `request` on `sender`'s connection; `target` replaces the request target made
    /// from the URL (`--path-as-is`, `--request-target`).
    async fn send(
        &self,
        sender: Sender,
        request: reqwest::Request,
        url: &url::Url,
        target: Option<&str>,
    ) -> std::result::Result<(http::Response<hyper::body::Incoming>, Sender), Unsent> {
        let mut req: http::Request<reqwest::Body> =
            request.try_into().map_err(|e: reqwest::Error| Unsent::new(url, &e))?;
        self.default_headers(req.headers_mut());
        match sender {
            Sender::H1(mut send, driver) => {
                if !req.headers().contains_key(HOST) {
                    let host = host_header(url).map_err(Unsent::from)?;
                    req.headers_mut().insert(HOST, host);
                }
                super::header_order::host_first(req.headers_mut());
                // HTTP/1.1 to the origin itself: the request-target in origin form.
                let path = match (target, url.query()) {
                    (Some(t), _) => t.to_string(),
                    (None, Some(q)) => format!("{}?{q}", url.path()),
                    (None, None) => url.path().to_string(),
                };
                *req.uri_mut() = path.parse().map_err(|e: http::uri::InvalidUri| Unsent::new(url, &e))?;
                send.ready().await.map_err(|e| Unsent::new(url, &e))?;
                let resp = send.send_request(req).await.map_err(|e| Unsent::new(url, &e))?;
                Ok((resp, Sender::H1(send, driver)))
            }
            Sender::H2(mut send) => {
                *req.version_mut() = http::Version::HTTP_2;
                if let Some(t) = target {
                    *req.uri_mut() = match t {
                        // OPTIONS' asterisk form: `:path: *` (RFC 9113 §8.3.1), as curl sends it;
                        // the absolute URL made it `/*`, another resource.
                        "*" => asterisk(req.uri()).map_err(Unsent::from)?,
                        _ => absolute(url, t).map_err(Unsent::from)?,
                    };
                }
                // HTTP/2 has no `Host`: a `Host` given with -H is the `:authority` (RFC 9113
                // §8.3.1), as curl sends it; hyper would send it beside the URL's, which servers
                // refuse when the two differ.
                if let Some(host) = req.headers_mut().remove(HOST) {
                    *req.uri_mut() = with_authority(req.uri(), &host).map_err(Unsent::from)?;
                }
                send.ready().await.map_err(|e| Unsent::new(url, &e))?;
                let resp = send.send_request(req).await.map_err(|e| Unsent::new(url, &e))?;
                Ok((resp, Sender::H2(send)))
            }
        }
    }
}

/// What a connection to an origin or an alternative runs on: a tunnel, or TCP.
trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Stream for S {}

/// A request that got no response on a tunnel: why, and whether the connection was closed
/// under it (then it may go once more on a new tunnel, see [`Direct::execute`]).
struct Unsent {
    error: Error,
    closed_under: bool,
}

impl Unsent {
    fn new(url: &url::Url, e: &(dyn std::error::Error + 'static)) -> Unsent {
        Unsent { error: send_error(url, e), closed_under: crate::relay::closed_under(e) }
    }
}

impl From<Error> for Unsent {
    fn from(error: Error) -> Unsent {
        Unsent { error, closed_under: false }
    }
}

/// An HTTP/1.1 client connection on `io` (a tunnel, or TLS on one), read as leniently as curl
/// reads response heads; the body's reader drives it itself (`relay::driven`).
async fn http1<I>(io: I, url: &url::Url) -> Result<Sender>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (send, conn) = hyper::client::conn::http1::Builder::new()
        .max_buf_size(HTTP_BUFFER)
        .max_headers(crate::relay::MAX_HEADER_FIELDS)
        .allow_spaces_after_header_name_in_responses(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        .ignore_invalid_headers_in_responses(true)
        // As reqwest's (`client::build_client`): `Host`, not `host`.
        .title_case_headers(true)
        .handshake(io)
        .await
        .map_err(|e| send_error(url, &e))?;
    let driver = Driver::spawn(async move {
        let _ = conn.await;
    });
    Ok(Sender::H1(send, driver))
}

/// The `reqwest::Response` the rest of the client handles, with its URL (toll reads it for
/// cookies, `-w`, origin auth and redirects) and `-m`'s deadline on the body.
fn into_reqwest<B>(
    resp: http::Response<B>,
    url: url::Url,
    deadline: Option<Instant>,
    conn: Option<Held>,
) -> reqwest::Response
where
    B: hyper::body::Body<Data = Bytes> + Unpin + Send + Sync + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = resp.into_parts();
    let deadline = deadline.map(|d| Box::pin(tokio::time::sleep_until(d)));
    let driver = match &conn {
        Some(Held { sender: Sender::H1(_, d), .. }) => Some(d.clone()),
        _ => None,
    };
    // A bodiless response (HEAD, 204, 304) is at its end without being read.
    let ended = hyper::body::Body::is_end_stream(&body);
    let body = Tunnelled { body: Driving::new(body, driver), deadline, conn, ended };
    let mut b = http::Response::builder().status(parts.status).version(parts.version).url(url);
    if let Some(h) = b.headers_mut() {
        *h = parts.headers;
    }
    // The server's own reason phrase (hyper keeps one that is not the status's usual), for the
    // head `-i`, `-I` and `-D` print (`header_case::head_text`).
    if let Some(reason) = parts.extensions.get::<hyper::ext::ReasonPhrase>() {
        b = b.extension(reason.clone());
    }
    b.body(reqwest::Body::wrap(body)).expect("the parts of a parsed response").into()
}

/// Runs `fut` until `limit`, after which the run ends with a timeout (exit 28), as reqwest's
/// timeouts do.
async fn within<T>(
    limit: Option<Instant>,
    fut: impl std::future::Future<Output = Result<T>>,
    url: &url::Url,
) -> Result<T> {
    match limit {
        None => fut.await,
        Some(at) => tokio::time::timeout_at(at, fut).await.unwrap_or_else(|_| {
            Err(Error::new(Exit::Timeout, format!("timed out: operation timed out for {}", display_url(url)))
                .hint("raise --max-time / --connect-timeout, or check the network"))
        }),
    }
}

/// A response body read from the tunnel: ends with a timeout error at `-m`'s deadline, and
/// holds the connection's handle until it is dropped; read to its end, it hands the tunnel
/// back for the next request ([`Idle`]).
struct Tunnelled<B> {
    body: Driving<B>,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    conn: Option<Held>,
    /// The body was read to its end (nothing of it is left on the connection).
    ended: bool,
}

/// A tunnel's handle held by a response, and where it goes back to.
struct Held {
    sender: Sender,
    home: Option<(Idle, TunnelKey)>,
}

impl<B> Drop for Tunnelled<B> {
    fn drop(&mut self) {
        let Some(Held { sender, home: Some((idle, key)) }) = self.conn.take() else { return };
        // A body not read to the end would leave its rest on the connection.
        if self.ended {
            idle.put(key, sender);
        }
    }
}

impl<B> hyper::body::Body for Tunnelled<B>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        if let Some(d) = self.deadline.as_mut() {
            if d.as_mut().poll(cx).is_ready() {
                let e = std::io::Error::new(std::io::ErrorKind::TimedOut, "operation timed out (--max-time)");
                return Poll::Ready(Some(Err(e.into())));
            }
        }
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(frame, Poll::Ready(None)) || self.body.is_end_stream() {
            self.ended = true;
        }
        frame.map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}
