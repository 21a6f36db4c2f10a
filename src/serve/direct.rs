//! Requests that NO_PROXY (or an empty proxy setting) sends direct: toll serve is the client of
//! the origin itself. This file owns the outbound side of those requests: one connector (every
//! address a name resolves to is tried, IPv6 and IPv4 raced, each within its share of
//! `--connect-timeout`) and one pool of kept-alive origin connections for absolute-form http
//! requests, so a client's second request to an internal host costs no new connection (and a
//! request without a body that finds its kept-alive connection closed under it is sent once
//! more, on a new one: [`Direct::forward`]). A CONNECT becomes a TCP connection of its own
//! (`connect`; `super::connect` pipes it).
//!
//! Clients from other hosts (`--allow`) get a way of their own ([`Direct::for_other_hosts`]) that
//! never connects to this machine's loopback, whatever a name resolves to: services that listen
//! on 127.0.0.1 trust that only this machine reaches them, and a container or a VM must not get
//! there through the proxy (Squid's default configuration denies `to_localhost` for the same
//! reason). Targets written as a loopback address are refused before this (`super::plan`).
//!
//! A SOCKS proxy ([`crate::socks`]) is a way of the same kind: it only opens the TCP connection,
//! and toll serve speaks HTTP to the origin over it, so each SOCKS proxy gets a `Direct` of its
//! own ([`Direct::through_socks`]) whose connector does the SOCKS handshake.

use crate::relay::body::{self, Progress, RelayBody, UploadWatch};
use crate::socks;
use http::header::HOST;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioIo;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An origin connection nobody has used for this long is closed (Squid's
/// `server_idle_pconn_timeout` is a minute; origins often close sooner).
const POOL_IDLE: Duration = Duration::from_secs(30);
/// Idle connections kept per origin: enough for a build tool's parallel downloads.
const POOL_PER_ORIGIN: usize = 8;

/// A request body: the client's (behind a gate when it expects `100 Continue`), or none (a
/// request sent again, which had none).
type Outgoing = Sent<RelayBody>;

/// The way to origins that are reached without an HTTP proxy: directly, or through one SOCKS
/// proxy.
pub(super) struct Direct {
    connector: Connector,
    /// Replaced by a new one (its pool empty) when the network changes ([`Direct::forget_idle`]).
    client: std::sync::RwLock<Client<Connector, Outgoing>>,
    /// The same without a pool: every request on a new connection (see [`Direct::forward`]).
    fresh: Client<Connector, Outgoing>,
    /// How failures name the way: `directly`, or `through the SOCKS proxy socks5h://…`.
    how: String,
}

/// A client over `connector` keeping up to `pooled` idle connections per origin.
fn client(connector: &Connector, pooled: usize) -> Client<Connector, Outgoing> {
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE)
        .pool_max_idle_per_host(pooled)
        .http1_max_headers(crate::relay::MAX_HEADER_FIELDS)
        // Heads as lenient as Squid's relaxed parser (`crate::relay::MAX_HEADER_FIELDS`); what
        // goes on to the client is written afresh.
        .http1_allow_spaces_after_header_name_in_responses(true)
        .http1_allow_obsolete_multiline_headers_in_responses(true)
        .http1_ignore_invalid_headers_in_responses(true)
        // Field names as a proxy passes them (Squid, and toll serve through a proxy: the relay's
        // connections): as the client and the origin wrote them (the request's case comes with
        // it, `preserve_header_case` on toll serve's side); what toll adds in Title-Case
        // (`User-Agent`, not all lower case), for peers that read them case-sensitively.
        .http1_preserve_header_case(true)
        .http1_title_case_headers(true)
        .build(connector.clone())
}

impl Direct {
    /// For clients on this machine.
    pub(super) fn new(connect_timeout: Duration) -> Direct {
        Direct::with(Resolver { loopback: true }, None, connect_timeout)
    }

    /// For clients on other hosts: names that resolve to this machine's loopback only are
    /// refused ([`ThisMachine`]); of the addresses of a name that has others, those are used.
    pub(super) fn for_other_hosts(connect_timeout: Duration) -> Direct {
        Direct::with(Resolver { loopback: false }, None, connect_timeout)
    }

    /// Through the SOCKS proxy `hop`. The proxy itself may be on this machine's loopback (`ssh
    /// -D`, a local tor); names it is given to resolve are its own business, names resolved here
    /// (`socks5://`, `socks4://`) follow `other_host`'s rule.
    pub(super) fn through_socks(hop: Arc<socks::Hop>, other_host: bool, connect_timeout: Duration) -> Direct {
        Direct::with(Resolver { loopback: !other_host }, Some(hop), connect_timeout)
    }

    fn with(resolver: Resolver, socks: Option<Arc<socks::Hop>>, connect_timeout: Duration) -> Direct {
        let how = match &socks {
            Some(hop) => format!("through the SOCKS proxy {}", hop.spec.display_url()),
            None => "directly".to_string(),
        };
        let mut tcp =
            HttpConnector::new_with_resolver(Resolver { loopback: resolver.loopback || socks.is_some() });
        // The same connector opens tunnels (`connect`), whose URI is only a way to name
        // host:port; the pooled client only ever sees http:// targets (`super::Target`).
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(connect_timeout));
        let connector = Connector { tcp, socks, resolver, timeout: connect_timeout };
        Direct {
            client: std::sync::RwLock::new(client(&connector, POOL_PER_ORIGIN)),
            fresh: client(&connector, 0),
            connector,
            how,
        }
    }

    /// Closes the connections kept open for the next request (they are in the pool of the
    /// client replaced; requests on them go on): this machine's network changed, and a
    /// connection from before may lead nowhere now.
    pub(super) fn forget_idle(&self) {
        *self.client.write().unwrap_or_else(|e| e.into_inner()) = client(&self.connector, POOL_PER_ORIGIN);
    }

    /// A TCP connection to `host:port`, or the answer that says why there is none.
    pub(super) async fn connect(&self, host: &str, port: u16) -> Result<TcpStream, Response<RelayBody>> {
        let uri = match format!("http://{}:{port}/", bracketed(host)).parse::<http::Uri>() {
            Ok(u) => u,
            Err(_) => {
                return Err(super::text(
                    StatusCode::BAD_REQUEST,
                    &format!("toll serve: '{}' is not a host name\n", crate::term::sanitize(host)),
                    Some("destination_not_found"),
                ))
            }
        };
        match self.connector.clone().call(uri).await {
            Ok(io) => Ok(io.into_inner()),
            Err(e) => Err(connect_failed(host, port, &self.how, &*e)),
        }
    }

    /// Sends `req` (absolute-form, http://) to its origin on a pooled connection. `answer`
    /// limits the wait for the response head, counted from the last byte of the request body
    /// (an upload takes as long as it takes).
    pub(super) async fn forward(
        &self,
        req: Request<Incoming>,
        host: &str,
        port: u16,
        answer: Option<Duration>,
    ) -> Response<RelayBody> {
        let (mut parts, body) = req.into_parts();
        crate::relay::hop::strip_request(&mut parts.headers);
        // RFC 9112 §3.2.2: the target's authority, not the client's Host field, names the
        // origin's host (the pooled client writes it from the URI).
        parts.headers.remove(HOST);
        // toll serve speaks HTTP/1.1 to the origin whatever its client spoke.
        parts.version = http::Version::HTTP_11;
        // An origin may close a kept-alive connection just as a request goes out on it (its
        // idle timeout: Apache's is 5 s); the pool cannot see that coming. A request that is
        // idempotent and has no body is then sent once more, on a new connection (RFC 9112
        // §9.3.1, as curl, browsers and Squid do); any other gets the 502.
        let again = (parts.method.is_idempotent() && body.is_end_stream()).then(|| parts.clone());
        // `Expect: 100-continue`: the body is read once the origin says 100, or after
        // `EXPECT_WAIT` without an answer (curl waits as long for an origin that ignores Expect).
        // An origin that refuses the upload at once (401, 413) gets none of it, and the client
        // sends none.
        let (outgoing, gate) = if body::expects_continue(&parts.headers, &body) {
            let (gate, gated) = body::Gate::new(body::Partial::new(None, body), body::EXPECT_WAIT);
            (gated.boxed(), Some(gate))
        } else {
            (body.map_err(Into::into).boxed(), None)
        };
        let (sent, upload) = Sent::new(outgoing);
        let client_broke = sent.broken.clone();
        let mut first = Request::from_parts(parts, sent);
        if let Some(g) = gate.clone() {
            hyper::ext::on_informational(&mut first, move |res| {
                if res.status() == StatusCode::CONTINUE {
                    g.open();
                }
            });
        }
        let exchange = async {
            let pooled = self.client.read().unwrap_or_else(|e| e.into_inner()).clone();
            let answered = match (pooled.request(first).await, again) {
                (Err(e), Some(parts)) if closed_before_answer(&e) => {
                    let (none, _) = Sent::new(body::empty());
                    self.fresh.request(Request::from_parts(parts, none)).await
                }
                (r, _) => r,
            };
            // Answered before the gate opened: the body was not wanted. Dropping it unread
            // tells the client so (no 100 is ever sent); the origin's connection, which waits
            // for a body, is not reused.
            if let Some(g) = &gate {
                drop(g.take_back());
            }
            answered
        };
        let waited = async {
            match answer {
                Some(t) => body::silent_for(t, Some(upload)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = exchange => match r {
                Ok(resp) => resp.map(|b| b.map_err(Into::into).boxed()),
                Err(e) if e.is_connect() => connect_failed(host, port, &self.how, &e),
                Err(e) if client_broke.load(std::sync::atomic::Ordering::Relaxed) => super::text(
                    StatusCode::BAD_REQUEST,
                    &format!("toll serve: the request's body could not be read from the client: {}\n", chain(&e)),
                    None,
                ),
                Err(e) => super::text(
                    StatusCode::BAD_GATEWAY,
                    &format!("toll serve: the origin {}:{port} failed: {}\n", crate::term::sanitize(host), chain(&e)),
                    Some("http_protocol_error"),
                ),
            },
            () = waited => super::text(
                StatusCode::GATEWAY_TIMEOUT,
                &format!(
                    "toll serve: the origin {}:{port} did not answer within {:.0?} (--answer-timeout)\n",
                    crate::term::sanitize(host),
                    answer.unwrap_or_default()
                ),
                Some("http_response_timeout"),
            ),
        }
    }
}

/// Opens the TCP connection to a target: directly, or through a SOCKS proxy.
#[derive(Clone)]
struct Connector {
    /// Directly to the target, or to the SOCKS proxy.
    tcp: HttpConnector<Resolver>,
    socks: Option<Arc<socks::Hop>>,
    /// For names a SOCKS proxy is not given to resolve (`socks5://`, `socks4://`).
    resolver: Resolver,
    /// Each exchange with a SOCKS proxy (the connection to it has the connector's own).
    timeout: Duration,
}

impl Service<http::Uri> for Connector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let mut tcp = self.tcp.clone();
        match self.socks.clone() {
            None => Box::pin(async move { tcp.call(uri).await.map_err(Into::into) }),
            Some(hop) => {
                let (resolver, timeout) = (self.resolver.clone(), self.timeout);
                Box::pin(async move {
                    let host =
                        uri.host().unwrap_or("").trim_start_matches('[').trim_end_matches(']').to_string();
                    let port = uri.port_u16().unwrap_or(80);
                    through(&hop, tcp, resolver, &host, port, timeout).await
                })
            }
        }
    }
}

/// A connection to `host`:`port` through the SOCKS proxy `hop`, reached with `tcp`.
async fn through(
    hop: &socks::Hop,
    tcp: HttpConnector<Resolver>,
    mut resolver: Resolver,
    host: &str,
    port: u16,
    limit: Duration,
) -> Result<TokioIo<TcpStream>, BoxError> {
    let proxy = hop.spec.display_url();
    let shown = crate::term::sanitize(host);
    // Names the proxy does not resolve itself; a name may have several addresses, and the
    // proxy takes one per request: each in turn while the proxy says that one cannot be
    // reached (as a direct connection tries them all). SOCKS4 carries IPv4 only.
    let dests = if hop.resolves_here() && host.parse::<std::net::IpAddr>().is_err() {
        let bad_name = || {
            socks::Failed::new(
                StatusCode::BAD_REQUEST,
                "destination_not_found",
                format!("'{shown}' is not a host name"),
            )
        };
        let name: Name = host.parse().map_err(|_| bad_name())?;
        let all = match resolver.call(name).await {
            Ok(all) => all,
            // This machine's loopback for a client on another host: `connect_failed` says so.
            Err(e) if e.get_ref().is_some_and(|e| e.is::<ThisMachine>()) => return Err(Box::new(e)),
            Err(e) => {
                let why = format!("cannot resolve {shown} (for {proxy}): {e}");
                return Err(Box::new(socks::Failed::new(StatusCode::BAD_GATEWAY, "dns_error", why)));
            }
        };
        let usable: Vec<socks::Dest> =
            all.filter(|a| !hop.is_v4() || a.is_ipv4()).map(|a| socks::Dest::Ip(a.ip())).collect();
        if usable.is_empty() {
            let ip = if hop.is_v4() { "IPv4 " } else { "" };
            let why = format!("{shown} has no {ip}address to give the SOCKS proxy {proxy}");
            return Err(Box::new(socks::Failed::new(StatusCode::BAD_GATEWAY, "dns_error", why)));
        }
        usable
    } else {
        vec![socks::dest_for(host)]
    };
    let at: http::Uri = format!("http://{}/", hop.spec.host_port()).parse()?;
    let open = || {
        let (mut tcp, at, proxy) = (tcp.clone(), at.clone(), proxy.clone());
        async move {
            match tcp.call(at).await {
                Ok(io) => Ok(io.into_inner()),
                Err(e) => {
                    let (status, kind) = if timed_out(&e) {
                        (StatusCode::GATEWAY_TIMEOUT, "connection_timeout")
                    } else {
                        (StatusCode::BAD_GATEWAY, "connection_refused")
                    };
                    let why = format!("cannot reach the SOCKS proxy {proxy}: {}", chain(&e));
                    Err(socks::Failed::new(status, kind, why))
                }
            }
        }
    };
    Ok(TokioIo::new(hop.connect(&dests, port, limit, open).await?))
}

/// The system's resolver, and for clients on other hosts without this machine's loopback.
#[derive(Clone)]
struct Resolver {
    /// Whether this machine's loopback (and unspecified addresses, which connect to it) may be
    /// used.
    loopback: bool,
}

/// A name that resolves only to this machine's loopback, asked for by a client on another host.
#[derive(Debug, thiserror::Error)]
#[error("{0} is this machine's loopback, which other hosts may not reach through toll serve")]
pub(super) struct ThisMachine(String);

/// Loopback, or unspecified (0.0.0.0 and :: connect to this machine).
pub(super) fn is_this_machine(ip: std::net::IpAddr) -> bool {
    let ip = ip.to_canonical();
    ip.is_loopback() || ip.is_unspecified()
}

impl Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let loopback = self.loopback;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let all: Vec<SocketAddr> = GaiResolver::new().call(name).await?.collect();
            if loopback {
                return Ok(all.into_iter());
            }
            let others: Vec<SocketAddr> = all.iter().copied().filter(|a| !is_this_machine(a.ip())).collect();
            if others.is_empty() && !all.is_empty() {
                return Err(std::io::Error::other(ThisMachine(crate::term::sanitize(&host))));
            }
            Ok(others.into_iter())
        })
    }
}

/// `host` as the authority of a URI: an IPv6 literal in brackets.
fn bracketed(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// A failed connection as the client sees it: 504 when the time ran out, else 502, with what
/// the connector said (which step failed and the system's error).
fn connect_failed(
    host: &str,
    port: u16,
    how: &str,
    e: &(dyn std::error::Error + 'static),
) -> Response<RelayBody> {
    let host = crate::term::sanitize(host);
    if let Some(f) =
        std::iter::successors(Some(e), |e| e.source()).find_map(|e| e.downcast_ref::<socks::Failed>())
    {
        let mut body = format!("toll serve: {}\n", crate::term::sanitize(&f.message));
        if let Some(proxy) = &f.login {
            body.push_str(&format!(
                "{} '{}'; the running server picks it up.\n",
                super::LOGIN_LINE,
                super::login_command(proxy)
            ));
        }
        return super::text(f.status, &body, Some(f.kind));
    }
    let refused = std::iter::successors(Some(e), |e| e.source()).find_map(|e| {
        e.downcast_ref::<std::io::Error>()
            .and_then(|e| e.get_ref())
            .and_then(|e| e.downcast_ref::<ThisMachine>())
    });
    if let Some(refused) = refused {
        return super::text(
            StatusCode::FORBIDDEN,
            &format!("toll serve: {refused}\n"),
            Some("destination_ip_prohibited"),
        );
    }
    if timed_out(e) {
        return super::text(
            StatusCode::GATEWAY_TIMEOUT,
            &format!("toll serve: connecting to {host}:{port} {how} timed out\n"),
            Some("connection_timeout"),
        );
    }
    let why = chain(e);
    let kind = if why.starts_with("dns error") { "dns_error" } else { "connection_refused" };
    super::text(
        StatusCode::BAD_GATEWAY,
        &format!("toll serve: cannot connect to {host}:{port} {how}: {why}\n"),
        Some(kind),
    )
}

/// Whether the origin closed or reset the connection before the answer's head was complete
/// (not: could not be reached, sent something that is not HTTP, or took too long).
fn closed_before_answer(e: &hyper_util::client::legacy::Error) -> bool {
    !e.is_connect() && crate::relay::closed_under(e)
}

/// Whether `e` or one of its causes is a timeout.
fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(e), |e| e.source())
        .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::TimedOut))
}

/// An error and its causes, `: `-separated, without hyper-util's wrapper ("client error
/// (Connect)") when it has a cause that says more.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> =
        std::iter::successors(Some(e), |e| e.source()).map(|e| e.to_string()).collect();
    if parts.len() > 1 && parts[0].starts_with("client error (") {
        parts.remove(0);
    }
    parts.dedup();
    crate::term::sanitize(&parts.join(": "))
}

/// A request body whose upload is watched ([`UploadWatch`]) for the answer timeout.
struct Sent<B> {
    inner: B,
    upload: UploadWatch,
    /// The client's body itself failed (a malformed chunk, a cut): the client's fault, not the
    /// origin's (400, not 502).
    broken: Arc<std::sync::atomic::AtomicBool>,
}

impl<B: Body + Unpin> Sent<B> {
    fn new(inner: B) -> (Sent<B>, (oneshot::Receiver<()>, Progress)) {
        let mut upload = UploadWatch::default();
        let watched = upload.watch();
        if inner.is_end_stream() {
            upload.end();
        }
        (Sent { inner, upload, broken: Arc::default() }, watched)
    }
}

impl<B: Body + Unpin> Body for Sent<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = &mut *self;
        this.upload.asking();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        this.upload.polled(&polled, this.inner.is_end_stream());
        if matches!(polled, Poll::Ready(Some(Err(_)))) {
            this.broken.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Full, StreamBody};

    /// `localhost` is the one name tests may resolve; it resolves to loopback only.
    #[tokio::test]
    async fn clients_on_other_hosts_never_reach_this_machines_loopback_by_a_name() {
        let service = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = service.local_addr().unwrap().port();
        let timeout = Duration::from_secs(5);
        assert!(Direct::new(timeout).connect("localhost", port).await.is_ok(), "this machine's clients may");
        let r = Direct::for_other_hosts(timeout).connect("localhost", port).await.unwrap_err();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let ps = r.headers()["proxy-status"].to_str().unwrap();
        assert!(ps.contains("error=destination_ip_prohibited"), "{ps}");
        let body = String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        assert!(body.contains("localhost is this machine's loopback"), "{body}");
        // Of a name's addresses, only this machine's own are left out.
        let mut others = Resolver { loopback: false };
        let err = others.call("localhost".parse().unwrap()).await.unwrap_err();
        assert!(err.get_ref().is_some_and(|e| e.is::<ThisMachine>()), "{err}");
        let all: Vec<SocketAddr> =
            Resolver { loopback: true }.call("localhost".parse().unwrap()).await.unwrap().collect();
        assert!(!all.is_empty() && all.iter().all(|a| is_this_machine(a.ip())), "{all:?}");
    }

    #[tokio::test]
    async fn a_body_says_when_its_last_byte_is_taken() {
        let (mut empty, (rx, _)) = Sent::new(Full::new(bytes::Bytes::new()));
        assert!(rx.await.is_ok(), "an empty body is sent before it is polled");
        assert!(empty.frame().await.is_none());

        let frames = vec![Ok::<_, std::convert::Infallible>(Frame::data(bytes::Bytes::from_static(b"ab")))];
        let (mut one, (mut rx, progress)) = Sent::new(StreamBody::new(futures_util::stream::iter(frames)));
        assert!(rx.try_recv().is_err(), "nothing taken yet");
        assert!(progress.stalled_for().is_none());
        assert!(one.frame().await.is_some());
        assert!(progress.stalled_for().is_some(), "a frame handed, the next not asked for");
        assert!(one.frame().await.is_none());
        assert!(progress.stalled_for().is_none());
        assert!(rx.await.is_ok());

        let (unfinished, (rx, _)) =
            Sent::new(StreamBody::new(futures_util::stream::iter(vec![Ok::<_, std::convert::Infallible>(
                Frame::data(bytes::Bytes::from_static(b"ab")),
            )])));
        drop(unfinished);
        assert!(rx.await.is_err(), "dropped before its end: no timer starts");
    }

    #[test]
    fn failures_name_the_step_and_ipv6_hosts_get_brackets() {
        assert_eq!(bracketed("::1"), "[::1]");
        assert_eq!(bracketed("[::1]"), "[::1]");
        assert_eq!(bracketed("intranet"), "intranet");
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let r = connect_failed("h\x1b[31m", 80, "directly", &refused);
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
        let ps = r.headers()["proxy-status"].to_str().unwrap();
        assert!(ps.contains("error=connection_refused") && !ps.contains('\x1b'), "{ps}");
        let slow = std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timeout");
        assert_eq!(connect_failed("h", 80, "directly", &slow).status(), StatusCode::GATEWAY_TIMEOUT);
    }
}
