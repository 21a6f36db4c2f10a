//! The user's request, sent with reqwest (TLS, HTTP/2 by ALPN, redirects, decompression,
//! timeouts). reqwest's own environment-proxy handling is off: every URL is routed by
//! `route::choice::Chooser` — direct, a SOCKS proxy (reqwest handles it), or an HTTP(S) proxy through the
//! in-process `relay`, which alone talks to that proxy and answers its 407s (most requests
//! through such a proxy go by `tunnel` instead of reqwest: TLS on the relay's authenticated
//! tunnel, or a body-less http request forwarded by the relay, in process). Proxy credentials
//! therefore exist only inside the relay's upstream connections: they cannot reach an origin,
//! another proxy, or a redirect target.

use crate::config::{OutputStyle, ProxyConfig, ProxySpec, RequestConfig};
use crate::error::{Error, Exit, Result};
use crate::relay::{AuthMemory, Failure, Relay};
use crate::report::{Direction, Reporter};
use crate::route::choice::Chooser;
use crate::route::RouteEntry;
use crate::secret::Secret;
use crate::term::{display_url, sanitize, Terminal};
use std::sync::Arc;

mod alt_route;
pub mod alt_svc;
mod attempts;
mod body;
use body::known_length;
mod conn;
pub mod cookies;
mod decode;
mod deliver;
mod elsewhere;
mod errors;
mod extras;
mod form;
pub mod form_encode;
mod header_case;
mod header_order;
pub mod hsts;
mod multi;
pub mod netrc;
mod origin_auth;
mod redirect;
mod request;
mod resume;
use redirect::{next_hop, Hop};
mod retry;
mod saving;
mod send;
mod socks_login;
mod timing;
mod tls;
pub use tls::{readable as readable_certificate_error, x509v1_taken};
mod tls_tuning;
mod trace;
mod trailers;
mod transfer_info;
mod tunnel;
mod upstreams;
mod verbose;
use verbose::{trace_request, trace_response, trace_route};
mod wire;
pub mod writeout;
mod xattr;

pub use crate::relay::failure_error;
pub use conn::doh;
/// `--compressed`'s decoder (public for its fuzz target).
pub use decode::{DecodeError, Decoder as ContentDecoder, Stopped as DecodeStopped};
use errors::{classify, classify_sent, relay_refusal, route_error};
use header_case::{head_text, EarlierHeads, LastAnswer};
pub use multi::run_all;
/// Public for their fuzz targets: how a `Location` is followed, and which response heads the
/// wire tap keeps.
pub use redirect::{first_redirect, refused_redirect};
use request::{
    build_client, build_request, connect_agent, drain_small, proxy_credentials_refused, user_agent,
};
/// `-J`'s reading of a `Content-Disposition` value (public for its fuzz target).
pub use saving::{disposition_filename, exists_already};
use tls::bad_ca;
pub use tls::read_certs;
pub(crate) use tls::roots_verifier;
pub(crate) use tls::{client_auth, crl_verifier};
pub(crate) use tls_tuning::provider as tuned_provider;
pub use upstreams::upstream_factory;
pub use wire::heads_of as wire_heads;

pub use crate::creds::SourceFactory;

/// What the app hands the client besides the configuration.
pub struct Context {
    pub reporter: Arc<dyn Reporter>,
    pub term: Terminal,
    pub sources: SourceFactory,
    /// Where schemes that worked are remembered between runs, if anywhere.
    pub memory: Option<Arc<dyn AuthMemory>>,
    /// `--doh-url`'s resolver when the caller made it already (shared with the PAC's lookups);
    /// else the session makes its own from the request.
    pub doh: Option<Arc<crate::doh::Doh>>,
    /// What the proxies rejected in this run, across its operations (the lockout rule).
    pub rejections: Arc<crate::creds::Rejections>,
}

/// `--speed-limit`/`--speed-time` while a request waits for its answer, as curl's check sees
/// nothing arrive from a silent server: each request (a redirect, a handshake's leg) has its own
/// window. A credential lookup (a keyring call, the password prompt) is not the network's: a
/// window in which one ran is followed by another.
async fn within_speed_time<T>(
    stall: Option<(u64, std::time::Duration)>,
    sending: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let Some((limit, time)) = stall else { return sending.await };
    let mut sending = std::pin::pin!(sending);
    loop {
        let window = std::time::Instant::now();
        match tokio::time::timeout(time, &mut sending).await {
            Ok(r) => return r,
            Err(_) if crate::creds::asked_since(window) => continue,
            Err(_) => return Err(saving::too_slow(limit, time)),
        }
    }
}

/// `-m` ran out before a proxy was chosen for `url` (curl's exit 28).
fn out_of_time(url: &url::Url) -> Error {
    Error::new(
        Exit::Timeout,
        format!("-m/--max-time ran out while choosing the proxy for {}", display_url(url)),
    )
    .hint("raise -m, or check the PAC's proxies (toll doctor shows which answer)")
}

/// `socks5h://user:pass@host:port` for reqwest, which speaks SOCKS itself: the URL's
/// credential, else `-U`'s (`flag`; see `socks_login`).
fn socks_url(spec: &ProxySpec, flag: Option<&(String, Option<Secret>)>) -> Option<url::Url> {
    let mut u = url::Url::parse(&format!("{}://{}", spec.scheme, spec.host_port())).ok()?;
    if let Some(c) = socks_login::login(spec, flag) {
        u.set_username(&c.user).ok()?;
        u.set_password(Some(c.password.expose()).filter(|p| !p.is_empty())).ok()?;
    }
    Some(u)
}

#[derive(Debug, thiserror::Error)]
#[error("more than {0} redirects")]
struct TooManyRedirects(usize);

/// Fetches `req.url` and writes the body where `req.output` says.
///
/// The transfer runs as a task on the runtime's workers, beside the connection tasks it reads
/// from: polled from the thread that blocks on the runtime, every body chunk cost two thread
/// wake-ups (measured: 200 MiB over http, 23 000 futex calls, most of the CPU time).
pub async fn run(
    req: &RequestConfig,
    proxy: &ProxyConfig,
    routes: Chooser,
    style: OutputStyle,
    ctx: Context,
) -> Result<()> {
    let (req, proxy) = (req.clone(), proxy.clone());
    let (alive, gone) = std::sync::mpsc::channel::<()>();
    let task = tokio::spawn(async move {
        let _alive = alive;
        transfer(&req, &proxy, routes, style, ctx).await
    });
    let mut guard = Cancel { task: Some(task), gone };
    let result = guard.task.as_mut().expect("set above").await;
    guard.task = None;
    match result {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(Error::new(Exit::Internal, format!("the transfer was cancelled: {e}"))),
    }
}

/// When `run` is dropped unfinished (Ctrl-C), the transfer task is dropped too before `run`'s
/// drop returns, so what it owns (a partial `-o` file) is cleaned up before the process exits.
struct Cancel {
    task: Option<tokio::task::JoinHandle<Result<()>>>,
    /// Disconnected once the task's future has been dropped.
    gone: std::sync::mpsc::Receiver<()>,
}

impl Drop for Cancel {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = self.gone.recv_timeout(std::time::Duration::from_secs(2));
        }
    }
}

/// toll fetches http:// and https:// only; another scheme fails this transfer with curl's 1
/// (CURLE_UNSUPPORTED_PROTOCOL, in curl's words), the command line's other URLs still run.
fn supported_scheme(url: &url::Url) -> Result<()> {
    match url.scheme() {
        "http" | "https" => Ok(()),
        other => Err(Error::new(
            Exit::Unsupported,
            format!("Protocol \"{}\" not supported", crate::term::sanitize(other)),
        )
        .hint("toll fetches http:// and https:// URLs")),
    }
}

async fn transfer(
    req: &RequestConfig,
    proxy: &ProxyConfig,
    routes: Chooser,
    style: OutputStyle,
    ctx: Context,
) -> Result<()> {
    let format = req.write_out.as_ref().map(transfer_info::load_format).transpose()?;
    let started = Session::start(req, proxy, routes, ctx).await;
    // The transfer's clock starts once the client is set up, as with several URLs (`multi`):
    // `-w`'s times are the transfer's, not toll's start-up.
    let mut rec = transfer_info::Recorder::start(req);
    let result = match started {
        Err(e) => Err(e),
        Ok(session) => {
            let result = attempts::run(&session, req, style, &mut rec).await;
            // --trace: the file is complete whatever happened; its own failure comes last.
            let traced = session.tap.as_ref().and_then(wire::Tap::finish_trace).map(trace::Writer::finish);
            result.and(traced.unwrap_or(Ok(())))
        }
    };
    if let Some(format) = format {
        rec.write_out(&format, &result);
    }
    result
}

/// The HTTP client and the relay behind it, set up once for a run.
pub struct Session {
    client: reqwest::Client,
    /// `-b`/`-c`: the cookies of this run.
    cookies: cookies::Engine,
    /// `--hsts`: hosts reached over https only.
    hsts: hsts::Engine,
    /// `--alt-svc`: alternatives learnt and used.
    alt_svc: alt_route::AltSvc,
    /// The origin rejected the `-u` credentials in an earlier attempt of this run.
    origin_rejected: std::sync::atomic::AtomicBool,
    relay: Arc<Relay>,
    /// Requests through a proxy without the loopback hop, when they allow it (`tunnel`).
    direct: Option<tunnel::Direct>,
    /// toll's own HTTP path, for what reqwest cannot do (`None` where nothing asks for it, or
    /// where the request needs reqwest's path): `--path-as-is`/`--request-target` send a
    /// request target of their own; after `-H 'Accept:'` every request takes it where it can
    /// (reqwest adds `Accept: */*` to every request, and curl then sends none); a
    /// `--connect-to` rule to another port or a host name, or through a proxy's tunnel; a
    /// `--resolve` rule for another port than the one reqwest's override was made for.
    raw: Option<tunnel::Direct>,
    /// Requests straight to the origin take `raw` because the origin may ask for NTLM or
    /// Negotiate (see `Session::new`).
    bound_auth: bool,
    /// What reqwest's resolver does by name (`--resolve` and `--connect-to` as the first URL
    /// picked them; see `elsewhere`).
    overridden: elsewhere::Overridden,
    /// `-H 'Accept:'` was given (see `raw`).
    no_accept: bool,
    /// `-H 'Host: …'` (see `request::host_given`).
    host_given: bool,
    routes: Arc<Chooser>,
    ctx: Arc<Context>,
    /// `-U`, for a SOCKS proxy whose URL has no credential (`socks_login`).
    socks_flag: Option<(String, Option<Secret>)>,
    /// The bytes on the wire, when heads are printed as received or traced.
    tap: Option<wire::Tap>,
    /// When the client's connections were made (`-w`'s connection times).
    clock: timing::Clock,
    /// `-D` files written so far: the first transfer replaces one, the next ones add to it.
    dumped: extras::DumpFiles,
    /// How each request's fields are put in curl's order.
    order: header_order::Arrangement,
}

impl Session {
    pub async fn start(
        req: &RequestConfig,
        proxy: &ProxyConfig,
        routes: Chooser,
        ctx: Context,
    ) -> Result<Session> {
        // The relay would drop it (a hop-by-hop field): the proxy would then see no
        // credentials, or other ones than the user meant.
        if let Some((name, _)) =
            req.curl.conn.proxy_headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("proxy-authorization"))
        {
            return Err(proxy_credentials_refused("--proxy-header", name));
        }
        // Once for the operation (its URLs share its -H), not once per URL (`build_request`
        // refuses it too, for each request).
        if let Some((name, _)) =
            req.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("proxy-authorization"))
        {
            return Err(proxy_credentials_refused("-H", name));
        }
        let ctx = Arc::new(ctx);
        let factory = upstream_factory(proxy, ctx.clone())?;
        let relay = Arc::new(
            Relay::start(factory, ctx.reporter.clone(), req.connect_timeout)
                .await
                .map_err(|e| Error::new(Exit::Internal, format!("cannot start the local relay: {e}")))?,
        );
        if let Some(wait) = req.curl.conn.expect100_timeout {
            relay.set_expect_wait(wait);
        }
        if let Some(ip) = conn::local_address(&req.curl.conn)? {
            relay.set_local_address(ip);
        }
        if !req.curl.resolve.is_empty() {
            relay.set_resolve(req.curl.resolve.clone());
        }
        relay.set_connect_agent(connect_agent(req));
        if req.curl.ip_family == crate::config::IpFamily::V4 {
            relay.set_family(crate::relay::Family::V4);
        } else if req.curl.conn.ipv6_only {
            relay.set_family(crate::relay::Family::V6);
        }
        let routes = Arc::new(routes);
        let heads_shown = req.include_headers || req.head_only || req.curl.dump_header.is_some();
        let tap = (heads_shown || req.write_out.is_some() || req.curl.conn.trace.is_some())
            .then(wire::Tap::install);
        if let (Some(tap), Some(cfg)) = (&tap, &req.curl.conn.trace) {
            tap.trace_to(trace::Writer::create(cfg)?);
        }
        let clock = timing::Clock::default();
        let doh = match &ctx.doh {
            Some(doh) => Some(doh.clone()),
            None => conn::doh(req, ctx.reporter.clone())?,
        };
        if let Some(doh) = &doh {
            relay.set_doh(doh.clone());
        }
        let no_accept = req.curl.removed_headers.iter().any(|h| h == "accept");
        // toll's own path, where reqwest's cannot do what the request asks (see `raw`).
        let elsewhere = !req.curl.conn.connect_to.is_empty() || !req.curl.resolve.is_empty();
        let host_given = request::host_given(req);
        let raw_needed = req.curl.raw_targets || no_accept || elsewhere || host_given;
        // An origin's NTLM (or Negotiate) handshake is bound to one connection: on reqwest's
        // path the answer to a challenge went out on a new connection now and then (its pool
        // takes a connection back from a task of its own), which the server counts as a failed
        // logon. Straight to the origin, such runs take toll's own path, whose kept connection
        // is back before the next request is made (`Direct::execute_kept`).
        let bound_auth = req.origin_auth.as_ref().is_some_and(|a| {
            a.sigv4.is_none()
                && (a.schemes.contains(crate::auth::Scheme::Ntlm)
                    || a.schemes.contains(crate::auth::Scheme::Negotiate))
        });
        let raw = match raw_needed || bound_auth {
            true => tunnel::Direct::for_alternatives(req, &user_agent(req))?,
            false => None,
        };
        let bound_auth = bound_auth && raw.is_some();
        let overridden = elsewhere::Overridden::of(req, raw_needed && raw.is_some())?;
        let socks_flag = proxy.user.clone().map(|u| (u, proxy.password.clone()));
        let client = build_client(
            req,
            &relay,
            (&routes, socks_flag.clone()),
            tap.is_some(),
            &clock,
            doh,
            &overridden,
        )?;
        // -w alone keeps the in-process path (its %{size_header} then counts the head as rebuilt).
        let direct =
            tunnel::Direct::new(req, &user_agent(req), heads_shown || req.curl.conn.trace.is_some())?;
        let cookies = cookies::Engine::start(&req.curl)?;
        let hsts = hsts::Engine::start(req.curl.hsts.as_deref())?;
        let alt_svc = alt_route::AltSvc::start(req, &user_agent(req))?;
        Ok(Session {
            client,
            cookies,
            hsts,
            alt_svc,
            origin_rejected: Default::default(),
            relay,
            direct,
            raw,
            bound_auth,
            overridden,
            no_accept,
            host_given,
            routes,
            ctx,
            socks_flag,
            tap,
            clock,
            dumped: Default::default(),
            order: header_order::Arrangement {
                given: req.curl.given_headers.clone(),
                user_agent: user_agent(req),
                accept: !no_accept,
            },
        })
    }

    /// Sends `req` (following redirects with `-L`) and returns the final response, or the
    /// error that ended it — the proxy's own refusals included (`failure_error`).
    pub async fn send(&self, req: &RequestConfig) -> Result<reqwest::Response> {
        self.send_with_heads(req, &mut EarlierHeads::default()).await
    }

    /// New connections made for transfers so far, as curl counts them (`%{num_connects}`):
    /// to servers and SOCKS proxies, and by the relay to HTTP proxies, not the HTTP client's
    /// connections to the loopback relay (which stand in for the relay's).
    pub fn connections_made(&self) -> u64 {
        let (to_relay, by_relay) = self.relay.connection_counts();
        let raw = self.raw.as_ref().map_or(0, tunnel::Direct::connections_made);
        (self.clock.phases().connects + by_relay + self.alt_svc.connections() + raw).saturating_sub(to_relay)
    }

    /// [`send`](Self::send), also keeping the head of each redirect response it followed
    /// (`-i -L` prints them all, as curl does).
    pub async fn send_with_heads(
        &self,
        req: &RequestConfig,
        heads: &mut EarlierHeads,
    ) -> Result<reqwest::Response> {
        let reporter = self.ctx.reporter.as_ref();
        let started = std::time::Instant::now();
        let mut hop = Hop::first(req)?;
        let mut redirects = 0usize;
        // Requests sent again whole after a server answered them without their body (see below).
        let mut sent_whole_again = 0usize;
        let rejected_before = self.origin_rejected.load(std::sync::atomic::Ordering::SeqCst);
        let mut origin = origin_auth::OriginAuthState::new(req).rejected_before(rejected_before);
        let mut referer = extras::AutoReferer::new(req);
        // `--speed-limit` watches the wait for each answer too (`within_speed_time`), unless the
        // request uploads a file or a stream, whose pace is not measured there.
        let stall = req.transfer.speed_limit.filter(|_| {
            req.body.as_ref().is_none_or(|b| matches!(b.source, crate::config::BodySource::Bytes(_)))
                && !req.upload
        });
        // Tunnels an earlier transfer opened and did not see through are not this one's.
        self.relay.begin_transfer();
        loop {
            if let Some(https) = self.hsts.upgrade(&hop.url) {
                if reporter.verbose() {
                    reporter.line(
                        Direction::Info,
                        &format!("switched from HTTP to HTTPS due to HSTS => {}", display_url(&https)),
                    );
                }
                hop.url = https;
            }
            // Every hop is routed anew (a redirect may leave the proxy's domain, or a PAC may
            // send it elsewhere), before anything is sent.
            supported_scheme(&hop.url)?;
            conn::check_url(&req.curl.conn, &hop.url, redirects > 0)?;
            // `-m` bounds the whole transfer: fail-over's checks of a PAC's proxies too.
            let choosing = self.routes.choose(&hop.url);
            let choice = match req.max_time.map(|t| t.saturating_sub(started.elapsed())) {
                Some(left) => {
                    tokio::time::timeout(left, choosing).await.map_err(|_| out_of_time(&hop.url))?
                }
                None => choosing.await,
            }
            .map_err(route_error)?;
            conn::check_route(&req.curl.conn, &hop.url, &choice.entry, self.direct.is_some())?;
            if reporter.verbose() {
                trace_route(reporter, &hop.url, &choice);
            }
            let via_socks = matches!(&choice.entry, RouteEntry::Proxy(s) if s.is_socks());
            let via_relay = matches!(&choice.entry, RouteEntry::Proxy(s) if !s.is_socks());
            // A leg that cannot complete the server's NTLM handshake goes without the body (with
            // `Content-Length: 0`, as curl sends it): the 401 comes anyway, and a body the server
            // does not read would cost the connection the handshake is bound to.
            let withheld = origin.withholds_body(&hop.url, hop.with_body)?;
            let bodiless;
            let leg = match withheld {
                true => {
                    bodiless = hop.without_body();
                    &bodiless
                }
                false => &hop,
            };
            let mut request = build_request(&self.client, req, leg, redirects > 0).await?;
            if withheld {
                let zero = reqwest::header::HeaderValue::from_static("0");
                request.headers_mut().insert(reqwest::header::CONTENT_LENGTH, zero);
            }
            conn::adjust_request(&req.curl.conn, &mut request, via_relay);
            // Credentials last: `--aws-sigv4` signs the headers as they will be sent, the
            // engine's cookies and -e's Referer included.
            let request =
                origin.authorize(self.cookies.apply(referer.apply(request)), hop.target.as_deref())?;
            let sent_referer = request.headers().get(reqwest::header::REFERER).cloned();
            let cookie_url = cookies::for_request(&request).into_owned();
            let https = hop.url.scheme() == "https";
            // A --connect-to rule comes before an alternative, as in curl; without either, a
            // --resolve rule for this port that reqwest's overrides do not hold goes by toll's
            // own path too, where there is one (else reqwest's override is used, whatever the
            // port).
            let c = &req.curl.conn;
            let moved = elsewhere::connect_to_target(c, &self.overridden, &hop.url, &choice.entry);
            if moved.is_some() && self.raw.is_none() {
                return Err(elsewhere::connect_to_refused(&hop.url));
            }
            elsewhere::check_socks(c, &self.overridden, &hop.url, &choice.entry)?;
            let ruled = elsewhere::connect_to_rule(c, &hop.url).is_some();
            let alt = match ruled {
                true => None,
                false => self.alt_svc.pick(&hop.url, &choice.entry, reporter),
            };
            let moved = moved.or_else(|| {
                let rules = &req.curl.resolve;
                let resolved = elsewhere::resolve_target(rules, &self.overridden, &hop.url, &choice.entry);
                resolved.filter(|_| self.raw.is_some() && !ruled && alt.is_none())
            });
            let request =
                header_order::arrange(request, &self.order, surely_http1(req, https, alt.is_some()));
            if reporter.verbose() {
                trace_request(reporter, &request);
            }
            // --path-as-is/--request-target (see `Hop::target`), and -H 'Accept:' (see `raw`).
            let target = hop.target.as_deref();
            // A `Host` of the user's goes as HTTP/2's `:authority` there (`request::host_given`).
            let bound = self.bound_auth && matches!(choice.entry, RouteEntry::Direct);
            let own =
                (self.no_accept || (self.host_given && https) || bound) && self.raw.is_some() && !via_socks;
            let raw = target.is_some() || own;
            // The answer to an NTLM challenge: on the challenge's connection, or not at all.
            let kept = bound && origin.answers_on_its_connection() && alt.is_none();
            let sending = async {
                Ok::<_, Error>(match (&choice.entry, &self.direct, &self.raw) {
                    (entry, _, Some(own)) if moved.is_some() => {
                        let spec = match entry {
                            RouteEntry::Proxy(s) => Some(s),
                            RouteEntry::Direct => None,
                        };
                        if reporter.verbose() {
                            let to = moved.as_deref().unwrap_or_default();
                            let line = format!("connecting to {to} (--connect-to, --resolve)");
                            reporter.line(Direction::Info, &sanitize(&line));
                        }
                        own.execute_to(&self.relay, spec, moved.as_deref(), request, reporter, target).await?
                    }
                    _ if alt.is_some() => {
                        self.alt_svc.execute(&alt, &self.relay, &choice.entry, request, reporter).await?
                    }
                    (_, _, Some(own)) if kept => own.execute_kept(request, reporter, target).await?,
                    _ if raw => {
                        self.send_raw(
                            &choice.entry,
                            request,
                            reporter,
                            target,
                            https || req.curl.conn.proxytunnel,
                        )
                        .await?
                    }
                    // https through an HTTP(S) proxy: TLS on the relay's tunnel, in process.
                    (RouteEntry::Proxy(spec), Some(direct), _)
                        if via_relay && https && direct.in_process() =>
                    {
                        direct.execute(&self.relay, spec, request, reporter).await?
                    }
                    // http with -p: HTTP on the relay's tunnel, in process.
                    (RouteEntry::Proxy(spec), Some(direct), _)
                        if via_relay && !https && req.curl.conn.proxytunnel =>
                    {
                        direct.execute(&self.relay, spec, request, reporter).await?
                    }
                    // http: forwarded by the relay in process (a body as `toll serve` forwards one).
                    (RouteEntry::Proxy(spec), Some(direct), _) if via_relay && direct.in_process() => {
                        direct.forward(&self.relay, spec, request, None).await?
                    }
                    _ if via_relay => self
                        .client
                        .execute(request)
                        .await
                        .map_err(|e| classify_sent(e, &self.relay, via_socks, via_relay))?,
                    _ => {
                        let started = std::time::Instant::now();
                        let sent = self.execute_direct(request, req.max_time, via_socks).await;
                        match (&choice.entry, via_socks) {
                            (RouteEntry::Proxy(spec), true) => sent.map_err(|e| {
                                errors::socks_unreached(e, spec, started.elapsed(), req.connect_timeout)
                            })?,
                            _ => sent?,
                        }
                    }
                })
            };
            // A SOCKS proxy's credential: one transfer at a time until the proxy judged it,
            // never again once it rejected it (`socks_login`).
            let trial = match (&choice.entry, via_socks) {
                (RouteEntry::Proxy(spec), true) => match socks_login::login(spec, self.socks_flag.as_ref()) {
                    Some(c) => Some(socks_login::begin(spec, &c, &self.ctx.rejections).await?),
                    None => None,
                },
                _ => None,
            };
            let mut sent = within_speed_time(stall, sending).await;
            if let (Some(_), Err(e)) = (&trial, &mut sent) {
                if e.exit == Exit::AuthNoCredentials {
                    // "No acceptable method" after toll offered a user name and password: the
                    // proxy takes none, not "none was given".
                    *e = Error::new(
                        Exit::ProxyFailed,
                        "the SOCKS proxy accepts no user name and password (only methods toll does not offer)",
                    )
                    .hint("drop the credentials from the proxy URL and -U, or check -x");
                }
            }
            if let Some(t) = trial {
                t.settle(match &sent {
                    Ok(_) => Some(true),
                    Err(e) if e.exit == Exit::AuthRejected => Some(false),
                    Err(_) => None,
                });
            }
            let mut resp = sent?;
            if let Some(tap) = &self.tap {
                header_case::attach(&mut resp, tap);
            }
            // reqwest's connection to the loopback relay, if the response came on one.
            let client = resp
                .extensions()
                .get::<hyper_util::client::legacy::connect::HttpInfo>()
                .map(hyper_util::client::legacy::connect::HttpInfo::local_addr);
            for connect in self.relay.take_connect_heads_of(client) {
                heads.connect(connect.status.as_u16(), header_case::connect_head_text(&connect));
            }
            if let Some(f) = self.relay.take_failure_of(client) {
                // The relay gave up (a 407 it could not answer, the proxy's own 403): that is
                // the proxy's answer, not the origin's. A refusal of a tunnel this response did
                // not come through is not.
                return Err(failure_error(f));
            }
            if let Some(e) = relay_refusal(&resp) {
                return Err(e);
            }
            if reporter.verbose() {
                trace_response(reporter, &resp);
            }
            self.cookies.learn(&resp, &cookie_url);
            self.hsts.learn(&resp);
            self.alt_svc.learn(&resp, reporter);
            if withheld && resp.status() != reqwest::StatusCode::UNAUTHORIZED {
                // The server needed no credentials: it answered the request without its body.
                // It gets it again, whole, as curl sends it (the origin state withholds nothing
                // next: at most once per hop; the bound only guards that promise).
                sent_whole_again += 1;
                if sent_whole_again > 1 + redirects {
                    return Err(Error::new(Exit::Internal, "a request went without its body twice"));
                }
                drain_small(resp).await;
                continue;
            }
            let retry = origin.wants_retry(&resp, hop.method.as_str())?;
            if origin.is_rejected() {
                self.origin_rejected.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            if retry {
                // The answer to an NTLM challenge needs the challenge's connection: its body is
                // read to the end however long (within -m), as curl reads it.
                match origin.next_answer_is_bound() {
                    true => request::drain_upto(resp, 16 << 20).await,
                    false => drain_small(resp).await,
                }
                continue;
            }
            let Some(next) = next_hop(req, &hop, &resp) else {
                // -L and a Location toll cannot follow: an error, as in curl (the answer is not
                // the one asked for; with -o it would be saved as if it were).
                if let Some(e) = redirect::unfollowable(req, &hop, &resp) {
                    let url = redirect::without_empty_parts(hop.url.clone()).to_string();
                    let ends = transfer_info::ends(self, &resp);
                    let (method, body) = (hop.method.to_string(), hop.with_body);
                    let last = LastAnswer {
                        url,
                        ends,
                        redirect_url: None,
                        method,
                        body_before: body,
                        body_after: body,
                    };
                    // Counted as a redirect (`%{num_redirects}`), as curl 7.88 counts it.
                    heads.redirect(head_text(&resp), last);
                    return Err(e);
                }
                // The fragment is not sent, and reqwest takes the user name out of the URL, so
                // the response's URL has neither: `-w` gets them here.
                if hop.url.fragment().is_some() || !hop.url.username().is_empty() {
                    resp.extensions_mut().insert(redirect::WithFragment::of(&hop.url));
                }
                if let Some(r) = sent_referer.as_ref().and_then(|v| v.to_str().ok()) {
                    resp.extensions_mut().insert(redirect::SentReferer(r.to_string()));
                }
                return Ok(resp);
            };
            if redirects >= req.max_redirects {
                let url = redirect::without_empty_parts(hop.url.clone()).to_string();
                let redirect_url = Some(next.url.to_string());
                let ends = transfer_info::ends(self, &resp);
                let (method, body) = (hop.method.to_string(), hop.with_body);
                let last =
                    LastAnswer { url, ends, redirect_url, method, body_before: body, body_after: body };
                heads.unfollowed(head_text(&resp), last);
                return Err(Error::new(
                    Exit::TooManyRedirects,
                    format!("stopped after {redirects} redirects at {}", display_url(&next.url)),
                )
                .hint("raise --max-redirs if the redirects are expected"));
            }
            if reporter.verbose() {
                reporter
                    .line(Direction::Info, &format!("following the redirect to {}", display_url(&next.url)));
            }
            // Kept for -i (printed) and -w (counted).
            let ends = transfer_info::ends(self, &resp);
            let last = LastAnswer {
                url: next.url.to_string(),
                ends,
                redirect_url: None,
                method: next.method.to_string(),
                body_before: hop.with_body,
                body_after: next.with_body,
            };
            heads.redirect(head_text(&resp), last);
            drain_small(resp).await;
            redirects += 1;
            hop = next;
        }
    }

    /// Why the last request did not get through the proxy, if the relay knows.
    pub fn take_failure(&self) -> Option<Failure> {
        self.relay.take_failure()
    }

    /// The relay behind this session (`toll doctor` opens its own tunnel through it to look at
    /// the origin's certificate chain).
    pub fn relay(&self) -> &Relay {
        &self.relay
    }
}

/// reqwest is built without a TLS crypto provider of its own (see Cargo.toml): it uses the
/// process default, which is ring. Installing it again changes nothing.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Keeps peak memory independent of the transfer size. reqwest's HTTP/1 read buffer grows to
/// ~400 KiB on a fast transfer and is replaced while a body chunk still holds the old one; with
/// glibc's dynamic mmap threshold, the first such buffer freed raises the threshold, so later
/// ones come from the heap, which fragments and grows over a long transfer (measured: peak RSS
/// +7% from 1 MiB to 200 MiB over http). A fixed threshold (glibc's default value, 128 KiB)
/// keeps large buffers in their own mappings, returned when freed. They are few (14 in a 200 MiB
/// download), so the extra mmap calls cost nothing measurable.
fn steady_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; glibc serialises it with allocations.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Whether a request surely goes as HTTP/1 (and gets its `Host` field in place before it is
/// sent): an http:// URL without `--http2-prior-knowledge`, an https:// one with `--http1.1` or
/// `--http1.0` — not one an alternative service takes, nor one ALPN may take to HTTP/2 (its
/// `Host` is added by the HTTP/1 path when it goes so; `tunnel` puts it first).
fn surely_http1(req: &RequestConfig, https: bool, alternative: bool) -> bool {
    use crate::config::HttpVersion;
    let v = req.curl.http_version;
    !alternative
        && match https {
            false => v != HttpVersion::Http2PriorKnowledge,
            true => v == HttpVersion::Http11 || req.curl.conn.http10,
        }
}

/// A request body source failed mid-transfer (reported with exit code 26).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ReadFailed(String);
