//! The loopback listener's side of the relay: each connection reqwest (or another local
//! client of the relay) makes, the process key it must show, and its CONNECTs and forwarded
//! requests, handed to the exchanges with the upstream proxy (`exchange`). Closed to strangers
//! as the module docs of `relay` say.

use super::exchange::{connect_through, forward_or_fail, ClientConn};
use super::*;

pub(super) async fn serve(inner: Arc<Inner>, tcp: TcpStream) {
    // Which of the client's connections this is: a CONNECT's answer is reported with the first
    // response that comes on it (`Relay::take_connect_heads_of`).
    let client = tcp.peer_addr().ok();
    let state = Arc::new(tokio::sync::Mutex::new(ClientConn { upstream: None, conn: None }));
    // Set by the first request that carries the key: until then the connection is a stranger's.
    let shown = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = shown.clone();
    let svc = hyper::service::service_fn(move |req| {
        let answered = handle(inner.clone(), state.clone(), seen.clone(), client, req);
        async move { answered.await.map(|resp| resp.map(body::flushed_before_failing)) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .max_buf_size(HTTP_BUFFER)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(tcp), svc)
        .with_upgrades();
    let stranger = async {
        tokio::time::sleep(KEY_WAIT).await;
        if shown.load(std::sync::atomic::Ordering::Acquire) {
            std::future::pending::<()>().await;
        }
    };
    // A connection that has not shown the key within KEY_WAIT is dropped (closed).
    tokio::select! {
        _ = conn => {}
        _ = stranger => {}
    }
}

pub(super) async fn handle(
    inner: Arc<Inner>,
    state: Arc<tokio::sync::Mutex<ClientConn>>,
    shown: Arc<std::sync::atomic::AtomicBool>,
    client: Option<SocketAddr>,
    mut req: Request<Incoming>,
) -> Result<Response<RelayBody>, Infallible> {
    let Some(up) = inner.authorize(req.headers()) else {
        // Closed after this answer; marked so toll reports it as its own error, never as the
        // origin's response (the marker is removed from everything relayed from upstream).
        let mut r = plain(StatusCode::FORBIDDEN, true);
        r.headers_mut().insert(REFUSAL_MARKER, HeaderValue::from_static("refused"));
        return Ok(r);
    };
    shown.store(true, std::sync::atomic::Ordering::Release);
    hop::strip_request(req.headers_mut());
    if req.method() == Method::CONNECT {
        Ok(tunnel(inner, up, client, req).await)
    } else {
        Ok(forward(inner, up, state, client, req).await)
    }
}

pub(super) async fn tunnel(
    inner: Arc<Inner>,
    up: Arc<Upstream>,
    client: Option<SocketAddr>,
    req: Request<Incoming>,
) -> Response<RelayBody> {
    match open_tunnel(inner.clone(), up, client, req).await {
        Ok(resp) => resp,
        Err(f) => {
            let code = failure_status(&f.kind);
            inner.record_from(f, client);
            plain(code, true)
        }
    }
}

/// Opens the tunnel upstream (answering 407s) and, once both sides are upgraded, passes bytes
/// untouched; the 200 for the client is returned at once.
pub(super) async fn open_tunnel(
    inner: Arc<Inner>,
    up: Arc<Upstream>,
    client: Option<SocketAddr>,
    mut req: Request<Incoming>,
) -> Result<Response<RelayBody>, Failure> {
    let Some(authority) = req.uri().authority().cloned() else {
        return Ok(plain(StatusCode::BAD_REQUEST, true));
    };
    let client_side = hyper::upgrade::on(&mut req);
    if let Some(agent) = inner.connect_agent.get() {
        let headers = req.headers_mut();
        headers.remove(http::header::USER_AGENT);
        if let Some(agent) = agent {
            headers.insert(http::header::USER_AGENT, agent.clone());
        }
    }
    let resp = connect_through(&inner, &up, &authority, req.headers()).await?;
    inner.note_connect_head(&resp, client);
    let upstream_side = hyper::upgrade::on(resp);
    tokio::spawn(async move {
        let (Ok(client), Ok(upstream)) = (client_side.await, upstream_side.await) else { return };
        // Buffers that grow with a bulk transfer and are freed while the tunnel waits (`tunnel`).
        // A user-space copy, not `splice(2)`: splicing loopback TCP through a pipe was measured
        // (issue 10, Linux 6.18) to cost more CPU (200 MiB: 0.21 s against 0.15 s) and wall time.
        tunnel::copy_both(
            &mut TokioIo::new(client),
            &mut TokioIo::new(upstream),
            None,
            std::future::pending(),
        )
        .await;
    });
    Ok(plain(StatusCode::OK, false))
}

pub(super) async fn forward(
    inner: Arc<Inner>,
    up: Arc<Upstream>,
    state: Arc<tokio::sync::Mutex<ClientConn>>,
    client: Option<SocketAddr>,
    req: Request<Incoming>,
) -> Response<RelayBody> {
    let head = req.method() == Method::HEAD;
    match forward_or_fail(inner.clone(), up, Some(state), req, None).await {
        Ok(resp) if !head && resp.headers().get(http::header::CONTENT_LENGTH).is_some_and(|v| v == "0") => {
            resp.map(|b| Unended(Some(b)).boxed())
        }
        Ok(resp) => resp,
        Err(f) => {
            let code = failure_status(&f.kind);
            inner.record_from(f, client);
            plain(code, true)
        }
    }
}

/// A body of `Content-Length: 0` that does not say it is empty until it is read. hyper's server
/// drops the `Content-Length` of a body that says so and adds its own after every other field,
/// so toll's `-i`/`-D` (which print what reaches toll over this hop) showed the proxy's head
/// reordered; a body of known length 0 keeps the field where the proxy put it.
struct Unended(Option<RelayBody>);

impl hyper::body::Body for Unended {
    type Data = bytes::Bytes;
    type Error = super::body::BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let Some(body) = self.0.as_mut() else { return std::task::Poll::Ready(None) };
        let polled = std::pin::Pin::new(body).poll_frame(cx);
        if let std::task::Poll::Ready(None) = polled {
            // Dropped once read, so what it holds (a pooled connection) goes back at once.
            self.0 = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(0)
    }
}
