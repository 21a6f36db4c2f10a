//! `toll serve` and `toll run`: the relay offered to other programs on loopback. This room owns
//! the listeners and what happens before a request reaches the relay — admission (who may use
//! it: the same user, or the per-user key), refusing what a proxy must not do (requests to the
//! listener itself, non-proxy requests: [`target`]), routing (the same `route` answer a
//! transfer gets; NO_PROXY hosts go direct, SOCKS proxies are spoken by toll serve itself
//! ([`crate::socks`]); replaced whole when the routing is decided again — SIGHUP, a PAC or the
//! desktop's settings that changed, another network: [`Routes`]), the access log and the limits.
//! The upstream side — the 407 dance, credentials, remembered auth, lockout — is the relay's
//! ([`Relay::carry`]), so a credential the proxy rejected is never sent again by any later
//! request of any client.
//!
//! Two doors lead to the same `plan`: a connection that opens with `CONNECT` is read and
//! served here without hyper (`first`, `connect`: a waiting tunnel holds little more than its
//! socket), everything else is hyper's (`handle`).

pub mod admission;
mod connect;
mod direct;
pub mod first;
pub mod key;
pub mod log;
pub mod max_forwards;
pub mod peer;
pub mod state;
mod target;
pub mod via;

use crate::relay::body::{self, RelayBody};
use crate::relay::failure_error;
use crate::relay::{AuthUsed, Failure, FailureKind, Relay, Unreached};
use crate::route::choice::Chooser;
use crate::route::RouteEntry;
use crate::socks;
use crate::term::sanitize;
use admission::{Decision, Policy};
use first::First;
use http::header::{HeaderValue, PROXY_AUTHORIZATION};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use log::{AccessLog, Entry};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use target::{for_this_machine_only, is_loop, Target, CONNECT_FORM};
use tokio::net::{TcpListener, TcpStream};

pub use target::is_self;

/// Limits that keep one client (or a local attacker) from starving the others.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections served at once; beyond it new ones are closed at once.
    pub max_connections: usize,
    /// A request head must arrive within this time (slowloris).
    pub header_timeout: Duration,
    /// Request heads larger than this are refused by hyper (431/400).
    pub max_header_bytes: usize,
    /// Connecting to an origin directly (NO_PROXY hosts), or to an upstream proxy (TLS
    /// included).
    pub connect_timeout: Duration,
    /// How long SIGTERM waits for requests in flight.
    pub drain: Duration,
    /// A tunnel that carries no data either way for this long is closed (`--idle-timeout`;
    /// Squid's `read_timeout` is the same 15 minutes); `None`: never.
    pub tunnel_idle: Option<Duration>,
    /// How long the proxy may take to answer a CONNECT or a request without a body, in
    /// milliseconds (0: no limit); shared so `toll run` can lift it while it asks for a
    /// password before the command starts.
    pub answer_timeout: Arc<std::sync::atomic::AtomicU64>,
}

impl Limits {
    pub fn set_answer_timeout(&self, t: Option<Duration>) {
        let ms = t.map_or(0, |t| t.as_millis().clamp(1, u64::MAX as u128) as u64);
        self.answer_timeout.store(ms, Ordering::Relaxed);
    }

    fn answer_timeout(&self) -> Option<Duration> {
        let ms = self.answer_timeout.load(Ordering::Relaxed);
        (ms > 0).then(|| Duration::from_millis(ms))
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 4096,
            header_timeout: Duration::from_secs(30),
            max_header_bytes: 64 * 1024,
            connect_timeout: Duration::from_secs(30),
            drain: Duration::from_secs(10),
            tunnel_idle: Some(Duration::from_secs(15 * 60)),
            answer_timeout: Arc::new(std::sync::atomic::AtomicU64::new(60_000)),
        }
    }
}

/// Everything a running server uses (a clone shares all of it).
#[derive(Clone)]
pub struct Server {
    pub relay: Arc<Relay>,
    /// Which proxies, in which order, for each request (`-x`, the environment, a PAC, …).
    pub routes: Arc<Routes>,
    pub policy: Policy,
    pub log: Arc<AccessLog>,
    pub limits: Limits,
    /// SOCKS proxies' credentials (the relay keeps HTTP proxies').
    pub socks: Arc<socks::Ways>,
}

/// The routing in use. SIGHUP replaces it whole (settings file and PAC read again), and so does
/// a recheck that finds it changed (a PAC gone stale or rewritten, the desktop's settings, the
/// network: `toll serve`'s routing task); a request in flight keeps the one it picked its proxy
/// with.
pub struct Routes {
    chooser: std::sync::RwLock<Arc<Chooser>>,
    /// How many times this machine's network changed ([`Routes::network_changed`]).
    network: std::sync::atomic::AtomicU64,
}

impl Routes {
    pub fn new(chooser: Chooser) -> Routes {
        Routes { chooser: std::sync::RwLock::new(Arc::new(chooser)), network: Default::default() }
    }

    pub fn current(&self) -> Arc<Chooser> {
        self.chooser.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn replace(&self, chooser: Chooser) {
        *self.chooser.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(chooser);
    }

    /// This machine's network changed: the connections kept open for the next request are
    /// closed before it picks one (`Shared::follow_network`), as browsers close theirs.
    pub fn network_changed(&self) {
        self.network.fetch_add(1, Ordering::Relaxed);
    }

    fn network(&self) -> u64 {
        self.network.load(Ordering::Relaxed)
    }
}

struct Shared {
    server: Server,
    /// The listeners' own addresses: a request for one is a loop.
    listen: Vec<SocketAddr>,
    active: AtomicUsize,
    /// Tunnels being set up through the upstream proxy at once (see [`SETUPS`]).
    setups: tokio::sync::Semaphore,
    stop: Arc<Stop>,
    /// Connections to origins reached without a proxy (NO_PROXY), kept alive between requests:
    /// for clients on this machine, and for clients on other hosts (`--allow`), which never
    /// reach this machine's loopback.
    direct: Arc<direct::Direct>,
    direct_other_hosts: Arc<direct::Direct>,
    /// The same through each SOCKS proxy used so far (by its URL and the credentials in it, and
    /// the client's side).
    through_socks: std::sync::Mutex<std::collections::HashMap<(socks::Key, bool), Arc<direct::Direct>>>,
    /// The network (`Routes::network`) the kept-open connections are from.
    network: std::sync::atomic::AtomicU64,
    /// This server's name in the `Via` of what it forwards: a request that carries it looped.
    via: via::Pseudonym,
}

impl Shared {
    /// After a network change, before a request picks a connection: the connections kept open
    /// from before (to the proxies, to origins reached directly) are closed, so that none is
    /// sent on one that leads nowhere now (it would wait its whole answer timeout). Requests and
    /// tunnels in flight go on.
    fn follow_network(&self) {
        let now = self.server.routes.network();
        if self.network.load(Ordering::Relaxed) == now || self.network.swap(now, Ordering::Relaxed) == now {
            return;
        }
        self.server.relay.forget_idle();
        self.direct.forget_idle();
        self.direct_other_hosts.forget_idle();
        self.through_socks.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The way to origins reached without an HTTP proxy (directly, or through the SOCKS proxy
    /// `socks`), for a client on another host or not.
    fn direct(&self, other_host: bool, socks: Option<&crate::config::ProxySpec>) -> Arc<direct::Direct> {
        let Some(spec) = socks else {
            return if other_host { self.direct_other_hosts.clone() } else { self.direct.clone() };
        };
        let key = (socks::key(spec), other_host);
        let mut ways = self.through_socks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(d) = ways.get(&key) {
            return d.clone();
        }
        let timeout = self.server.limits.connect_timeout;
        let d = match socks::Hop::new(&self.server.socks, spec.clone()) {
            Some(hop) => Arc::new(direct::Direct::through_socks(Arc::new(hop), other_host, timeout)),
            // `plan` sends only SOCKS schemes here.
            None => return self.direct(other_host, None),
        };
        ways.insert(key, d.clone());
        d
    }
}

/// Where a shutdown stands, for the connections and tunnels that watch it.
pub(super) struct Stop {
    /// [`SERVING`], [`DRAINING`] (SIGTERM: connections without a request in flight close at
    /// once, requests in flight finish) or [`OVER`] (the drain is over: tunnels still open are
    /// closed, each with its log line).
    stage: tokio::sync::watch::Sender<u8>,
    /// Tunnels being piped, whose log lines the end of [`serve`] waits for (briefly).
    tunnels: AtomicUsize,
}

const SERVING: u8 = 0;
const DRAINING: u8 = 1;
const OVER: u8 = 2;

impl Stop {
    /// Completes once the shutdown has reached `stage` (at once if it has already).
    pub(super) async fn reached(&self, stage: u8) {
        let mut rx = self.stage.subscribe();
        let _ = rx.wait_for(|s| *s >= stage).await;
    }
}

/// How many CONNECTs are set up through the upstream proxy at the same time; the others wait
/// for a turn before any upstream work. Setting a tunnel up holds ~50 KiB (the upstream
/// connection's buffers and tasks) where an established tunnel holds almost nothing, so 1,000
/// clients connecting at once would otherwise peak at ~70 MiB; the proxy's own authentication
/// helpers (Squid's NTLM helpers: 20 by default) admit fewer than this at once anyway.
const SETUPS: usize = 64;

/// The start of the line in toll serve's answer when the proxy rejected the credential or wants
/// one that is not stored: what to run. `toll serve`'s start-up check reads it too.
pub const LOGIN_LINE: &str = "Store the right password with";

fn login_command(proxy: &str) -> String {
    format!("toll auth login {proxy}")
}

/// Serves `listeners` until `shutdown` completes, then waits (at most `limits.drain`) for the
/// connections in flight.
pub async fn serve(server: Server, listeners: Vec<TcpListener>, shutdown: impl Future<Output = ()>) {
    let listen = listeners.iter().filter_map(|l| l.local_addr().ok()).collect();
    let drain = server.limits.drain;
    let direct = Arc::new(direct::Direct::new(server.limits.connect_timeout));
    let direct_other_hosts = Arc::new(direct::Direct::for_other_hosts(server.limits.connect_timeout));
    let network = std::sync::atomic::AtomicU64::new(server.routes.network());
    let shared = Arc::new(Shared {
        direct,
        direct_other_hosts,
        through_socks: Default::default(),
        network,
        server,
        listen,
        via: via::Pseudonym::new(),
        active: AtomicUsize::new(0),
        setups: tokio::sync::Semaphore::new(SETUPS),
        stop: Arc::new(Stop {
            stage: tokio::sync::watch::Sender::new(SERVING),
            tunnels: AtomicUsize::new(0),
        }),
    });
    tokio::pin!(shutdown);
    let mut next = 0;
    loop {
        let accepted = tokio::select! {
            a = accept(&listeners, &mut next) => a,
            _ = &mut shutdown => break,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors (EMFILE) and the like: wait instead of spinning.
                shared.server.log.note(&format!("accept failed: {e}; pausing"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if shared.active.load(Ordering::Relaxed) >= shared.server.limits.max_connections {
            shared
                .server
                .log
                .note(&format!("{peer}: refused, {} connections open", shared.server.limits.max_connections));
            drop(tcp);
            continue;
        }
        let _ = tcp.set_nodelay(true);
        shared.active.fetch_add(1, Ordering::Relaxed);
        let s = shared.clone();
        tokio::spawn(async move {
            connection(s.clone(), tcp, peer).await;
            s.active.fetch_sub(1, Ordering::Relaxed);
        });
    }
    // `send_replace`: stored even when nobody watches yet (a connection accepted later looks).
    shared.stop.stage.send_replace(DRAINING);
    let deadline = Instant::now() + drain;
    while shared.active.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Tunnels are not waited for (an idle one may stay open for many minutes), but each gets
    // its log line: they end now, and their tasks have a moment to write it — as requests still
    // waiting for an answer have to answer 503 (`stopped`).
    shared.stop.stage.send_replace(OVER);
    let deadline = Instant::now() + Duration::from_secs(1);
    let busy =
        || shared.stop.tunnels.load(Ordering::Relaxed) > 0 || shared.active.load(Ordering::Relaxed) > 0;
    while busy() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn connection(shared: Arc<Shared>, tcp: TcpStream, peer: SocketAddr) {
    let Ok(local) = tcp.local_addr() else { return };
    let owner: Arc<OnceLock<Option<u32>>> = Arc::new(OnceLock::new());
    let limits = shared.server.limits.clone();
    // A connection that has sent no request yet when SIGTERM comes is closed at once.
    let first = tokio::select! {
        biased;
        f = first::read(&tcp, limits.max_header_bytes, limits.header_timeout) => f,
        () = shared.stop.reached(DRAINING) => return,
    };
    let pre = match first {
        First::Gone => return,
        First::Connect { authority, headers, rest } => {
            let at = Peer { local, peer, owner: &owner };
            return connect::serve(&shared, at, tcp, authority, headers, rest).await;
        }
        First::Hyper(pre) => pre,
    };
    let stop = shared.stop.clone();
    let log = shared.server.log.clone();
    let svc = hyper::service::service_fn(move |req| {
        let (shared, owner) = (shared.clone(), owner.clone());
        async move {
            let at = Peer { local, peer, owner: &owner };
            Ok::<_, Infallible>(handle(&shared, at, req).await.map(body::flushed_before_failing))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        // Bounded by the head's bytes above; hyper's own limit of 100 fields answered 400 to
        // request heads that Squid (and curl, sending them) take.
        .max_headers(crate::relay::MAX_HEADER_FIELDS)
        // Field names go on as the client wrote them (`x-api-key` stays so), as Squid passes
        // them, for peers that read them case-sensitively; what toll adds (`Via`, `Date`, its
        // own answers') goes in Title-Case, as Squid writes it.
        .preserve_header_case(true)
        .title_case_headers(true)
        .serve_connection(TokioIo::new(first::Rewind::new(pre, tcp)), svc)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        ended = conn.as_mut() => {
            // hyper answered a head it could not read itself (400, or 431 for one too large),
            // without a body: the log says which client and why.
            match ended {
                Err(e) if e.is_parse_too_large() => log.note(&format!("{peer}: a request head too large: answered 431")),
                Err(e) if e.is_parse() => {
                    log.note(&format!("{peer}: a request toll serve cannot read ({e}): answered 400"))
                }
                _ => {}
            }
        }
        // SIGTERM: a kept-alive connection waiting for its next request closes now; one with a
        // request in flight closes after its response (else the drain would wait its 10 s for
        // every idle client connection).
        () = stop.reached(DRAINING) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Where a request came from: the two ends of its connection and (found once per connection,
/// when first needed) the local user that owns the client's socket.
#[derive(Clone, Copy)]
struct Peer<'a> {
    local: SocketAddr,
    peer: SocketAddr,
    owner: &'a OnceLock<Option<u32>>,
}

/// The next connection on any of `listeners`, looked for from `next` on (and `next` moved past
/// the one that had it), so that a flood on one listener does not starve the other's clients.
async fn accept(listeners: &[TcpListener], next: &mut usize) -> std::io::Result<(TcpStream, SocketAddr)> {
    match listeners {
        [one] => one.accept().await,
        _ => {
            std::future::poll_fn(|cx| {
                for i in 0..listeners.len() {
                    let k = (*next + i) % listeners.len();
                    if let std::task::Poll::Ready(r) = listeners[k].poll_accept(cx) {
                        *next = k + 1;
                        return std::task::Poll::Ready(r);
                    }
                }
                std::task::Poll::Pending
            })
            .await
        }
    }
}

/// What toll serve does with a request, decided from its head alone.
enum Plan {
    /// Answered here: refused, malformed, a loop, an unusable proxy setting (already logged).
    Answer(Response<RelayBody>),
    /// NO_PROXY (or no proxy at all), or a SOCKS proxy (`socks`): toll serve connects to the
    /// origin itself (through that proxy), never to this machine's loopback for a client on
    /// another host (`other_host`).
    Direct { target: Target, other_host: bool, socks: Option<crate::config::ProxySpec> },
    /// Through this proxy, which the relay answers.
    Proxy(Target, crate::config::ProxySpec),
}

/// Admission (the same user, or the key), the checks a proxy owes (no loops, no requests for
/// its own pages) and routing, shared by requests hyper reads and CONNECTs read by `first`.
/// Removes the client's `Proxy-Authorization`: it was for this server.
async fn plan(shared: &Shared, at: Peer<'_>, entry: &Entry, req: &mut http::request::Parts) -> Plan {
    let server = &shared.server;
    shared.follow_network();
    // Before admission: a request that came back from a non-loopback address of this machine
    // would otherwise be asked for the key (a 407 the relay on its first pass would answer).
    if shared.via.seen_in(&req.headers) {
        entry.write(400, "-", "loop: Via names this server");
        return Plan::Answer(text(
            StatusCode::BAD_REQUEST,
            "toll serve: this request came back to toll serve (its Via header names this server): the upstream proxy leads back here. Give toll serve the real proxy with -x (or --pac).\n",
            Some("proxy_loop_detected"),
        ));
    }
    let creds = crate::relay::proxy_basic(&req.headers);
    let who = |l: SocketAddr, p: SocketAddr| -> std::io::Result<u32> {
        at.owner
            .get_or_init(|| peer::peer_uid(l, p).ok())
            .ok_or_else(|| std::io::Error::other("unknown owner"))
    };
    let decision =
        server.policy.decide(at.local, at.peer, creds.as_ref().map(|(u, k)| (u.as_str(), k.expose())), &who);
    match decision {
        Decision::Serve { .. } => {}
        Decision::Refuse(why) => {
            entry.write(403, "-", &format!("refused: {why}"));
            return Plan::Answer(text(
                StatusCode::FORBIDDEN,
                &format!("toll serve: this proxy is not for you ({why}).\n"),
                None,
            ));
        }
        Decision::NeedKey(why) => {
            entry.write(407, "-", &format!("key required: {why}"));
            let mut r = text(
                StatusCode::PROXY_AUTHENTICATION_REQUIRED,
                "toll serve: show the key: use the proxy URL that 'toll serve --print-env' prints.\n",
                None,
            );
            r.headers_mut().insert(
                http::header::PROXY_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"toll serve\""),
            );
            return Plan::Answer(r);
        }
    }
    if let Some(coding) = unknown_transfer_coding(&req.headers) {
        entry.write(501, "-", "a transfer coding other than chunked");
        return Plan::Answer(text(
            StatusCode::NOT_IMPLEMENTED,
            &format!(
                "toll serve: the request body's transfer coding '{}' is not supported (only chunked is).\n",
                sanitize(&coding)
            ),
            None,
        ));
    }
    // The client's proxy credential was for this server; toll answers the upstream itself.
    req.headers.remove(PROXY_AUTHORIZATION);
    // What the client said to this hop only goes first (a `Connection` naming `Via` included,
    // which would take this hop's entry away later).
    crate::relay::hop::strip_request(&mut req.headers);
    if let Some(r) = max_forwards::check(req) {
        entry.write(200, "-", "answered here as the final recipient");
        return Plan::Answer(r);
    }
    shared.via.add(&mut req.headers, req.version);
    let target = match Target::of(&req.method, &req.uri) {
        Ok(t) => t,
        Err(why) => {
            entry.write(400, "-", why);
            return Plan::Answer(text(StatusCode::BAD_REQUEST, &format!("toll serve: {why}.\n"), None));
        }
    };
    // Services on this machine's loopback trust that only this machine reaches them; a
    // container or a VM admitted by --allow must not get there through the proxy.
    let other_host = admission::from_another_host(at.peer);
    if other_host && for_this_machine_only(&target) {
        entry.write(403, "-", "refused: another host asked for this machine's loopback");
        return Plan::Answer(text(
            StatusCode::FORBIDDEN,
            &format!(
                "toll serve: {} is this machine's loopback, which other hosts may not reach through toll serve.\n",
                sanitize(&target.host_port().0)
            ),
            Some("destination_ip_prohibited"),
        ));
    }
    if is_loop(&target, &shared.listen) {
        entry.write(400, "-", "loop");
        return Plan::Answer(text(
            StatusCode::BAD_REQUEST,
            "toll serve: this request is addressed to toll serve itself; it would loop.\n",
            Some("proxy_loop_detected"),
        ));
    }
    let Some(url) = target.route_url() else {
        entry.write(400, "-", "bad target");
        return Plan::Answer(text(StatusCode::BAD_REQUEST, "toll serve: a malformed target.\n", None));
    };
    let routes = server.routes.current();
    match routes.pick(&url).await.map(|c| c.entry) {
        Err(e) => {
            entry.write(502, "-", "bad proxy setting");
            Plan::Answer(text(
                StatusCode::BAD_GATEWAY,
                &format!("toll serve: {}\n", sanitize(&e.to_string())),
                Some("proxy_internal_error"),
            ))
        }
        Ok(RouteEntry::Direct) => Plan::Direct { target, other_host, socks: None },
        Ok(RouteEntry::Proxy(spec)) if spec.is_socks() => {
            Plan::Direct { target, other_host, socks: Some(spec) }
        }
        // A PAC or the desktop's settings that name this server (set up so that browsers use
        // it) must not make it its own upstream: every request would come back, 4,096 deep.
        Ok(RouteEntry::Proxy(spec)) if is_self(&spec.host, spec.port, &shared.listen) => {
            entry.write(502, &spec.display_url(), "the upstream proxy is this server");
            Plan::Answer(text(
                StatusCode::BAD_GATEWAY,
                &format!(
                    "toll serve: the proxy chosen for this URL ({}, from {}) is toll serve itself; give toll serve the real proxy with -x (or --pac).\n",
                    sanitize(&spec.display_url()),
                    sanitize(&spec.origin)
                ),
                Some("proxy_loop_detected"),
            ))
        }
        // The relay drops the client's hop-by-hop headers (`Relay::carry`, `Relay::tunnel`).
        Ok(RouteEntry::Proxy(spec)) => Plan::Proxy(target, spec),
    }
}

/// A transfer coding of the request other than `chunked` (`gzip, chunked`). hyper undoes only
/// `chunked`, and the next hop frames the body afresh: the body would arrive still encoded with
/// nothing to say so. RFC 9112 §6.1 answers it with 501, as Squid does.
fn unknown_transfer_coding(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::TRANSFER_ENCODING)
        .iter()
        .flat_map(|v| {
            String::from_utf8_lossy(v.as_bytes()).split(',').map(|c| c.trim().to_string()).collect::<Vec<_>>()
        })
        .find(|c| !c.is_empty() && !c.eq_ignore_ascii_case("chunked"))
}

async fn handle(shared: &Shared, at: Peer<'_>, req: Request<Incoming>) -> Response<RelayBody> {
    let server = &shared.server;
    let (mut parts, body) = req.into_parts();
    let target = sanitize(&parts.uri.to_string());
    let entry = Entry::new(&server.log, at.peer, parts.method.clone(), target);
    let plan = plan(shared, at, &entry, &mut parts).await;
    let mut req = Request::from_parts(parts, body);
    match plan {
        Plan::Answer(r) => r,
        // A CONNECT that was not the connection's first request (those are `connect`'s).
        Plan::Direct { target: Target::Tunnel { .. }, .. } | Plan::Proxy(Target::Tunnel { .. }, _) => {
            let Some(authority) = req.uri().authority().cloned() else {
                entry.write(400, "-", CONNECT_FORM);
                return text(StatusCode::BAD_REQUEST, "toll serve: CONNECT needs host:port.\n", None);
            };
            let headers = std::mem::take(req.headers_mut());
            match connect::open(shared, plan, &authority, headers, &entry).await {
                Ok(opened) => {
                    let client = hyper::upgrade::on(&mut req);
                    let stop = shared.stop.clone();
                    tokio::spawn(async move {
                        match client.await {
                            Ok(client) => {
                                connect::pipe(TokioIo::new(client), opened, Vec::new(), entry, stop).await
                            }
                            Err(_) => opened.abandon(&entry),
                        }
                    });
                    Response::new(body::empty())
                }
                Err(r) => r,
            }
        }
        Plan::Direct { target, other_host, socks } => {
            let (host, port) = target.host_port();
            let way = shared.direct(other_host, socks.as_ref());
            let upstream = socks.map_or_else(|| "DIRECT".into(), |s| s.display_url());
            let r = tokio::select! {
                r = way.forward(req, &host, port, server.limits.answer_timeout()) => r,
                () = shared.stop.reached(OVER) => return stopped(&entry, &upstream),
            };
            relayed(entry, &shared.via, r, upstream)
        }
        Plan::Proxy(_, spec) => {
            // No user name or password in the request line (RFC 9110 §4.2.4: a sender must not
            // generate them): the proxy would pass them on (Squid makes an `Authorization` of
            // them), while the direct route, whose request line is the path, drops them.
            without_userinfo(req.uri_mut());
            // A silent proxy must not hold the client forever: the limit runs once the request
            // (and its body, when it is buffered) is in; a large upload may take its time.
            let limit = server.limits.answer_timeout();
            let r = tokio::select! {
                r = server.relay.carry(&spec, req, limit) => r,
                () = shared.stop.reached(OVER) => return stopped(&entry, &spec.display_url()),
            };
            let r = match r {
                Ok(r) => r,
                Err(f) if matches!(f.kind, FailureKind::NoAnswer(_)) => answer_timeout(&spec, limit),
                Err(f) => failure_response(f),
            };
            relayed(entry, &shared.via, r, spec.display_url())
        }
    }
}

/// `uri` without `user:password@` in its authority.
fn without_userinfo(uri: &mut http::Uri) {
    let Some(authority) = uri.authority().filter(|a| a.as_str().contains('@')) else { return };
    let host_port = authority.as_str().rsplit_once('@').map_or("", |(_, h)| h).to_string();
    let mut parts = uri.clone().into_parts();
    parts.authority = host_port.parse().ok();
    if let Ok(u) = http::Uri::from_parts(parts) {
        *uri = u;
    }
}

/// SIGTERM's drain ended before the answer came: the client is told (503) rather than cut off,
/// and the request gets its log line, as a tunnel closed then does.
fn stopped(entry: &Entry, upstream: &str) -> Response<RelayBody> {
    entry.write(503, upstream, "closed: toll serve stopped before the answer came");
    let why = "toll serve: stopped (SIGTERM) before the answer came; nothing more is known of the request.\n";
    text(StatusCode::SERVICE_UNAVAILABLE, why, Some("connection_terminated"))
}

/// A response on its way to the client: the proxy's (or the origin's) is logged after its last
/// byte, with the scheme that carried it; toll serve's own (a failure) at once.
fn relayed(
    entry: Entry,
    via: &via::Pseudonym,
    r: Response<RelayBody>,
    upstream: String,
) -> Response<RelayBody> {
    let status = r.status().as_u16();
    if r.extensions().get::<OwnAnswer>().is_some() {
        entry.write(status, &upstream, why(&r));
        return r;
    }
    // toll serve asks for no protocol switch (`Upgrade` is taken off every request: a hop-by-hop
    // field), so a 101 is one nobody asked for (RFC 9110 §15.2.2); passed on, it would leave the
    // client on a connection nobody speaks on. A 502, as Squid answers it.
    if r.status() == StatusCode::SWITCHING_PROTOCOLS {
        entry.write(502, &upstream, "a 101 nobody asked for");
        return text(
            StatusCode::BAD_GATEWAY,
            "toll serve: the answer switched protocols (101), which no request through toll serve asks for\n",
            Some("http_protocol_error"),
        );
    }
    let scheme = AuthUsed::of(&r);
    // toll serve is the client's hop: it speaks HTTP/1.1 whatever the origin spoke (RFC 9110
    // §6.2; hyper would answer an HTTP/1.0 response's client as 1.0 and close its connection),
    // and what the upstream side said to its own hop (`Connection: close`, `Keep-Alive`,
    // `Proxy-Authentication-Info`) stays there.
    let mut r = r;
    let received = r.version();
    *r.version_mut() = http::Version::HTTP_11;
    crate::relay::hop::strip_response(r.headers_mut());
    via.add(r.headers_mut(), received);
    r.map(|b| entry.on_body(status, upstream, scheme, b))
}

/// `f`, or `None` when it takes longer than `limit` (no limit: `f` however long it takes).
async fn within<T>(limit: Option<Duration>, f: impl Future<Output = T>) -> Option<T> {
    match limit {
        Some(t) => tokio::time::timeout(t, f).await.ok(),
        None => Some(f.await),
    }
}

fn answer_timeout(spec: &crate::config::ProxySpec, limit: Option<Duration>) -> Response<RelayBody> {
    text(
        StatusCode::GATEWAY_TIMEOUT,
        &format!(
            "toll serve: the proxy {} did not answer within {:.0?} (--answer-timeout)\n",
            spec.display_url(),
            limit.unwrap_or_default()
        ),
        Some("http_response_timeout"),
    )
}

/// What a client sees when the proxy could not be passed: never a 407 (the client would retry
/// or prompt for a password toll does not need), but 502/504/403 with an RFC 9209
/// `Proxy-Status` and a body that says what happened and what to run.
fn failure_response(f: Failure) -> Response<RelayBody> {
    let (status, kind) = match &f.kind {
        FailureKind::Denied => (StatusCode::FORBIDDEN, "http_request_denied"),
        FailureKind::Unreachable(_, Unreached::Name) => (StatusCode::BAD_GATEWAY, "dns_error"),
        FailureKind::Unreachable(
            _,
            Unreached::Certificate | Unreached::Revocation | Unreached::PinnedKey,
        ) => (StatusCode::BAD_GATEWAY, "tls_certificate_error"),
        FailureKind::Unreachable(_, Unreached::Tls) => (StatusCode::BAD_GATEWAY, "tls_protocol_error"),
        FailureKind::Unreachable(why, _) if why.contains("timed out") => {
            (StatusCode::GATEWAY_TIMEOUT, "connection_timeout")
        }
        FailureKind::Timeout(_) => (StatusCode::GATEWAY_TIMEOUT, "connection_timeout"),
        FailureKind::Unreachable(..) => (StatusCode::BAD_GATEWAY, "connection_refused"),
        FailureKind::Preproxy(socks) => (socks.status, socks.kind),
        _ => (StatusCode::BAD_GATEWAY, "proxy_internal_error"),
    };
    // The credential to store is the SOCKS proxy's when that is what wanted one.
    let proxy = match &f.kind {
        FailureKind::Preproxy(crate::socks::Failed { login: Some(socks), .. }) => socks.clone(),
        _ => f.proxy.clone(),
    };
    let received = f.status.as_ref().map(|(code, _)| *code);
    let e = failure_error(f);
    let mut body = format!("toll serve: {}\n", sanitize(&e.message));
    if let Some(h) = &e.hint {
        body.push_str(&format!("hint: {}\n", sanitize(h)));
    }
    if matches!(e.exit, crate::error::Exit::AuthRejected | crate::error::Exit::AuthNoCredentials) {
        body.push_str(&format!(
            "{LOGIN_LINE} '{}'; the running server picks it up.\n",
            login_command(&proxy)
        ));
    }
    // RFC 9209 §2.1.4: what the proxy answered (a 407 says it wants other credentials).
    let kind = match received {
        Some(code) => format!("{kind}; received-status={code}"),
        None => kind.to_string(),
    };
    let mut r = text(status, &body, Some(&kind));
    r.extensions_mut().insert(Why(e.message));
    r
}

/// Marks a response toll serve wrote itself (not the proxy's or an origin's).
#[derive(Clone, Copy)]
struct OwnAnswer;

/// Why toll serve answered a failure itself: its access-log line's note (the wrong password,
/// no credential, the proxy unreachable), the same words as the answer's body.
#[derive(Clone)]
struct Why(String);

/// The note for `r`'s access-log line: [`Why`] it failed, if toll serve says.
fn why<B>(r: &Response<B>) -> &str {
    r.extensions().get::<Why>().map_or("", |w| w.0.as_str())
}

/// toll serve's own answer: `body` as plain text and, with `proxy_status` (the error type and
/// any parameters after it), an RFC 9209 `Proxy-Status` whose details are the body's first line.
fn text(status: StatusCode, body: &str, proxy_status: Option<&str>) -> Response<RelayBody> {
    let mut r = Response::new(body::full(bytes::Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.extensions_mut().insert(OwnAnswer);
    let h = r.headers_mut();
    h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    if let Some(kind) = proxy_status {
        // RFC 9209: the details are a quoted string; the body says the same at length.
        let first = body.lines().next().unwrap_or("").replace(['"', '\\'], "'");
        if let Ok(v) = HeaderValue::from_str(&format!("toll; error={kind}; details=\"{}\"", first.trim())) {
            h.insert("proxy-status", v);
        }
    }
    r
}

#[cfg(test)]
mod tests;
