//! A connection that opened with `CONNECT host:port` (read by [`super::first`]), served
//! without hyper: the same plan as any request (admission, loops, routing), then the tunnel is
//! set up through the relay (or directly, for NO_PROXY hosts), `200 Connection established`
//! is written, and the two sockets become a byte pipe. Answers other than 200 are written
//! here too, and the connection is closed after them. Why not hyper: a CONNECT waiting for its
//! turn would hold hyper's buffers and service state; here it holds its socket and a few
//! strings (see `first`).

use super::log::Entry;
use super::{answer_timeout, failure_response, plan, within, Peer, Plan, Shared, Stop, OVER};
use crate::auth::Scheme;
use crate::relay::body::RelayBody;
use crate::relay::tunnel::{copy_both, Copied};
use crate::relay::TunnelStream;
use crate::term::sanitize;
use http::{Method, Response};
use http_body_util::BodyExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

const ESTABLISHED: &[u8] = b"HTTP/1.1 200 Connection established\r\n\r\n";

pub async fn serve(
    shared: &Arc<Shared>,
    at: Peer<'_>,
    mut tcp: TcpStream,
    authority: http::uri::Authority,
    headers: http::HeaderMap,
    rest: Vec<u8>,
) {
    let server = &shared.server;
    let (mut parts, ()) = http::Request::new(()).into_parts();
    parts.method = Method::CONNECT;
    parts.uri = http::Uri::from(authority.clone());
    parts.headers = headers;
    let entry = Entry::new(&server.log, at.peer, Method::CONNECT, sanitize(authority.as_str()));
    // Boxed: the routing (a PAC may run) and the relay's futures are large, and a client
    // waiting for its turn should not carry them.
    let plan = Box::pin(plan(shared, at, &entry, &mut parts)).await;
    if let Plan::Answer(r) = plan {
        return answer(&mut tcp, r).await;
    }
    match Box::pin(open(shared, plan, &authority, parts.headers, &entry)).await {
        Ok(opened) => {
            if tcp.write_all(ESTABLISHED).await.is_ok() {
                // On a task of its own, so SIGTERM's drain, which waits for requests in flight,
                // does not wait for open tunnels (the same as for a tunnel hyper answered).
                tokio::spawn(pipe(tcp, opened, rest, entry, shared.stop.clone()));
            } else {
                opened.abandon(&entry);
            }
        }
        Err(r) => answer(&mut tcp, r).await,
    }
}

/// The far end of an open tunnel.
pub(super) enum Far {
    /// A NO_PROXY host, connected directly (or through a SOCKS proxy).
    Direct(TcpStream),
    /// Through the upstream proxy, which granted the CONNECT.
    Proxy(TunnelStream),
}

/// A tunnel the client may now be told about.
pub(super) struct Opened {
    far: Far,
    /// The proxy's URL or `DIRECT`, for the log.
    via: String,
    scheme: Option<Scheme>,
    /// Closed after this long without traffic ([`super::Limits::tunnel_idle`]).
    idle: Option<Duration>,
}

impl Opened {
    /// The client left before it was told the tunnel was open: the line says so.
    pub(super) fn abandon(self, entry: &Entry) {
        entry.finish(200, &self.via, self.scheme, Some(0), "the client left before the tunnel opened");
    }
}

/// Opens the tunnel a CONNECT asked for, as `plan` routed it (directly, or through the relay,
/// which answers the proxy's 407s), or the answer that says why not (already logged). Shared
/// by both doors: CONNECTs read here and CONNECTs hyper read.
pub(super) async fn open(
    shared: &Shared,
    plan: Plan,
    authority: &http::uri::Authority,
    headers: http::HeaderMap,
    entry: &Entry,
) -> Result<Opened, Response<RelayBody>> {
    let server = &shared.server;
    let idle = server.limits.tunnel_idle;
    let spec = match plan {
        Plan::Answer(r) => return Err(r),
        Plan::Direct { target, other_host, socks } => {
            let (host, port) = target.host_port();
            let via = socks.as_ref().map_or_else(|| "DIRECT".into(), |s| s.display_url());
            return match shared.direct(other_host, socks.as_ref()).connect(&host, port).await {
                Ok(origin) => Ok(Opened { far: Far::Direct(origin), via, scheme: None, idle }),
                Err(r) => {
                    entry.write(r.status().as_u16(), &via, super::why(&r));
                    Err(r)
                }
            };
        }
        Plan::Proxy(_, spec) => spec,
    };
    let limit = server.limits.answer_timeout();
    let opened = within(limit, async {
        let _turn = shared.setups.acquire().await.ok();
        // Boxed only now: the relay's future is ~10 KiB, which a client waiting for its turn
        // (most of 1,000 at once) should not hold (bench/SERVE.md, peak RSS at 1,000 tunnels).
        Box::pin(server.relay.tunnel(&spec, authority, headers)).await
    })
    .await;
    let via = spec.display_url();
    let r = match opened {
        Some(Ok((up, scheme))) => return Ok(Opened { far: Far::Proxy(up), via, scheme, idle }),
        Some(Err(f)) => failure_response(f),
        None => answer_timeout(&spec, limit),
    };
    entry.write(r.status().as_u16(), &via, super::why(&r));
    Err(r)
}

/// Copies bytes both ways until both sides are done, then writes the tunnel's log line (bytes
/// from the origin's side, the tunnel's whole life). `rest`: what the client sent after its
/// CONNECT head.
pub(super) async fn pipe<C>(mut client: C, opened: Opened, rest: Vec<u8>, entry: Entry, stop: Arc<Stop>)
where
    C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    stop.tunnels.fetch_add(1, Ordering::Relaxed);
    let Opened { far, via, scheme, idle } = opened;
    let over = stop.reached(OVER);
    let copied = match far {
        Far::Direct(mut origin) => splice(&mut client, &mut origin, rest, idle, over).await,
        Far::Proxy(mut up) => splice(&mut client, &mut up, rest, idle, over).await,
    };
    let note = match copied.error {
        Some(e) if e.kind() == std::io::ErrorKind::TimedOut => format!("closed: {e} (--idle-timeout)"),
        Some(e) if e.kind() == std::io::ErrorKind::Interrupted => "closed: toll serve stopped".to_string(),
        Some(e) => format!("the tunnel broke off: {e}"),
        None => String::new(),
    };
    entry.finish(200, &via, scheme, Some(copied.b_to_a), &note);
    stop.tunnels.fetch_sub(1, Ordering::Relaxed);
}

/// `rest` to `far`, then the copy both ways (`b_to_a`: what `far` sent to the client) until
/// both are done or nothing moved for `idle`.
async fn splice<C, F>(
    client: &mut C,
    far: &mut F,
    rest: Vec<u8>,
    idle: Option<Duration>,
    stop: impl std::future::Future<Output = ()>,
) -> Copied
where
    C: AsyncRead + AsyncWrite + Unpin,
    F: AsyncRead + AsyncWrite + Unpin,
{
    if !rest.is_empty() {
        if let Err(e) = far.write_all(&rest).await {
            return Copied { b_to_a: 0, error: Some(e) };
        }
    }
    drop(rest);
    copy_both(client, far, idle, stop).await
}

/// Writes toll serve's own answer (a short text body) and closes: after a CONNECT that was
/// not granted, nothing else on this connection is meant for us.
async fn answer(tcp: &mut TcpStream, r: Response<RelayBody>) {
    let (parts, body) = r.into_parts();
    let body = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
    let status = parts.status;
    let mut out =
        format!("HTTP/1.1 {} {}\r\n", status.as_u16(), status.canonical_reason().unwrap_or("")).into_bytes();
    for (name, value) in &parts.headers {
        // In Title-Case, as hyper writes serve's other answers (`title_case_headers`).
        let mut upper = true;
        out.extend(name.as_str().bytes().map(|b| {
            let c = if upper { b.to_ascii_uppercase() } else { b };
            upper = b == b'-';
            c
        }));
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(&body);
    if tcp.write_all(&out).await.is_ok() {
        let _ = tcp.shutdown().await;
    }
}
