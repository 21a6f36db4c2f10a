//! The exchanges with an upstream proxy that the loopback listener (`loopback`), `toll serve`
//! (`Relay::carry`, `Relay::tunnel`) and toll's in-process requests share: a CONNECT answered
//! through its 407s, and a forwarded request on a held or lent upstream connection.

use super::*;

/// State of one reqwest→relay connection: the upstream connection its forwarded requests go
/// out on, for as long as reqwest keeps the connection (reqwest pools its connections itself).
pub(super) struct ClientConn {
    pub(super) upstream: Option<Arc<Upstream>>,
    pub(super) conn: Option<Conn>,
}

/// `CONNECT authority` through `up`, answering its 407s: the proxy's 2xx (whose connection is
/// then the tunnel), or why the proxy did not open it. Shared by the loopback relay's tunnels
/// and [`Relay::open_tunnel_stream`].
pub(super) async fn connect_through(
    inner: &Arc<Inner>,
    up: &Arc<Upstream>,
    authority: &http::uri::Authority,
    client_headers: &http::HeaderMap,
) -> Result<Response<Incoming>, Failure> {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::HOST,
        HeaderValue::from_str(authority.as_str()).expect("authority is a header value"),
    );
    // The user's --proxy-header lines and User-Agent, or a `toll serve` client's headers: a
    // proxy that allows tunnels by client sees the one asking, as through curl or Squid. A
    // CONNECT has no content (RFC 9110 §9.3.6), so a length would only make the proxy wait.
    for (name, value) in client_headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            headers.append(name.clone(), value.clone());
        }
    }
    let out = Outgoing {
        method: Method::CONNECT,
        uri: http::Uri::from(authority.clone()),
        headers,
        extensions: http::Extensions::new(),
        body: RequestBody::Empty,
    };
    let mut conn = up.pool.take_spare();
    // The spare's replacement starts now, not a round trip later with this tunnel's 200: under a
    // steady stream of CONNECTs the spares were used faster than they came back, and a CONNECT
    // that finds none pays the whole handshake, twice the round trips (measured at 10 clients
    // on NTLM: 47 → 59 % of TLS tunnels and 26 → 29 % of bare ones found a spare; SERVE.md,
    // run 18). Only while the last tunnel worked, so that a rejected credential still stops them.
    if conn.is_some() && up.pool.tunnel_worked.load(std::sync::atomic::Ordering::Relaxed) {
        spare::refill(inner, up, authority.as_str());
    }
    let resp = match up.exchange(inner, &mut conn, out).await {
        Ok(resp) => resp,
        Err(f) => {
            up.pool.tunnel_worked.store(false, std::sync::atomic::Ordering::Relaxed);
            return Err(f);
        }
    };
    up.pool.tunnel_worked.store(resp.status().is_success(), std::sync::atomic::Ordering::Relaxed);
    if resp.status().is_success() {
        spare::refill(inner, up, authority.as_str());
        inner.info(format_args!("tunnel to {authority} established; bytes now pass untouched"));
        return Ok(resp);
    }
    let status = resp.status();
    let kind = if status == StatusCode::FORBIDDEN {
        FailureKind::Denied
    } else {
        FailureKind::ProxyError(format!("the proxy answered the CONNECT with {status}"))
    };
    let reason = status.canonical_reason().unwrap_or("").to_string();
    let mut f = up.failure(kind);
    f.target = authority.to_string();
    f.status = Some((status.as_u16(), reason));
    Err(f)
}

/// True when a response was made by the proxy itself (Squid's `X-Squid-Error`, RFC 9209
/// `Proxy-Status`), not by the origin behind it.
pub(super) fn from_proxy(resp: &Response<Incoming>) -> bool {
    resp.headers().contains_key("x-squid-error") || resp.headers().contains_key("proxy-status")
}

pub(super) async fn forward_or_fail(
    inner: Arc<Inner>,
    up: Arc<Upstream>,
    state: Option<Arc<tokio::sync::Mutex<ClientConn>>>,
    req: Request<Incoming>,
    answer_limit: Option<Duration>,
) -> Result<Response<RelayBody>, Failure> {
    let (parts, incoming) = req.into_parts();
    if parts.uri.scheme().is_none() {
        return Ok(plain(StatusCode::BAD_REQUEST, true));
    }
    // A client that expects `100 Continue` has its body left unread: behind the relay's gate it
    // leaves the client once the proxy (or the origin behind it) says 100.
    let mut body = if body::expects_continue(&parts.headers, &incoming) {
        RequestBody::unread(incoming)
    } else {
        match RequestBody::read(incoming).await {
            Ok(b) => b,
            Err(_) => return Ok(plain(StatusCode::BAD_REQUEST, true)),
        }
    };
    // Waiting for a connection (`pool`) is toll's own queue, not the proxy's time to answer.
    let via = match state.as_deref() {
        Some(held) => Via::Held(held),
        None => Via::Lent(up.pool.lanes.lease().await),
    };
    let Some(limit) = answer_limit else {
        return send_forward(&inner, up, via, parts, body).await;
    };
    let failure = up.failure(FailureKind::NoAnswer(limit));
    // Counted from the last byte of the client's upload (a buffered one is in now; a streamed
    // one takes as long as it takes), or from when the proxy stopped taking it.
    let upload = body.watch_end();
    tokio::select! {
        r = send_forward(&inner, up, via, parts, body) => r,
        () = body::silent_for(limit, upload) => Err(failure),
    }
}

/// The upstream connection a forwarded request goes out on.
pub(super) enum Via<'a> {
    /// The one a reqwest→relay connection holds.
    Held(&'a tokio::sync::Mutex<ClientConn>),
    /// One lent for this request, taken back when its response has been read (`pool`).
    Lent(pool::Lease<Conn>),
}

/// Sends a request in absolute form through `up` on the connection `via`, answering the
/// proxy's 407s. A 403 the proxy made itself is kept as the failure (the response is passed on
/// too).
pub(super) async fn send_forward(
    inner: &Inner,
    up: Arc<Upstream>,
    via: Via<'_>,
    parts: http::request::Parts,
    body: RequestBody,
) -> Result<Response<RelayBody>, Failure> {
    let state = match via {
        Via::Held(state) => state,
        Via::Lent(mut lease) => {
            let resp = exchange_forward(inner, &up, &mut lease.conn, parts, body).await?;
            return Ok(resp.map(|b| pool::Returning::new(b, lease).boxed()));
        }
    };
    let mut st = state.lock().await;
    if !st.upstream.as_ref().is_some_and(|u| Arc::ptr_eq(u, &up)) {
        // reqwest pools by relay address: one client connection may serve two upstreams.
        st.upstream = Some(up.clone());
        st.conn = None;
    }
    exchange_forward(inner, &up, &mut st.conn, parts, body).await
}

/// One forwarded request on `conn` (opened if `None`; emptied if the exchange failed).
pub(super) async fn exchange_forward(
    inner: &Inner,
    up: &Arc<Upstream>,
    conn: &mut Option<Conn>,
    parts: http::request::Parts,
    body: RequestBody,
) -> Result<Response<RelayBody>, Failure> {
    let mut extensions = parts.extensions;
    // The client's upgrade is the relay's to take, never the upstream leg's.
    extensions.remove::<hyper::upgrade::OnUpgrade>();
    let out =
        Outgoing { method: parts.method, uri: parts.uri.clone(), headers: parts.headers, extensions, body };
    match up.exchange(inner, conn, out).await {
        Ok(resp) => {
            // Whoever reads the body drives the connection it comes from (`driven`).
            let driver = conn.as_ref().map(|c| c.driver.clone());
            if resp.status() == StatusCode::FORBIDDEN && from_proxy(&resp) {
                let mut f = up.failure(FailureKind::Denied);
                f.target = parts.uri.to_string();
                f.status = Some((403, "Forbidden".into()));
                inner.record(f);
            }
            let mut resp = resp.map(|b| driven::Driving::new(b, driver).map_err(Into::into).boxed());
            resp.headers_mut().remove(REFUSAL_MARKER);
            Ok(resp)
        }
        Err(f) => {
            *conn = None;
            Err(f)
        }
    }
}
