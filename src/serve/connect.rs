//! A connection that opened with `CONNECT host:port` (read by [`super::first`]), served
//! without hyper: the same plan as any request (admission, loops, routing), then the tunnel is
//! set up through the relay (or directly, for NO_PROXY hosts), `200 Connection established`
//! is written, and the two sockets become a byte pipe. Answers other than 200 are written
//! here too, and the connection is closed after them. Why not hyper: a CONNECT waiting for its
//! turn would hold hyper's buffers and service state; here it holds its socket and a few
//! strings (see `first`).

use super::{answer_timeout, direct, failure_response, plan, within, Entry, Peer, Plan, Shared};
use crate::relay::body::RelayBody;
use crate::term::sanitize;
use http::{Method, Response};
use http_body_util::BodyExt;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::AsyncWriteExt;
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
    let entry = Entry {
        log: &server.log,
        peer: at.peer,
        method: "CONNECT",
        target: sanitize(authority.as_str()),
        started: Instant::now(),
    };
    // Boxed: the routing (a PAC may run) and the relay's futures are large, and a client
    // waiting for its turn should not carry them.
    let plan = Box::pin(plan(shared, at, &entry, &mut parts)).await;
    match plan {
        Plan::Answer(r) => answer(&mut tcp, r).await,
        Plan::Direct(target) => {
            let (host, port) = target.host_port();
            match direct::connect(&host, port, server.limits.connect_timeout).await {
                Ok(origin) => {
                    entry.write(200, "DIRECT", "");
                    pipe(tcp, origin, rest).await;
                }
                Err(r) => {
                    entry.write(r.status().as_u16(), "DIRECT", "");
                    answer(&mut tcp, r).await;
                }
            }
        }
        Plan::Proxy(_, spec) => {
            let limit = server.limits.answer_timeout();
            let opened = within(limit, async {
                let _turn = shared.setups.acquire().await.ok();
                Box::pin(server.relay.tunnel(&spec, &authority, parts.headers)).await
            })
            .await;
            let upstream = spec.display_url();
            match opened {
                Some(Ok(up)) => {
                    entry.write(200, &upstream, "");
                    pipe(tcp, up, rest).await;
                }
                Some(Err(f)) => {
                    let r = failure_response(f);
                    entry.write(r.status().as_u16(), &upstream, "");
                    answer(&mut tcp, r).await;
                }
                None => {
                    let r = answer_timeout(&spec, limit);
                    entry.write(r.status().as_u16(), &upstream, "");
                    answer(&mut tcp, r).await;
                }
            }
        }
    }
}

/// Tells the client its tunnel is open and copies bytes both ways on a task of its own (so
/// SIGTERM's drain, which waits for requests in flight, does not wait for open tunnels: the
/// same as for a tunnel hyper answered). `rest`: what the client sent after its CONNECT head.
async fn pipe<U>(mut client: TcpStream, mut upstream: U, rest: Vec<u8>)
where
    U: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    if client.write_all(ESTABLISHED).await.is_err() {
        return;
    }
    tokio::spawn(async move {
        if !rest.is_empty() && upstream.write_all(&rest).await.is_err() {
            return;
        }
        drop(rest);
        let _ = crate::relay::tunnel::copy_both(&mut client, &mut upstream).await;
    });
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
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(&body);
    if tcp.write_all(&out).await.is_ok() {
        let _ = tcp.shutdown().await;
    }
}
