//! The relay's side of the conversation with the real proxy: the authentication exchange of
//! RFC 7235 §3.2/§4.3/§4.4 on one request — send, read the 407's challenges, pick a scheme, get a
//! credential, answer, repeat on the same connection while the proxy keeps it alive.
//!
//! Lockout safety lives here and in `creds`: a credential the proxy refused is reported to the
//! broker at once and never sent again; the exchange has a hard cap on its legs.
//!
//! Around the exchange, one file per concern:
//! - `choose`: which scheme answers a 407 (the strongest usable one), and those that failed here;
//! - `connect`: opening a connection to the proxy (TCP, TLS, HTTP/1.1);
//! - `probe`: whether a 407 to a forwarded request is the proxy's own;
//! - `learn`: what worked — kept for later requests, remembered for later runs, recalled;
//! - `sessions`: the pre-emptive answers shared by all requests to one proxy (Basic's header,
//!   the pool of Digest sessions that each carry one request at a time).

mod choose;
mod connect;
mod learn;
mod probe;
mod sessions;

pub(super) use learn::Opener;
pub(super) use sessions::Active;

use super::body::{self, Gate, RelayBody, RequestBody};
use super::{Failure, FailureKind, Inner, Unreached, Upstream};
use crate::auth::{self, Authenticator, Challenge, OsEntropy, RequestTarget, Scheme, Verdict};
use crate::creds::{CredentialRequest, Issued};
use crate::report::{describe_challenge, Direction, Leg};
use crate::secret::{Credentials, Secret};
use http::header::{HeaderValue, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A request/response exchange never takes more legs than this (NTLM needs 3; Digest with a
/// stale nonce 3): a proxy that keeps asking is not answered forever.
const MAX_LEGS: u32 = 6;

/// How long a request waits for the verdict on a credential another is trying before it goes
/// without (see `exchange`).
const PREEMPTIVE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// 407 bodies larger than this are not drained: the connection is dropped instead.
const DRAIN_LIMIT: usize = 256 * 1024;

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
    /// How the connection's driver ended (`None` while it runs; an error's text: a TLS alert
    /// from an `https://` proxy that wants a client certificate arrives only after the
    /// handshake, TLS 1.3).
    pub(super) ended: connect::Ended,
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

/// What one request looks like to the exchange.
pub(super) struct Outgoing {
    pub method: Method,
    /// The request-target as sent: `host:port` for CONNECT, the absolute URI otherwise.
    pub uri: http::Uri,
    pub headers: http::HeaderMap,
    /// The client's request extensions, for the case of its field names: `toll serve` reads
    /// them with hyper's `preserve_header_case` and each leg writes them as the client did
    /// (as Squid passes them); the fields toll adds go in Title-Case.
    pub extensions: http::Extensions,
    pub body: RequestBody,
}

/// The state of one exchange between legs.
struct Exchange {
    target: String,
    /// A CONNECT (only the proxy answers one: its 407 and its 200 are the proxy's own).
    connect: bool,
    /// The value to send on the next leg.
    header: Option<Secret>,
    /// What produced `header`, when it answered a challenge of this exchange.
    answer: Option<Answer>,
    /// `header` was sent before being asked: the shared Basic answer, or a Digest session from
    /// the pool (then in `answer`).
    from_active: bool,
    /// `header` opens a connection-bound handshake unasked ([`Opener`]).
    opened: bool,
    offered: Vec<String>,
    /// Why schemes the proxy offered could not be used here (for the message).
    unusable: Vec<String>,
    /// A Digest `stale=true` was already answered in this exchange (the next one draws a fresh
    /// nonce instead: `learn::restart_stale`).
    stale_retried: bool,
    /// Who this exchange is to the credential broker: a credential on trial by this exchange
    /// is handed back to it at once (only other exchanges wait for the verdict).
    id: u64,
    /// The Digest session key (nonce) this exchange is counting on, busy for the others.
    held: sessions::Held,
}

/// What the relay knows of whether a proxy itself demands authentication (see
/// `Upstream::proxy_demands_auth`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(super) enum Demand {
    /// Not asked yet.
    Unknown = 0,
    /// The probe was inconclusive (a CONNECT refused by policy, no answer): 407s to forwarded
    /// requests are answered, one by one, but what such a 407 led to proves nothing about the
    /// proxy (an open proxy passes the origin's 407 and the origin's acceptance on alike), so
    /// the credential is neither kept for later requests nor remembered for later runs.
    Assumed = 1,
    /// The proxy asked itself (a 407 to a CONNECT, the probe's included), or accepted a
    /// credential on a CONNECT, or an earlier run's record says so.
    Known = 2,
}

impl Upstream {
    pub(super) fn demand(&self) -> Demand {
        match self.demands_auth.load(Ordering::Relaxed) {
            0 => Demand::Unknown,
            1 => Demand::Assumed,
            _ => Demand::Known,
        }
    }

    /// Records what was learnt; never downgrades (Known stays Known).
    pub(super) fn set_demand(&self, d: Demand) {
        self.demands_auth.fetch_max(d as u8, Ordering::Relaxed);
    }
}

/// What a proxy's access rules name of a request target (an absolute URL, or a CONNECT's
/// `host:port`): its authority, lower case.
pub(super) fn authority(target: &str) -> String {
    let uri = target.parse::<http::Uri>().ok();
    let found = uri.as_ref().and_then(|u| u.authority()).map_or(target, |a| a.as_str());
    found.to_ascii_lowercase()
}

/// Exchange ids for the broker, unique in the process (0 is "anonymous").
static NEXT_EXCHANGE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Upstream {
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
            connect: out.method == Method::CONNECT,
            header: None,
            answer: None,
            from_active: false,
            opened: false,
            offered: Vec::new(),
            unusable: Vec::new(),
            stale_retried: false,
            id: NEXT_EXCHANGE.fetch_add(1, Ordering::Relaxed),
            held: self.active.held(),
        };
        let mut rng = OsEntropy;
        let recalled = self.recall(inner, ex.id).await;
        let recalled_now = recalled.is_some();
        // A Digest session for this request alone (see `sessions`).
        let mut own = None;
        if let Some(a) = recalled {
            if a.auth.sequenced() {
                self.active.hold(&mut ex.held, &a);
                self.active.set_in_file(a.auth.session_key());
                own = Some(a);
            } else {
                self.active.set_shared(a);
            }
        }
        // A spare connection with its handshake started ahead: this request finishes it.
        let primed = self.resume_primed(inner, conn, &self.target(&out, &ex.target), ex.id).await;
        let resumed = primed.is_some();
        if let Some((header, answer)) = primed {
            ex.header = Some(header);
            ex.answer = Some(answer);
        }
        let connection_authenticated =
            resumed || conn.as_ref().is_some_and(|c| c.usable() && c.authenticated.is_some());
        // Another request is trying a credential the proxy has not judged yet (a remembered
        // one, or the first answer of this run: `toll -Z`, clients of `toll serve` at start-up):
        // its verdict usually comes in one round trip; this request waits for it, at most
        // PREEMPTIVE_WAIT, and then goes pre-emptively, rather than bare to collect a 407 of its
        // own. Not longer: the verdict on a forwarded request comes with its origin's answer,
        // which may be slow, and this request may go where the proxy asks for nothing.
        if !connection_authenticated && !recalled_now && own.is_none() {
            self.await_verdict(ex.id, PREEMPTIVE_WAIT).await;
        }
        // Pre-emptive: a scheme that already worked on this proxy answers before being asked.
        // Digest with a session of this request's own; Basic with the one shared header.
        if !connection_authenticated {
            let own = own.or_else(|| self.active.checkout(&mut ex.held, |a| self.answer_accepted(a)));
            if let Some(a) = own {
                self.use_session(inner, &mut ex, a, &out, &mut rng);
            } else {
                let target = self.target(&out, &ex.target);
                let header = self.active.with_shared(|active| {
                    // A remembered credential not yet judged in this run goes out once: with the
                    // request that restored it. Others wait for the verdict (through the broker).
                    let judged = self.answer_accepted(active);
                    let issued = active.issued.as_ref().filter(|_| judged || recalled_now)?;
                    let creds = issued.creds.clone();
                    let v = active.auth.preemptive(&creds, &target, &mut rng)?.ok()?;
                    Some((v, active.auth.scheme(), creds.user))
                });
                if let Some(Some((v, scheme, user))) = header {
                    ex.header = Some(v);
                    ex.from_active = true;
                    inner.info(format_args!(
                        "sending {scheme} credentials for user {user:?} that worked earlier in this run"
                    ));
                }
            }
        } else if let Some(a) = own {
            self.active.checkin(&mut ex.held, a);
        }
        if !connection_authenticated && ex.header.is_none() {
            self.open_handshake(inner, &mut ex, &out).await;
        }
        let mut legs = 0u32;
        let mut retried_closed = false;
        let mut closed_fresh = 0u32;
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
                inner.count_opened();
            }
            let c = conn.as_mut().expect("connected above");
            if c.send.ready().await.is_err() {
                let ended = c.ended.clone();
                *conn = None;
                if !reused {
                    let ended = connect::ended_with(ended).await;
                    // A new connection the proxy ended before a request. With an error (a TLS
                    // alert: a client certificate it wants, a TLS policy) another would meet the
                    // same: say it now. A bare close gets one more connection (a proxy may shed
                    // a connection under load), then is said too.
                    closed_fresh += 1;
                    if ended.is_none() && closed_fresh < 2 {
                        continue;
                    }
                    let why = ended.unwrap_or_else(|| "it closed two new connections at once".into());
                    let step = if self.tls.is_some() { Unreached::Tls } else { Unreached::Other };
                    let mut f = self.failure(FailureKind::Unreachable(
                        format!("the proxy ended the connection: {why}"),
                        step,
                    ));
                    f.target = ex.target.clone();
                    return Err(f);
                }
                continue;
            }
            // A handshake leg that cannot complete (NTLM type 1) goes without the body: the
            // proxy answers it with a 407 in any case.
            let body_less = ex.answer.as_ref().is_some_and(|a| !a.auth.final_leg());
            // The shared Basic answer, which this proxy already accepted: a 407 to it now is a
            // verdict (`doubt`), never a request to send the body again, so the body goes at
            // once — without an `Expect` the client never asked for (`toll serve` passes other
            // programs' uploads on as they sent them). Its gate still opens at once, so a
            // request hyper hands back unsent keeps its body for the resend on a new
            // connection. Digest keeps the wait (a `stale=true` asks for the same request
            // again), and so do NTLM and Negotiate (a proxy may challenge an authenticated
            // connection again, and the new handshake carries the body).
            // A client that sent `Expect` itself waits for the origin's word: its gate stays.
            let expects = out
                .headers
                .get(http::header::EXPECT)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
            let proven = match (&ex.header, &ex.answer) {
                (Some(_), None) if ex.from_active && !expects => self
                    .active
                    .with_shared(|a| {
                        !a.auth.sequenced() && !a.auth.connection_bound() && self.answer_accepted(a)
                    })
                    .unwrap_or(false),
                _ => false,
            };
            let wait = (!proven).then(|| inner.expect_wait());
            let (mut req, gate) = build_request(&mut out, ex.header.as_ref(), body_less, wait)
                .map_err(|why| self.fail(&ex, FailureKind::ProxyError(why), None))?;
            self.connect_version(&mut req);
            self.trace_request(inner, &req, ex.header.is_some());
            let sent_scheme = ex.header.as_ref().and(
                ex.answer
                    .as_ref()
                    .map(|a| a.auth.scheme())
                    .or_else(|| self.active.with_shared(|a| a.auth.scheme())),
            );
            let request_line = format!("{} {}", req.method(), req.uri());
            let started = std::time::Instant::now();
            let ended = c.ended.clone();
            let resp = match c.send.try_send_request(req).await {
                Ok(r) => r,
                Err(mut e) => {
                    *conn = None;
                    // An https:// proxy that wants a client certificate ends a new connection
                    // with a TLS alert once the request is sent (TLS 1.3 checks it after the
                    // handshake): that is not reaching the proxy, whatever was sent.
                    if !reused && self.tls.is_some() {
                        if let Some(alert) =
                            connect::ended_with(ended).await.filter(|why| why.contains("alert"))
                        {
                            let why = format!("the proxy ended the connection: {alert}");
                            let mut f = self.failure(FailureKind::Unreachable(why, Unreached::Tls));
                            f.target = ex.target.clone();
                            return Err(f);
                        }
                    }
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
                // What carried it: the header sent (not an opening NTLM message the proxy let
                // through unjudged), or the handshake this connection already passed.
                let used = match (sent_scheme, &ex.answer) {
                    (Some(_), Some(a)) if !a.auth.final_leg() => None,
                    (Some(s), _) => Some(s),
                    (None, _) => conn.as_ref().and_then(|c| c.authenticated),
                };
                self.succeeded(conn, &mut ex, resp.headers());
                let mut resp = resp;
                resp.extensions_mut().insert(super::AuthUsed(used));
                return Ok(resp);
            }

            // 407. To a forwarded request it may be the origin's, relayed by an open proxy that
            // would also relay our Proxy-Authorization to that origin: answer it only when
            // the proxy itself is known to ask for credentials.
            if out.method == Method::CONNECT {
                self.set_demand(Demand::Known);
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
                    // The accepted Basic answer went with the body: the 407 is a verdict on it
                    // (below), which asks for no second attempt.
                    None if proven => {}
                    None => {
                        let why = "the proxy asked for authentication after the upload had started; it cannot be sent twice";
                        return Err(self.fail(&ex, FailureKind::ProxyError(why.into()), None));
                    }
                }
            } else if !keep_alive || drain(resp, self.drain_wait(&ex)).await.is_err() {
                *conn = None;
            }
            if let Some(c) = conn.as_mut() {
                c.authenticated = None;
            }

            // Did the proxy refuse what we just sent, or is this the next step?
            let previous =
                ex.answer.take().or_else(|| if ex.from_active { self.active.take_shared() } else { None });
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
                let verdict = a.auth.verdict(mine);
                if was_active && verdict == Verdict::Rejected {
                    self.forget();
                }
                match verdict {
                    Verdict::Continue if a.auth.connection_bound() && conn.is_none() => {
                        let why = format!(
                            "the proxy closed the connection in the middle of the {scheme} handshake"
                        );
                        return Err(self.fail(&ex, FailureKind::ProxyError(why), Some(407)));
                    }
                    Verdict::Continue if a.auth.sequenced() => {
                        // Digest `stale=true`: the nonce is retired, the credential not judged.
                        let ch = mine.expect("a continuation carries a challenge");
                        self.restart_stale(inner, &mut ex, a, ch, &out, was_active)
                            .map_err(|why| self.fail(&ex, FailureKind::ProxyError(why), Some(407)))?;
                        continue;
                    }
                    Verdict::Continue => {
                        let ch = mine.expect("a continuation carries a challenge");
                        inner.info(format_args!("{scheme}: next leg of the handshake (same credentials)"));
                        let creds = a.issued.as_ref().map_or_else(none_creds, |i| i.creds.clone());
                        let target = self.target(&out, &ex.target);
                        let v = respond(a.auth.as_mut(), ch, &creds, &target, &mut rng);
                        ex.header = Some(v.map_err(|e| {
                            self.fail(&ex, FailureKind::ProxyError(e.to_string()), Some(407))
                        })?);
                        ex.answer = Some(a);
                        continue;
                    }
                    Verdict::Rejected => {
                        // A proxy that refused a connection-bound answer (a Kerberos token it
                        // could not validate, an NTLM message) refuses the next scheme's on that
                        // connection too (Squid: a correct password declared wrong): the next
                        // answer goes on a new one.
                        if a.auth.connection_bound() {
                            *conn = None;
                        }
                        match &a.issued {
                            // Refused before the step that carries the password (NTLM type 1):
                            // the scheme is out, the credential was never judged.
                            _ if !a.auth.final_leg() => {
                                // A token came, and it is not a challenge toll can answer (bad
                                // offsets, cut short): toll's refusal, not the proxy's.
                                let why = match mine.is_some_and(|c| c.token68.is_some()) {
                                    true => "the proxy's challenge message is malformed",
                                    false => "refused by the proxy",
                                };
                                inner.info(format_args!("{scheme}: {why}; trying the next offered scheme"));
                                ex.unusable.push(format!("{scheme}: {why} (no credential was sent)"));
                                self.drop_scheme(scheme);
                            }
                            Some(issued) if self.creds.was_accepted(issued) => {
                                // Squid answers "this user may not go there" with a 407 identical
                                // to a wrong password; the credential itself worked before. Or its
                                // password changed since: it goes on trial elsewhere (`doubt`).
                                self.creds.doubt(issued, &authority(&ex.target));
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
                                self.creds.reject(
                                    &self.credential_request(scheme, a.realm.as_deref(), true),
                                    issued,
                                );
                                after_rejection = true;
                            }
                            None => {
                                inner.info(format_args!(
                                    "the proxy rejected {scheme}; trying the next offered scheme"
                                ));
                                ex.unusable.push(format!("{scheme}: rejected by the proxy"));
                                self.drop_scheme(scheme);
                            }
                        }
                    }
                }
            }
            let a = self.answer_challenge(inner, &mut ex, &challenges, &out, after_rejection).await?;
            ex.answer = Some(a);
        }
    }

    pub(super) fn target<'a>(&'a self, out: &'a Outgoing, uri: &'a str) -> RequestTarget<'a> {
        RequestTarget {
            method: out.method.as_str(),
            uri,
            body: out.body.known_bytes(),
            proxy_host: &self.spec.host,
            service: &self.service,
            delegation: self.delegation,
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

    /// `--proxy1.0`: a CONNECT goes as HTTP/1.0 (other requests stay HTTP/1.1, as in curl),
    /// with curl's `Proxy-Connection: Keep-Alive`: without it an HTTP/1.0 proxy closes the
    /// connection after its 407, and a handshake's next leg (and NTLM's whole handshake, which
    /// is bound to the connection) would need a new one (`t_proxy_hops`).
    pub(in crate::relay) fn connect_version<B>(&self, req: &mut Request<B>) {
        if self.connect_http10 && req.method() == Method::CONNECT {
            *req.version_mut() = http::Version::HTTP_10;
            let h = req.headers_mut();
            h.insert("proxy-connection", HeaderValue::from_static("Keep-Alive"));
        }
    }

    fn trace_request(&self, inner: &Inner, req: &Request<RelayBody>, with_auth: bool) {
        if !inner.reporter.verbose() {
            return;
        }
        let version = if req.version() == http::Version::HTTP_10 { "1.0" } else { "1.1" };
        inner.reporter.line(Direction::Sent, &format!("{} {} HTTP/{version}", req.method(), req.uri()));
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

/// Schemes that need no credential still take a `Credentials` argument.
pub(super) fn none_creds() -> Credentials {
    Credentials::new("", "")
}

/// The request for one leg. A streamed body goes behind a gate: `expect_wait` sends
/// `Expect: 100-continue` and the body once the proxy says 100 or after that long, so a 407
/// gets it back whole; `None` (a 407 cannot ask for it again) opens the gate at once, without
/// `Expect`, and only a request hyper hands back unsent gets it back. With `body_less`, the leg
/// carries no body at all (`Content-Length: 0`).
fn build_request(
    out: &mut Outgoing,
    auth: Option<&Secret>,
    body_less: bool,
    expect_wait: Option<std::time::Duration>,
) -> Result<(Request<RelayBody>, Option<Arc<Gate>>), String> {
    let mut gate = None;
    let body = match &mut out.body {
        _ if body_less => body::empty(),
        RequestBody::Empty => body::empty(),
        RequestBody::Buffered(b) => body::full(b.clone()),
        RequestBody::Stream(s) => {
            let partial = s.take().ok_or("the request body was already sent and cannot be repeated")?;
            let (g, gated) = Gate::new(partial, expect_wait.unwrap_or_default());
            if expect_wait.is_none() {
                g.open();
            }
            gate = Some(g);
            gated.boxed()
        }
    };
    let mut req = Request::new(body);
    *req.method_mut() = out.method.clone();
    *req.uri_mut() = out.uri.clone();
    *req.headers_mut() = out.headers.clone();
    *req.extensions_mut() = out.extensions.clone();
    if body_less && !matches!(out.body, RequestBody::Empty) {
        req.headers_mut().insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    }
    if let Some(v) = auth {
        let mut hv = HeaderValue::from_bytes(v.expose().as_bytes())
            .map_err(|_| "the credentials cannot be put in a header")?;
        hv.set_sensitive(true);
        req.headers_mut().insert(PROXY_AUTHORIZATION, hv);
    }
    if let (Some(g), Some(_)) = (&gate, expect_wait) {
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

/// A 407's body must have arrived within this time to be drained: a proxy that drips it (or
/// announces 100 MB and sends 1 KB/s) loses the connection instead of holding the run.
pub(super) const DRAIN_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The same for the 407 of a connection-bound handshake under way (NTLM's challenge): giving
/// that connection up ends the handshake, so a slow proxy gets longer.
pub(super) const HANDSHAKE_DRAIN_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

impl Upstream {
    /// How long the 407 that answered `ex`'s leg may take to drain (see [`DRAIN_WAIT`]).
    fn drain_wait(&self, ex: &Exchange) -> std::time::Duration {
        match &ex.answer {
            Some(a) if a.auth.connection_bound() && !a.auth.final_leg() => HANDSHAKE_DRAIN_WAIT,
            _ if ex.opened => HANDSHAKE_DRAIN_WAIT,
            _ => DRAIN_WAIT,
        }
    }
}

/// Reads a 407's body to its end so the connection can carry the next leg (RFC 7230 §6.3).
/// `Err`: not worth it (announced or found larger than [`DRAIN_LIMIT`], slower than
/// [`DRAIN_WAIT`]): the caller drops the connection.
pub(super) async fn drain(resp: Response<Incoming>, wait: std::time::Duration) -> Result<(), ()> {
    use hyper::body::Body as _;
    let body = resp.into_body();
    if body.size_hint().lower() > DRAIN_LIMIT as u64 {
        return Err(());
    }
    let limited = http_body_util::Limited::new(body, DRAIN_LIMIT);
    match tokio::time::timeout(wait, limited.collect()).await {
        Ok(Ok(_)) => Ok(()),
        _ => Err(()),
    }
}
