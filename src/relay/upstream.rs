//! The relay's side of the conversation with the real proxy: connecting (TCP, or TLS for an
//! `https://` proxy), and the authentication exchange of RFC 7235 §3.2/§4.3/§4.4 on one request —
//! send, read the 407's challenges, pick a scheme, get a credential, answer, repeat on the same
//! connection while the proxy keeps it alive.
//!
//! Lockout safety lives here and in `creds`: a credential the proxy refused is reported to the
//! broker at once and never sent again; the exchange has a hard cap on its legs.

use super::body::{self, Gate, RelayBody, RequestBody};
use super::{Failure, FailureKind, Inner, Upstream};
use crate::auth::{self, Authenticator, OsEntropy, RequestTarget, Verdict};
use crate::creds::{CredentialRequest, Issued};
use crate::report::{describe_challenge, Direction};
use crate::secret::Secret;
use http::header::{HeaderValue, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A request/response exchange never takes more legs than this (NTLM needs 3; Digest with a
/// stale nonce 3): a proxy that keeps asking is not answered forever.
const MAX_LEGS: u32 = 6;

/// 407 bodies larger than this are not drained: the connection is dropped instead.
const DRAIN_LIMIT: usize = 256 * 1024;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A connection to the upstream proxy, speaking HTTP/1.1.
pub(super) struct Conn {
    send: SendRequest<RelayBody>,
}

impl Conn {
    fn usable(&self) -> bool {
        !self.send.is_closed()
    }
}

/// The authenticator answering on this exchange and the credential it uses.
struct Answer {
    auth: Box<dyn Authenticator>,
    issued: Issued,
}

/// An authenticator that worked on this proxy, reused pre-emptively by later requests in the run
/// (Basic: same header; Digest: same nonce, next nc) so they cost no 407.
pub(super) struct Active {
    auth: Box<dyn Authenticator>,
    issued: Issued,
}

/// What one request looks like to the exchange.
pub(super) struct Outgoing {
    pub method: Method,
    /// The request-target as sent: `host:port` for CONNECT, the absolute URI otherwise.
    pub uri: http::Uri,
    pub headers: http::HeaderMap,
    pub body: RequestBody,
}

impl Upstream {
    pub(super) async fn connect(&self, inner: &Inner) -> Result<Conn, Failure> {
        let spec = &self.spec;
        let started = std::time::Instant::now();
        let tcp = TcpStream::connect((spec.host.as_str(), spec.port));
        let tcp = match inner.connect_timeout {
            Some(t) => tokio::time::timeout(t, tcp).await.unwrap_or_else(|_| {
                Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))
            }),
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
                let stream =
                    tokio_rustls::TlsConnector::from(tls.clone()).connect(name, tcp).await.map_err(|e| {
                        self.failure(FailureKind::Unreachable(format!(
                            "TLS handshake with the proxy failed: {e}"
                        )))
                    })?;
                inner.info(format_args!("TLS to proxy established"));
                Box::new(stream)
            }
        };
        let (send, conn) = hyper::client::conn::http1::Builder::new()
            .handshake::<_, RelayBody>(TokioIo::new(io))
            .await
            .map_err(|e| self.failure(FailureKind::Unreachable(format!("HTTP handshake failed: {e}"))))?;
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        Ok(Conn { send })
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

    fn credential_request(
        &self,
        scheme: auth::Scheme,
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
        let target_text = out.uri.to_string();
        let fail = |kind: FailureKind| {
            let mut f = self.failure(kind);
            f.target = target_text.clone();
            f
        };
        let mut rng = OsEntropy;
        let mut answer: Option<Answer> = None;
        let mut header: Option<Secret> = None;
        let mut from_active = false;
        // Pre-emptive: a scheme that already worked on this proxy answers before being asked.
        if let Some(active) = self.active.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            let target = RequestTarget {
                method: out.method.as_str(),
                uri: &target_text,
                body: out.body.known_bytes(),
            };
            if let Some(Ok(v)) = active.auth.preemptive(&active.issued.creds, &target, &mut rng) {
                header = Some(v);
                from_active = true;
                inner.info(format_args!(
                    "sending {} credentials that worked earlier in this run",
                    active.auth.scheme()
                ));
            }
        }
        let mut legs = 0u32;
        let mut retried_closed = false;
        let mut last_offered: Vec<String> = Vec::new();
        loop {
            legs += 1;
            if legs > MAX_LEGS {
                let mut f = fail(FailureKind::ProxyError(format!(
                    "the proxy still asked for authentication after {MAX_LEGS} exchanges"
                )));
                f.offered = last_offered;
                return Err(f);
            }
            let reused = conn.as_ref().is_some_and(Conn::usable);
            if !reused {
                *conn = Some(self.connect(inner).await.map_err(|mut f| {
                    f.target = target_text.clone();
                    f
                })?);
            }
            let c = conn.as_mut().expect("connected above");
            if c.send.ready().await.is_err() {
                *conn = None;
                continue;
            }
            let (req, gate) =
                build_request(&mut out, header.as_ref()).map_err(|why| fail(FailureKind::ProxyError(why)))?;
            self.trace_request(inner, &req, header.is_some());
            let sent = c.send.send_request(req).await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    *conn = None;
                    if let Some(g) = &gate {
                        if let Some(b) = g.take_back() {
                            out.body = RequestBody::Stream(Some(b));
                        }
                    }
                    // A kept-alive connection may have been closed by the proxy just as we sent
                    // (RFC 7230 §6.3.1): retry once on a fresh one. A fresh connection that dies
                    // is the proxy's doing; sending the credential again could count against
                    // the account.
                    if reused && !retried_closed && !out.body.is_streamed_and_gone() {
                        retried_closed = true;
                        legs -= 1;
                        continue;
                    }
                    return Err(fail(FailureKind::ProxyError(format!(
                        "the proxy closed the connection: {e}"
                    ))));
                }
            };
            inner.trace_response(&resp);
            if resp.status() != StatusCode::PROXY_AUTHENTICATION_REQUIRED {
                if let Some(g) = &gate {
                    g.open();
                }
                if let Some(a) = answer.take() {
                    let req = self.credential_request(a.auth.scheme(), None, false);
                    self.creds.accept(&req, &a.issued);
                    if !a.auth.connection_bound() {
                        *self.active.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some(Active { auth: a.auth, issued: a.issued });
                    }
                }
                return Ok(resp);
            }

            // 407: what does the proxy want now?
            let challenges = auth::parse_challenges(
                resp.headers().get_all(PROXY_AUTHENTICATE).iter().filter_map(|v| v.to_str().ok()),
            );
            last_offered = challenges.iter().map(describe_challenge).collect();
            let keep = resp
                .headers()
                .get(http::header::CONNECTION)
                .and_then(|v| v.to_str().ok())
                .is_none_or(|v| !v.eq_ignore_ascii_case("close"));
            // The body that was withheld comes back for the next attempt; if it had started
            // to leave, it cannot be sent again.
            if let Some(g) = gate {
                match g.take_back() {
                    Some(b) => out.body = RequestBody::Stream(Some(b)),
                    None => {
                        *conn = None;
                        return Err(fail(FailureKind::ProxyError(
                            "the proxy asked for authentication after the upload had started; it cannot be sent twice".into(),
                        )));
                    }
                }
                *conn = None;
            } else if keep {
                drain(resp).await.unwrap_or_else(|()| *conn = None);
            } else {
                *conn = None;
            }

            let status_line = Some((407, "Proxy Authentication Required".to_string()));
            let mut after_rejection = false;
            // Did the proxy refuse what we just sent, or is this the next step?
            let prev = answer.take().map(|a| (a, false)).or_else(|| {
                if from_active {
                    self.active
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .take()
                        .map(|a| (Answer { auth: a.auth, issued: a.issued }, true))
                } else {
                    None
                }
            });
            from_active = false;
            if let Some((mut a, was_active)) = prev {
                let mine = challenges.iter().find(|c| c.scheme == Some(a.auth.scheme()));
                match a.auth.verdict(mine) {
                    Verdict::Continue => {
                        let ch = mine.expect("a continuation carries a challenge");
                        inner.info(format_args!(
                            "{} asks for another round (same credentials)",
                            a.auth.scheme()
                        ));
                        let target = RequestTarget {
                            method: out.method.as_str(),
                            uri: &target_text,
                            body: out.body.known_bytes(),
                        };
                        header = Some(
                            a.auth
                                .respond(ch, &a.issued.creds, &target, &mut rng)
                                .map_err(|e| fail(FailureKind::ProxyError(e.to_string())))?,
                        );
                        if was_active {
                            *self.active.lock().unwrap_or_else(|e| e.into_inner()) =
                                Some(Active { auth: a.auth, issued: a.issued });
                            from_active = true;
                        } else {
                            answer = Some(a);
                        }
                        continue;
                    }
                    Verdict::Rejected => {
                        if self.creds.was_accepted(&a.issued) {
                            // Squid answers "this user may not go there" with a 407 identical
                            // to a wrong password; the credential itself worked before.
                            let mut f = fail(FailureKind::RestrictedDestination {
                                user: a.issued.creds.user.clone(),
                            });
                            f.status = status_line;
                            f.offered = last_offered;
                            return Err(f);
                        }
                        inner.info(format_args!(
                            "the proxy rejected the {} credentials for user {:?} from {}",
                            a.auth.scheme(),
                            a.issued.creds.user,
                            a.issued.source
                        ));
                        let req = self.credential_request(a.auth.scheme(), None, true);
                        self.creds.reject(&req, &a.issued);
                        after_rejection = true;
                    }
                }
            }

            let Some(chosen) = auth::choose(&challenges, self.allowed) else {
                let kind = if challenges.is_empty() {
                    FailureKind::NoChallenge
                } else {
                    FailureKind::NoUsableScheme
                };
                let mut f = fail(kind);
                f.status = status_line;
                f.offered = last_offered;
                return Err(f);
            };
            let scheme = chosen.scheme.expect("choose returns known schemes");
            if inner.reporter.verbose() {
                let offered =
                    challenges.iter().map(|c| c.scheme_name.as_str()).collect::<Vec<_>>().join(", ");
                inner.info(format_args!(
                    "proxy offers {offered}; using {scheme} (the strongest toll can answer that is allowed)"
                ));
            }
            let req = self.credential_request(scheme, chosen.realm(), after_rejection);
            let broker = self.clone();
            let issued = tokio::task::spawn_blocking(move || broker.creds.get(&req))
                .await
                .map_err(|e| fail(FailureKind::ProxyError(format!("credential lookup failed: {e}"))))?;
            let issued = match issued {
                Ok(i) => i,
                Err(ex) => {
                    let kind = if ex.rejected.is_empty() {
                        FailureKind::NoCredentials { incomplete: ex.incomplete }
                    } else {
                        FailureKind::Rejected { sources: ex.rejected }
                    };
                    let mut f = fail(kind);
                    f.status = status_line;
                    f.offered = last_offered;
                    return Err(f);
                }
            };
            inner.info(format_args!("credentials for user {:?} from {}", issued.creds.user, issued.source));
            let mut a = auth::authenticator(scheme).expect("chosen schemes are implemented");
            let target = RequestTarget {
                method: out.method.as_str(),
                uri: &target_text,
                body: out.body.known_bytes(),
            };
            header = Some(
                a.respond(chosen, &issued.creds, &target, &mut rng)
                    .map_err(|e| fail(FailureKind::ProxyError(e.to_string())))?,
            );
            answer = Some(Answer { auth: a, issued });
        }
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

/// The request for one leg. A streamed body always goes behind a gate: even a credential that
/// worked can meet a 407 (Digest `stale=true`), and then the body must still be whole.
fn build_request(
    out: &mut Outgoing,
    auth: Option<&Secret>,
) -> Result<(Request<RelayBody>, Option<Arc<Gate>>), String> {
    let mut gate = None;
    let body = match &mut out.body {
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
async fn drain(resp: Response<Incoming>) -> Result<(), ()> {
    let limited = http_body_util::Limited::new(resp.into_body(), DRAIN_LIMIT);
    limited.collect().await.map(|_| ()).map_err(|_| ())
}
