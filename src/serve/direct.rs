//! Requests that NO_PROXY (or an empty proxy setting) sends direct: toll serve connects to the
//! origin itself. A CONNECT becomes a TCP connection (`connect`; `super::connect` pipes it); an
//! absolute-form http request is sent in origin form on a connection of its own.

use crate::relay::body::RelayBody;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio::net::TcpStream;

pub(super) async fn connect(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<TcpStream, Response<RelayBody>> {
    match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Ok(Ok(tcp)) => {
            let _ = tcp.set_nodelay(true);
            Ok(tcp)
        }
        Ok(Err(e)) => Err(super::text(
            StatusCode::BAD_GATEWAY,
            &format!("toll serve: cannot connect to {host}:{port} directly: {e}\n"),
            Some("connection_refused"),
        )),
        Err(_) => Err(super::text(
            StatusCode::GATEWAY_TIMEOUT,
            &format!("toll serve: connecting to {host}:{port} directly timed out\n"),
            Some("connection_timeout"),
        )),
    }
}

pub async fn forward(
    req: Request<Incoming>,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Response<RelayBody> {
    let tcp = match connect(host, port, timeout).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Ok((mut send, conn)) = hyper::client::conn::http1::Builder::new()
        .max_headers(crate::relay::MAX_HEADER_FIELDS)
        .handshake::<_, Incoming>(TokioIo::new(tcp))
        .await
    else {
        return super::text(
            StatusCode::BAD_GATEWAY,
            "toll serve: the origin's connection failed\n",
            Some("proxy_internal_error"),
        );
    };
    tokio::spawn(conn);
    let (mut parts, b) = req.into_parts();
    crate::relay::hop::strip_request(&mut parts.headers);
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    parts.uri = path.parse().unwrap_or_else(|_| http::Uri::from_static("/"));
    match send.send_request(Request::from_parts(parts, b)).await {
        Ok(resp) => resp.map(|b| b.map_err(Into::into).boxed()),
        Err(e) => super::text(
            StatusCode::BAD_GATEWAY,
            &format!("toll serve: the origin {host}:{port} failed: {e}\n"),
            Some("http_protocol_error"),
        ),
    }
}
