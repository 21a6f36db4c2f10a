//! The relay's side of the conversation with the real proxy: connecting (TCP, or TLS for an
//! `https://` proxy), and the authentication exchange of RFC 7235 §3.2/§4.3/§4.4 on one request —
//! send, read the 407's challenges, pick a scheme, get a credential, answer, repeat on the same
//! connection while the proxy keeps it alive.
//!
//! Lockout safety lives here and in `creds`: a credential the proxy refused is reported to the
//! broker at once and never sent again; the exchange has a hard cap on its legs.

use super::body::{self, Gate, RelayBody, RequestBody};
use super::{Failure, FailureKind, Inner, Upstream};
use crate::auth::{self, Authenticator, Challenge, OsEntropy, RequestTarget, Scheme, SchemeSet, Verdict};
use crate::creds::{CredentialRequest, Issued};
use crate::remembered::Entry;
use crate::report::{describe_challenge, Direction, Leg};
use crate::secret::{Credentials, Secret};
use http::header::{HeaderValue, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A request/response exchange never takes more legs than this (NTLM needs 3; Digest with a
/// stale nonce 3): a proxy that keeps asking is not answered forever.
const MAX_LEGS: u32 = 6;

/// How long the probe of [`Upstream::proxy_demands_auth`] may take (no answer: the 407 is taken as the proxy's).
const PROBE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// 407 bodies larger than this are not drained: the connection is dropped instead.
const DRAIN_LIMIT: usize = 256 * 1024;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A connection to the upstream proxy, speaking HTTP/1.1.
pub(super) struct Conn {
    pub(super) send: SendRequest<RelayBody>,
    /// The connection's future, which the reader of a forwarded response's body drives.
    pub(super) driver: super::driven::Driver,
    /// A connection-bound scheme (NTLM, Negotiate) authenticated this connection: requests that
    /// follow on it need no header.
    authenticated: Option<Scheme>,
    /// A spare connection whose NTLM handshake was started ahead (`spare`).
    pub(super) primed: Option<super::spare::Primed>,
}

impl Conn {
    pub(super) fn usable(&self) -> bool {
        !self.send.is_closed()
    }
}

/// An authenticator and the credential it answers with (`None` for schemes that use what the
/// system holds, like a Kerberos ticket).
pub(super) struct Answer {
    pub(super) auth: Box<dyn Authenticator>,
    pub(super) issued: Option<Issued>,
    pub(super) realm: Option<String>,
}

/// How new connections to a proxy open a connection-bound handshake (NTLM, Negotiate) when the
/// scheme is known in advance: with its first message (NTLM type 1) on the first request, as
/// `curl --proxy-ntlm` does, so a connection costs one 407 (the type 2) instead of two.
/// Only the scheme: the credential is asked from the broker for every new connection, so one
/// that was refused meanwhile is never sent again.
#[derive(Clone, Copy)]
pub(super) struct Opener {
    pub(super) scheme: Scheme,
}

impl Opener {
    /// The user allowed exactly one connection-bound scheme (`--proxy-ntlm`,
    /// `--proxy-negotiate`): no need to wait for the proxy to name it.
    pub(super) fn forced(allowed: SchemeSet) -> Option<Opener> {
        [Scheme::Ntlm, Scheme::Negotiate]
            .into_iter()
            .find(|&s| allowed == SchemeSet::only(s))
            .map(|scheme| Opener { scheme })
    }
}

/// What one request looks like to the exchange.
pub(super) struct Outgoing {
    pub method: Method,
    /// The request-target as sent: `host:port` for CONNECT, the absolute URI otherwise.
    pub uri: http::Uri,
    pub headers: http::HeaderMap,
    pub body: RequestBody,
}

/// The state of one exchange between legs.
struct Exchange {
    target: String,
    /// The value to send on the next leg.
    header: Option<Secret>,
    /// What produced `header`, when it answered a challenge of this exchange.
    answer: Option<Answer>,
    /// `header` came from the proxy-wide [`Upstream::active`] authenticator.
    from_active: bool,
    /// `header` opens a connection-bound handshake unasked ([`Opener`]).
    opened: bool,
    offered: Vec<String>,
    /// Why schemes the proxy offered could not be used here (for the message).
    unusable: Vec<String>,
    /// A Digest `stale=true` was already answered in this exchange (one retry per request).
    stale_retried: bool,
    /// Who this exchange is to the credential broker: a credential on trial by this exchange
    /// is handed back to it at once (only other exchanges wait for the verdict).
    id: u64,
}

/// Exchange ids for the broker, unique in the process (0 is "anonymous").
static NEXT_EXCHANGE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Upstream {
    pub(super) async fn connect(&self, inner: &Inner) -> Result<Conn, Failure> {
        let spec = &self.spec;
        let started = std::time::Instant::now();
        let tcp = TcpStream::connect((spec.host.as_str(), spec.port));
        let tcp = match inner.connect_timeout {
            Some(t) => tokio::time::timeout(t, tcp)
                .await
                .map_err(|_| self.failure(FailureKind::Timeout(timed_out("the TCP connection", t))))?,
            None => tcp.await,
        }
        .map_err(|e| self.failure(FailureKind::Unreachable(format!("cannot connect: {e}"))))?;
        let _ = tcp.set_nodelay(true);
        let peer = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_default();
        inner.info(format_args!(
            "connected to proxy {} ({peer}) in {:.1?}",
            spec.display_url(),
            started.elapsed()
        ));
        let io: Box<dyn Io> = match &self.tls {
            None => Box::new(tcp),
            Some(tls) => {
                let name = rustls_pki_types::ServerName::try_from(spec.host.clone()).map_err(|e| {
                    self.failure(FailureKind::Unreachable(format!("bad proxy host name: {e}")))
                })?;
                let handshake = tokio_rustls::TlsConnector::from(tls.clone()).connect(name, tcp);
                // `--connect-timeout` covers the whole connection to the proxy, TLS included: a
                // proxy that accepts TCP and never answers the ClientHello must not hang the run.
                let stream = match inner.connect_timeout {
                    Some(t) => tokio::time::timeout_at((started + t).into(), handshake)
                        .await
                        .map_err(|_| self.failure(FailureKind::Timeout(timed_out("the TLS handshake", t))))?,
                    None => handshake.await,
                }
                .map_err(|e| {
                    self.failure(FailureKind::Unreachable(format!(
                        "TLS handshake with the proxy failed: {e}"
                    )))
                })?;
                inner.info(format_args!("TLS to proxy established"));
                Box::new(stream)
            }
        };
        let (send, conn) = hyper::client::conn::http1::Builder::new()
            .max_buf_size(super::HTTP_BUFFER)
            // The response head keeps its header names' case and reason phrase for the client
            // (`-i` prints them as received, as curl does).
            .preserve_header_case(true)
            .handshake::<_, RelayBody>(TokioIo::new(io))
            .await
            .map_err(|e| self.failure(FailureKind::Unreachable(format!("HTTP handshake failed: {e}"))))?;
        // Spawned, but a response body can drive it from the task that reads it (`driven`).
        let driver = super::driven::Driver::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        Ok(Conn { send, driver, authenticated: None, primed: None })
    }

    pub(super) fn failure(&self, kind: FailureKind) -> Failure {
        Failure {
            proxy: self.spec.display_url(),
            origin: self.spec.origin.clone(),
            target: String::new(),
            kind,
            status: None,
            offered: Vec::new(),
        }
    }

    pub(super) fn credential_request(
        &self,
        scheme: Scheme,
        realm: Option<&str>,
        after_rejection: bool,
    ) -> CredentialRequest {
        CredentialRequest {
            proxy: self.spec.clone(),
            scheme,
            realm: realm.map(str::to_owned),
            after_rejection,
        }
    }

    fn lock_active(&self) -> std::sync::MutexGuard<'_, Option<Answer>> {
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `out` through this proxy, answering its 407s, on `conn` (opened or replaced as
    /// needed). Returns the proxy's final answer that is not a 407 we can do something about.
    pub(super) async fn exchange(
        self: &Arc<Self>,
        inner: &Inner,
        conn: &mut Option<Conn>,
        mut out: Outgoing,
    ) -> Result<Response<Incoming>, Failure> {
        let mut ex = Exchange {
            target: out.uri.to_string(),
            header: None,
            answer: None,
            from_active: false,
            opened: false,
            offered: Vec::new(),
            unusable: Vec::new(),
            stale_retried: false,
            id: NEXT_EXCHANGE.fetch_add(1, Ordering::Relaxed),
        };
        let mut rng = OsEntropy;
        let recalled_now = self.recall(inner, ex.id).await;
        // A spare connection with its handshake started ahead: this request finishes it.
        let primed = self.resume_primed(inner, conn, &self.target(&out, &ex.target), ex.id).await;
        let resumed = primed.is_some();
        if let Some((header, answer)) = primed {
            ex.header = Some(header);
            ex.answer = Some(answer);
        }
        let connection_authenticated =
            resumed || conn.as_ref().is_some_and(|c| c.usable() && c.authenticated.is_some());
        // Pre-emptive: a scheme that already worked on this proxy answers before being asked.
        if !connection_authenticated {
            if let Some(active) = self.lock_active().as_mut() {
                if let (Some(store), Some(memory)) = (&self.memory, active.auth.memory()) {
                    if let Some(n) = store.reserve_nc(&self.spec, &memory) {
                        active.auth.resume_count(n);
                    }
                }
                let target = self.target(&out, &ex.target);
                // A remembered credential not yet judged in this run goes out once: with the
                // request that restored it. Others wait for the verdict (through the broker).
                let judged = active.issued.as_ref().is_some_and(|i| self.creds.was_accepted(i));
                if let (true, Some(issued), Some(Ok(v))) = (
                    judged || recalled_now,
                    &active.issued,
                    active.auth.preemptive(
                        &active.issued.as_ref().map_or_else(none_creds, |i| i.creds.clone()),
                        &target,
                        &mut rng,
                    ),
                ) {
                    ex.header = Some(v);
                    ex.from_active = true;
                    inner.info(format_args!(
                        "sending {} credentials for user {:?} that worked earlier in this run",
                        active.auth.scheme(),
                        issued.creds.user
                    ));
                }
            }
        }
        if !connection_authenticated && ex.header.is_none() {
            self.open_handshake(inner, &mut ex, &out).await;
        }
        let mut legs = 0u32;
        let mut retried_closed = false;
        loop {
            legs += 1;
            if legs > MAX_LEGS {
                let why = format!("the proxy still asked for authentication after {MAX_LEGS} exchanges");
                return Err(self.fail(&ex, FailureKind::ProxyError(why), None));
            }
            let reused = conn.as_ref().is_some_and(Conn::usable);
            if !reused {
                *conn = Some(self.connect(inner).await.map_err(|mut f| {
                    f.target = ex.target.clone();
                    f
                })?);
            }
            let c = conn.as_mut().expect("connected above");
            if c.send.ready().await.is_err() {
                *conn = None;
                continue;
            }
            // A handshake leg that cannot complete (NTLM type 1) goes without the body: the
            // proxy answers it with a 407 in any case.
            let body_less = ex.answer.as_ref().is_some_and(|a| !a.auth.final_leg());
            let (req, gate) = build_request(&mut out, ex.header.as_ref(), body_less)
                .map_err(|why| self.fail(&ex, FailureKind::ProxyError(why), None))?;
            self.trace_request(inner, &req, ex.header.is_some());
            let sent_scheme = ex.header.as_ref().and(
                ex.answer
                    .as_ref()
                    .map(|a| a.auth.scheme())
                    .or_else(|| self.lock_active().as_ref().map(|a| a.auth.scheme())),
            );
            let request_line = format!("{} {}", req.method(), req.uri());
            let started = std::time::Instant::now();
            let resp = match c.send.try_send_request(req).await {
                Ok(r) => r,
                Err(mut e) => {
                    *conn = None;
                    if let Some(b) = gate.as_ref().and_then(|g| g.take_back()) {
                        out.body = RequestBody::Stream(Some(b));
                    }
                    // hyper hands the request back only if none of it was written: then the
                    // proxy cannot have read it.
                    let unsent = e.take_message().is_some();
                    // A kept-alive connection may have been closed by the proxy just as we sent
                    // (RFC 7230 §6.3.1): retry once on a fresh one. A fresh connection that dies
                    // is the proxy's doing. A credential the proxy may have read is never sent
                    // again (a proxy that counts it and then drops the connection would count
                    // it twice against the account), unless it was accepted earlier in this
                    // run. A connection-bound handshake cannot move connections.
                    let mid_handshake = ex.answer.as_ref().is_some_and(|a| a.auth.connection_bound());
                    let resendable = unsent || ex.header.is_none() || self.header_accepted(&ex);
                    if reused
                        && !retried_closed
                        && !mid_handshake
                        && resendable
                        && !out.body.is_streamed_and_gone()
                    {
                        retried_closed = true;
                        legs -= 1;
                        continue;
                    }
                    let e = e.into_error();
                    let mut why = if e.is_parse() || e.is_parse_too_large() {
                        format!("the proxy's answer is not valid HTTP or is too large: {e}")
                    } else if ex.header.is_some() {
                        format!("the proxy closed the connection after receiving the credentials: {e}")
                    } else {
                        format!("the proxy closed the connection: {e}")
                    };
                    if ex.header.is_some() && !resendable {
                        why.push_str("; the credentials were not sent again");
                    }
                    return Err(self.fail(&ex, FailureKind::ProxyError(why), None));
                }
            };
            inner.trace_response(&resp);
            inner.reporter.leg(&Leg {
                proxy: self.spec.display_url(),
                request: request_line,
                sent: sent_scheme,
                status: resp.status().as_u16(),
                reason: resp.status().canonical_reason().unwrap_or("").to_string(),
                challenges: resp
                    .headers()
                    .get_all(PROXY_AUTHENTICATE)
                    .iter()
                    .map(|v| auth::challenge::header_text(v.as_bytes()))
                    .collect(),
                elapsed: started.elapsed(),
            });
            if resp.status() != StatusCode::PROXY_AUTHENTICATION_REQUIRED {
                if let Some(g) = &gate {
                    g.open();
                }
                self.succeeded(conn, ex.answer.take(), ex.from_active);
                return Ok(resp);
            }

            // 407. To a forwarded request it may be the origin's, relayed by an open proxy that
            // would also relay our Proxy-Authorization to that origin: answer it only when
            // the proxy itself is known to ask for credentials.
            if out.method == Method::CONNECT {
                self.demands_auth.store(true, Ordering::Relaxed);
            } else if ex.header.is_none() && !self.proxy_demands_auth(inner, &out).await {
                inner.info(format_args!(
                    "the 407 for {} is the origin's, not the proxy's (the proxy does not ask for \
                     credentials): passed on unanswered; proxy credentials go to the proxy only",
                    ex.target
                ));
                if let Some(g) = &gate {
                    g.open();
                }
                return Ok(resp);
            }

            // 407: what does the proxy want now?
            let challenges = auth::challenge::parse_challenge_headers(
                resp.headers().get_all(PROXY_AUTHENTICATE).iter().map(|v| v.as_bytes()),
            );
            ex.offered = challenges.iter().map(describe_challenge).collect();
            let keep_alive = resp
                .headers()
                .get(http::header::CONNECTION)
                .and_then(|v| v.to_str().ok())
                .is_none_or(|v| !v.eq_ignore_ascii_case("close"));
            if let Some(g) = gate {
                // The withheld body comes back for the next attempt; the connection expected
                // it, so it cannot carry another request.
                *conn = None;
                match g.take_back() {
                    Some(b) => out.body = RequestBody::Stream(Some(b)),
                    None => {
                        let why = "the proxy asked for authentication after the upload had started; it cannot be sent twice";
                        return Err(self.fail(&ex, FailureKind::ProxyError(why.into()), None));
                    }
                }
            } else if !keep_alive || drain(resp).await.is_err() {
                *conn = None;
            }
            if let Some(c) = conn.as_mut() {
                c.authenticated = None;
            }

            // Did the proxy refuse what we just sent, or is this the next step?
            let previous =
                ex.answer.take().or_else(|| if ex.from_active { self.lock_active().take() } else { None });
            let was_active = std::mem::replace(&mut ex.from_active, false);
            let opened = std::mem::replace(&mut ex.opened, false);
            let mut after_rejection = false;
            if let Some(mut a) = previous {
                let scheme = a.auth.scheme();
                let mine = challenges.iter().find(|c| c.scheme == Some(scheme));
                if opened && mine.is_none_or(|c| c.token68.is_none()) {
                    // The handshake we opened unasked did not start: the proxy no longer offers
                    // the scheme, or wants to start it itself. Nothing secret was sent (NTLM's
                    // type 1 carries no credential): not a rejection, only a stale assumption.
                    inner.info(format_args!(
                        "the proxy did not take the opening {scheme} message; choosing again"
                    ));
                    *self.lock_opener() = None;
                    if mine.is_none() {
                        self.forget();
                    }
                    // Ends this exchange's trial of the credential (see the broker).
                    drop(a);
                    let a = self.answer_challenge(inner, &mut ex, &challenges, &out, false).await?;
                    ex.answer = Some(a);
                    continue;
                }
                if was_active && mine.is_none() {
                    // A scheme remembered or reused from earlier that the proxy no longer
                    // offers: the credential was not judged, only the scheme is stale.
                    inner.info(format_args!("the proxy no longer offers {scheme}; choosing again"));
                    self.forget();
                    // Ends this exchange's trial of the credential, so the broker hands it
                    // straight back for the new scheme instead of waiting for a verdict.
                    drop(a);
                    let a = self.answer_challenge(inner, &mut ex, &challenges, &out, false).await?;
                    ex.answer = Some(a);
                    continue;
                }
                if was_active {
                    self.forget();
                }
                match a.auth.verdict(mine) {
                    Verdict::Continue if a.auth.connection_bound() && conn.is_none() => {
                        let why = format!(
                            "the proxy closed the connection in the middle of the {scheme} handshake"
                        );
                        return Err(self.fail(&ex, FailureKind::ProxyError(why), Some(407)));
                    }
                    Verdict::Continue if !a.auth.connection_bound() && ex.stale_retried => {
                        // Digest `stale=true` again right after the retry with the fresh nonce:
                        // the credential is not the problem, but answering forever is pointless.
                        let why = format!(
                            "the proxy answered {scheme} with stale=true again after a retry with its new nonce"
                        );
                        return Err(self.fail(&ex, FailureKind::ProxyError(why), Some(407)));
                    }
                    Verdict::Continue => {
                        ex.stale_retried |= !a.auth.connection_bound();
                        let ch = mine.expect("a continuation carries a challenge");
                        inner.info(format_args!("{scheme}: next leg of the handshake (same credentials)"));
                        let creds = a.issued.as_ref().map_or_else(none_creds, |i| i.creds.clone());
                        let target = self.target(&out, &ex.target);
                        let v = respond(a.auth.as_mut(), ch, &creds, &target, &mut rng);
                        ex.header = Some(v.map_err(|e| {
                            self.fail(&ex, FailureKind::ProxyError(e.to_string()), Some(407))
                        })?);
                        if was_active {
                            *self.lock_active() = Some(a);
                            ex.from_active = true;
                        } else {
                            ex.answer = Some(a);
                        }
                        continue;
                    }
                    Verdict::Rejected => match &a.issued {
                        // Refused before the step that carries the password (NTLM type 1):
                        // the scheme is out, the credential was never judged.
                        _ if !a.auth.final_leg() => {
                            inner.info(format_args!(
                                "the proxy refused to start {scheme}; trying the next offered scheme"
                            ));
                            ex.unusable.push(format!(
                                "{scheme}: refused by the proxy before any credential was sent"
                            ));
                            self.drop_scheme(scheme);
                        }
                        Some(issued) if self.creds.was_accepted(issued) => {
                            // Squid answers "this user may not go there" with a 407 identical
                            // to a wrong password; the credential itself worked before.
                            let user = issued.creds.user.clone();
                            return Err(self.fail(
                                &ex,
                                FailureKind::RestrictedDestination { user },
                                Some(407),
                            ));
                        }
                        Some(issued) => {
                            inner.info(format_args!(
                                "the proxy rejected the {scheme} credentials for user {:?} from {}; they will not be sent again",
                                issued.creds.user, issued.source
                            ));
                            self.creds
                                .reject(&self.credential_request(scheme, a.realm.as_deref(), true), issued);
                            after_rejection = true;
                        }
                        None => {
                            inner.info(format_args!(
                                "the proxy rejected {scheme}; trying the next offered scheme"
                            ));
                            ex.unusable.push(format!("{scheme}: rejected by the proxy"));
                            self.drop_scheme(scheme);
                        }
                    },
                }
            }
            let a = self.answer_challenge(inner, &mut ex, &challenges, &out, after_rejection).await?;
            ex.answer = Some(a);
        }
    }

    /// Picks the strongest usable scheme among `challenges`, gets what it needs, and sets the
    /// header for the next leg. A scheme that cannot work here (no GSSAPI library, no ticket)
    /// is dropped for the rest of the run and the next one is tried, without another request.
    async fn answer_challenge(
        self: &Arc<Self>,
        inner: &Inner,
        ex: &mut Exchange,
        challenges: &[Challenge],
        out: &Outgoing,
        after_rejection: bool,
    ) -> Result<Answer, Failure> {
        let mut rng = OsEntropy;
        loop {
            let allowed = self.usable_schemes();
            let Some(chosen) = auth::choose(challenges, allowed) else {
                let kind = if challenges.is_empty() {
                    FailureKind::NoChallenge
                } else {
                    FailureKind::NoUsableScheme { unusable: ex.unusable.clone() }
                };
                return Err(self.fail(ex, kind, Some(407)));
            };
            let scheme = chosen.scheme.expect("choose returns known schemes");
            if inner.reporter.verbose() {
                let offered =
                    challenges.iter().map(|c| c.scheme_name.as_str()).collect::<Vec<_>>().join(", ");
                inner.info(format_args!(
                    "proxy offers {offered}; using {scheme}, the strongest toll can answer"
                ));
            }
            let Some(mut a) = auth::authenticator(scheme) else {
                self.drop_scheme(scheme);
                continue;
            };
            let issued = if a.needs_credentials() {
                let req = self.credential_request(scheme, chosen.realm(), after_rejection);
                let this = self.clone();
                let id = ex.id;
                let got =
                    tokio::task::spawn_blocking(move || this.creds.get_as(&req, id)).await.map_err(|e| {
                        self.fail(
                            ex,
                            FailureKind::ProxyError(format!("credential lookup failed: {e}")),
                            Some(407),
                        )
                    })?;
                match got {
                    Ok(i) => {
                        inner.info(format_args!("credentials for user {:?} from {}", i.creds.user, i.source));
                        Some(i)
                    }
                    Err(gone) => {
                        let kind = if gone.rejected.is_empty() {
                            FailureKind::NoCredentials { incomplete: gone.incomplete }
                        } else {
                            FailureKind::Rejected { sources: gone.rejected }
                        };
                        return Err(self.fail(ex, kind, Some(407)));
                    }
                }
            } else {
                None
            };
            let creds = issued.as_ref().map_or_else(none_creds, |i| i.creds.clone());
            let target = self.target(out, &ex.target);
            match respond(a.as_mut(), chosen, &creds, &target, &mut rng) {
                Ok(v) => {
                    ex.header = Some(v);
                    return Ok(Answer { auth: a, issued, realm: chosen.realm().map(str::to_owned) });
                }
                Err(e) => {
                    inner.info(format_args!("{e}; trying the next offered scheme"));
                    ex.unusable.push(format!("{scheme}: {e}"));
                    self.drop_scheme(scheme);
                }
            }
        }
    }

    /// Whether this proxy itself asks for credentials, before a 407 to a forwarded request is
    /// answered with them. Known from this run (a 407 to a CONNECT — only the proxy answers a
    /// CONNECT —, or a credential it accepted) or an earlier one (remembered auth); otherwise
    /// a probe: `CONNECT host:443` without credentials on a fresh connection. A proxy that
    /// opens that tunnel, or tries to and fails (a 5xx: the origin does not listen on 443),
    /// let it through without asking, so it does not demand authentication: then the 407 came
    /// from the origin, relayed by an open proxy, and is not answered. Any other answer (407;
    /// a 403 or 400 from a proxy whose CONNECT policy is checked before authentication, as in
    /// many Squid configurations; no answer) leaves the proxy's own 407 the likely one, and it
    /// is answered: refusing there would break authentication on such proxies, while the leak
    /// needs an open, header-passing proxy that also refuses CONNECT by policy. The probe is
    /// made even when the proxy let an unauthenticated request through earlier in this run,
    /// since proxies commonly exempt some destinations from authentication.
    async fn proxy_demands_auth(&self, inner: &Inner, out: &Outgoing) -> bool {
        if self.demands_auth.load(Ordering::Relaxed) {
            return true;
        }
        let host = out.uri.host().unwrap_or(&self.spec.host);
        let host =
            if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_string() };
        let authority = format!("{host}:443");
        inner.info(format_args!(
            "a 407 to a forwarded request: asking the proxy whether it demands authentication itself (CONNECT {authority} without credentials)"
        ));
        let probe = async {
            let mut c = self.connect(inner).await.ok()?;
            let mut req = Request::new(body::empty());
            *req.method_mut() = Method::CONNECT;
            *req.uri_mut() = http::Uri::try_from(authority.as_str()).ok()?;
            req.headers_mut().insert(http::header::HOST, HeaderValue::from_str(&authority).ok()?);
            c.send.ready().await.ok()?;
            let resp = c.send.send_request(req).await.ok()?;
            inner.info(format_args!("the proxy answered the probe with {}", resp.status().as_u16()));
            Some(resp.status())
            // The probe's connection (and a tunnel, if one was opened) is dropped here.
        };
        let answer = tokio::time::timeout(PROBE_WAIT, probe).await.ok().flatten();
        // A tunnel (2xx) or a failure to reach host:443 (5xx) means the proxy let the CONNECT
        // through its access checks without credentials: it does not demand them.
        let demands = !answer.is_some_and(|s| s.is_success() || s.is_server_error());
        if demands {
            self.demands_auth.store(true, Ordering::Relaxed);
        }
        demands
    }

    /// The proxy let a request through: remember what worked.
    /// `preemptive`: the request carried the proxy-wide [`Upstream::active`] answer (sent
    /// before being asked, perhaps remembered from an earlier run). It worked, so it counts as
    /// accepted in this run just like an answer to a challenge.
    fn succeeded(&self, conn: &mut Option<Conn>, answer: Option<Answer>, preemptive: bool) {
        // A pre-emptive Basic answer already accepted in this run stays in place: taking it out
        // (and writing the state file) on every success left a gap in which `toll serve`'s
        // concurrent requests went out without credentials and drew 407s (bench/SERVE.md).
        // Digest keeps the full path: its nonce count is recorded for later runs.
        if answer.is_none() && preemptive {
            let active = self.lock_active();
            if let Some(a) = active.as_ref() {
                if a.auth.scheme() == Scheme::Basic
                    && a.auth.final_leg()
                    && a.issued.as_ref().is_some_and(|i| self.creds.was_accepted(i))
                {
                    return;
                }
            }
        }
        let answer = answer.or_else(|| if preemptive { self.lock_active().take() } else { None });
        let Some(a) = answer else { return };
        if !a.auth.final_leg() {
            // Let through on an opening message (NTLM type 1) that carries no credential: the
            // proxy did not need one here, and nothing was proven.
            return;
        }
        self.demands_auth.store(true, Ordering::Relaxed);
        if let Some(issued) = &a.issued {
            self.creds.accept(&self.credential_request(a.auth.scheme(), a.realm.as_deref(), false), issued);
        }
        if let (Some(store), Some(memory), Some(issued)) = (&self.memory, a.auth.memory(), &a.issued) {
            store.remember(
                &self.spec,
                Entry { user: issued.creds.user.clone(), realm: a.realm.clone(), memory },
            );
        }
        if a.auth.connection_bound() {
            if let Some(c) = conn.as_mut() {
                c.authenticated = Some(a.auth.scheme());
            }
            // The next connection in this run opens the handshake itself.
            *self.lock_opener() = Some(Opener { scheme: a.auth.scheme() });
            return;
        }
        *self.lock_active() = Some(a);
    }

    /// Before the first request to this proxy in this run: restore a scheme that worked in an
    /// earlier run, so this request already carries `Proxy-Authorization`.
    /// Returns true for the one call that restored an answer.
    async fn recall(self: &Arc<Self>, inner: &Inner, id: u64) -> bool {
        let Some(store) = &self.memory else { return false };
        let mut done = self.recalled.lock().await;
        if std::mem::replace(&mut *done, true) || self.lock_active().is_some() {
            return false;
        }
        let Some(entry) = store.recall(&self.spec) else { return false };
        let scheme = entry.memory.scheme();
        if !self.usable_schemes().contains(scheme) {
            return false;
        }
        if entry.memory.connection_bound() {
            // Only the scheme is remembered; the credential is fetched when the first
            // connection opens its handshake.
            inner.info(format_args!(
                "this proxy accepted {scheme} for user {:?} before: opening with {scheme}'s first message",
                entry.user
            ));
            let mut opener = self.lock_opener();
            if opener.is_none() {
                *opener = Some(Opener { scheme });
            }
            return false;
        }
        let Some(auth) = entry.memory.restore() else { return false };
        let req = self.credential_request(scheme, entry.realm.as_deref(), false);
        let this = self.clone();
        let Ok(Ok(issued)) = tokio::task::spawn_blocking(move || this.creds.get_as(&req, id)).await else {
            return false;
        };
        inner.info(format_args!(
            "this proxy accepted {scheme} for user {:?} before: answering before it asks",
            entry.user
        ));
        self.demands_auth.store(true, Ordering::Relaxed);
        *self.lock_active() = Some(Answer { auth, issued: Some(issued), realm: entry.realm });
        true
    }

    /// The header of the current leg carries a credential this proxy already accepted in this
    /// run (so sending it once more cannot count as another failed attempt).
    fn header_accepted(&self, ex: &Exchange) -> bool {
        let accepted = |a: &Answer| a.issued.as_ref().is_some_and(|i| self.creds.was_accepted(i));
        if ex.from_active {
            self.lock_active().as_ref().is_some_and(accepted)
        } else {
            ex.answer.as_ref().is_some_and(accepted)
        }
    }

    pub(super) fn lock_opener(&self) -> std::sync::MutexGuard<'_, Option<Opener>> {
        self.opener.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// On a connection not yet authenticated, with a connection-bound scheme known to be
    /// wanted ([`Opener`]): the first leg already carries the handshake's first message. When
    /// anything is missing (no credential, no ticket) the exchange just goes without, as before.
    async fn open_handshake(self: &Arc<Self>, inner: &Inner, ex: &mut Exchange, out: &Outgoing) {
        let Some(Opener { scheme }) = *self.lock_opener() else { return };
        if !self.usable_schemes().contains(scheme) {
            return;
        }
        let Some(mut auth) = auth::authenticator(scheme) else { return };
        let issued = if auth.needs_credentials() {
            let req = self.credential_request(scheme, None, false);
            let this = self.clone();
            let id = ex.id;
            let Ok(Ok(i)) = tokio::task::spawn_blocking(move || this.creds.get_as(&req, id)).await else {
                return;
            };
            Some(i)
        } else {
            None
        };
        let bare = auth::parse_challenges([scheme.name()]);
        let Some(start) = bare.first() else { return };
        let creds = issued.as_ref().map_or_else(none_creds, |i| i.creds.clone());
        let target = self.target(out, &ex.target);
        if let Ok(v) = respond(auth.as_mut(), start, &creds, &target, &mut OsEntropy) {
            inner.info(format_args!("opening {scheme} on this connection without waiting for a challenge"));
            ex.header = Some(v);
            ex.answer = Some(Answer { auth, issued, realm: None });
            ex.opened = true;
        }
    }

    fn forget(&self) {
        if let Some(store) = &self.memory {
            store.forget(&self.spec);
        }
    }

    pub(super) fn usable_schemes(&self) -> SchemeSet {
        *self.usable.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn drop_scheme(&self, scheme: Scheme) {
        let mut s = self.usable.lock().unwrap_or_else(|e| e.into_inner());
        *s = s.without(scheme);
    }

    pub(super) fn target<'a>(&'a self, out: &'a Outgoing, uri: &'a str) -> RequestTarget<'a> {
        RequestTarget {
            method: out.method.as_str(),
            uri,
            body: out.body.known_bytes(),
            proxy_host: &self.spec.host,
        }
    }

    fn fail(&self, ex: &Exchange, kind: FailureKind, status: Option<u16>) -> Failure {
        let mut f = self.failure(kind);
        f.target = ex.target.clone();
        f.offered = ex.offered.clone();
        f.status = status.map(|s| {
            let code = StatusCode::from_u16(s).unwrap_or(StatusCode::BAD_GATEWAY);
            (s, code.canonical_reason().unwrap_or("").to_string())
        });
        f
    }

    fn trace_request(&self, inner: &Inner, req: &Request<RelayBody>, with_auth: bool) {
        if !inner.reporter.verbose() {
            return;
        }
        inner.reporter.line(Direction::Sent, &format!("{} {} HTTP/1.1", req.method(), req.uri()));
        if with_auth {
            let scheme = req
                .headers()
                .get(PROXY_AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split_whitespace().next())
                .unwrap_or("");
            inner.reporter.line(Direction::Sent, &format!("Proxy-Authorization: {scheme} <redacted>"));
        }
        if req.headers().contains_key(http::header::EXPECT) {
            inner
                .reporter
                .line(Direction::Sent, "Expect: 100-continue (the body waits for the proxy's answer)");
        }
    }
}

impl RequestBody {
    fn is_streamed_and_gone(&self) -> bool {
        matches!(self, RequestBody::Stream(None))
    }
}

/// `respond`, moved off the async workers for schemes that use what the system holds: GSSAPI
/// may resolve names and talk to a KDC, which can block for seconds.
pub(super) fn respond(
    auth: &mut dyn Authenticator,
    challenge: &Challenge,
    creds: &Credentials,
    target: &RequestTarget<'_>,
    rng: &mut dyn auth::Entropy,
) -> Result<Secret, auth::AuthError> {
    if auth.needs_credentials() {
        auth.respond(challenge, creds, target, rng)
    } else {
        tokio::task::block_in_place(|| auth.respond(challenge, creds, target, rng))
    }
}

fn timed_out(what: &str, t: std::time::Duration) -> String {
    format!("{what} to the proxy did not complete within --connect-timeout ({t:.1?})")
}

/// Schemes that need no credential still take a `Credentials` argument.
pub(super) fn none_creds() -> Credentials {
    Credentials::new("", "")
}

/// The request for one leg. A streamed body always goes behind a gate: even a credential that
/// worked can meet a 407 (Digest `stale=true`), and then the body must still be whole.
/// With `body_less`, the leg carries no body at all (`Content-Length: 0`).
fn build_request(
    out: &mut Outgoing,
    auth: Option<&Secret>,
    body_less: bool,
) -> Result<(Request<RelayBody>, Option<Arc<Gate>>), String> {
    let mut gate = None;
    let body = match &mut out.body {
        _ if body_less => body::empty(),
        RequestBody::Empty => body::empty(),
        RequestBody::Buffered(b) => body::full(b.clone()),
        RequestBody::Stream(s) => {
            let partial = s.take().ok_or("the request body was already sent and cannot be repeated")?;
            let (g, gated) = Gate::new(partial);
            gate = Some(g);
            gated.boxed()
        }
    };
    let mut req = Request::new(body);
    *req.method_mut() = out.method.clone();
    *req.uri_mut() = out.uri.clone();
    *req.headers_mut() = out.headers.clone();
    if body_less && !matches!(out.body, RequestBody::Empty) {
        req.headers_mut().insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    }
    if let Some(v) = auth {
        let mut hv =
            HeaderValue::from_str(v.expose()).map_err(|_| "the credentials cannot be put in a header")?;
        hv.set_sensitive(true);
        req.headers_mut().insert(PROXY_AUTHORIZATION, hv);
    }
    if let Some(g) = &gate {
        req.headers_mut().insert(http::header::EXPECT, HeaderValue::from_static("100-continue"));
        let g = g.clone();
        hyper::ext::on_informational(&mut req, move |res| {
            if res.status() == StatusCode::CONTINUE {
                g.open();
            }
        });
    }
    Ok((req, gate))
}

/// Reads a 407's body to its end so the connection can carry the next leg (RFC 7230 §6.3).
pub(super) async fn drain(resp: Response<Incoming>) -> Result<(), ()> {
    let limited = http_body_util::Limited::new(resp.into_body(), DRAIN_LIMIT);
    limited.collect().await.map(|_| ()).map_err(|_| ())
}
