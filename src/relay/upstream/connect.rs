//! Opening a connection to the upstream proxy: TCP (with `--connect-timeout`), TLS for an
//! `https://` proxy (the timeout covers the handshake too), then an HTTP/1.1 client connection
//! on it whose driver runs in its own task.

use super::super::body::RelayBody;
use super::super::{Failure, FailureKind, Inner, Unreached, Upstream};
use super::Conn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl Upstream {
    pub(in crate::relay) async fn connect(&self, inner: &Inner) -> Result<Conn, Failure> {
        let spec = &self.spec;
        let started = std::time::Instant::now();
        let tcp = dial(&spec.host, spec.port, inner.local_address.get().copied());
        let tcp = match inner.connect_timeout {
            Some(t) => tokio::time::timeout(t, tcp)
                .await
                .map_err(|_| self.failure(FailureKind::Timeout(timed_out("the TCP connection", t))))?,
            None => tcp.await,
        }
        .map_err(|e| {
            self.failure(FailureKind::Unreachable(format!("cannot connect: {e}"), Unreached::of(&e)))
        })?;
        let _ = tcp.set_nodelay(true);
        inner.note_peer(spec, &tcp);
        // Only when shown: `toll serve` opens a connection per tunnel, and the peer's address
        // is a system call.
        if inner.reporter.verbose() {
            let peer = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_default();
            inner.info(format_args!(
                "connected to proxy {} ({peer}) in {:.1?}",
                spec.display_url(),
                started.elapsed()
            ));
        }
        let io: Box<dyn Io> = match &self.tls {
            None => Box::new(tcp),
            Some(tls) => {
                let name = rustls_pki_types::ServerName::try_from(spec.host.clone()).map_err(|e| {
                    self.failure(FailureKind::Unreachable(
                        format!("bad proxy host name: {e}"),
                        Unreached::Other,
                    ))
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
                    self.failure(FailureKind::Unreachable(
                        format!("TLS handshake with the proxy failed: {e}"),
                        Unreached::of_tls(&e),
                    ))
                })?;
                inner.info(format_args!("TLS to proxy established"));
                Box::new(stream)
            }
        };
        let (send, conn) = hyper::client::conn::http1::Builder::new()
            .max_buf_size(super::super::HTTP_BUFFER)
            .max_headers(super::super::MAX_HEADER_FIELDS)
            .allow_spaces_after_header_name_in_responses(true)
            .allow_obsolete_multiline_headers_in_responses(true)
            .ignore_invalid_headers_in_responses(true)
            // The response head keeps its header names' case and reason phrase for the client
            // (`-i` prints them as received, as curl does).
            .preserve_header_case(true)
            .handshake::<_, RelayBody>(TokioIo::new(io))
            .await
            .map_err(|e| {
                self.failure(FailureKind::Unreachable(
                    format!("HTTP handshake failed: {e}"),
                    Unreached::Other,
                ))
            })?;
        // Spawned, but a response body can drive it from the task that reads it (`driven`).
        let driver = crate::relay::driven::Driver::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        Ok(Conn { send, driver, authenticated: None, primed: None })
    }

    pub(in crate::relay) fn failure(&self, kind: FailureKind) -> Failure {
        Failure {
            proxy: self.spec.display_url(),
            origin: self.spec.origin.clone(),
            target: String::new(),
            kind,
            status: None,
            offered: Vec::new(),
        }
    }
}

/// TCP to `host:port`, from the address `from` (`--interface`) when there is one: each of the
/// host's addresses of `from`'s family in turn, as `TcpStream::connect` tries them all (an
/// address of the other family cannot be reached from `from`: curl, and reqwest for the
/// server, fail there too).
async fn dial(host: &str, port: u16, from: Option<std::net::IpAddr>) -> std::io::Result<TcpStream> {
    let Some(from) = from else { return TcpStream::connect((host, port)).await };
    let mut last = None;
    for to in tokio::net::lookup_host((host, port)).await?.filter(|to| to.is_ipv4() == from.is_ipv4()) {
        let socket =
            if to.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
        socket.bind(std::net::SocketAddr::new(from, 0))?;
        match socket.connect(to).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        let family = if from.is_ipv4() { "IPv4" } else { "IPv6" };
        std::io::Error::new(
            std::io::ErrorKind::AddrNotAvailable,
            format!("the proxy has no {family} address, which --interface {from} needs"),
        )
    }))
}

fn timed_out(what: &str, t: std::time::Duration) -> String {
    format!("{what} to the proxy did not complete within --connect-timeout ({t:.1?})")
}

#[cfg(test)]
mod tests {
    use super::dial;

    #[tokio::test]
    async fn dial_leaves_from_the_interface_address_of_the_same_family_only() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tcp = dial("127.0.0.1", port, Some("127.0.0.2".parse().unwrap())).await.unwrap();
        assert_eq!(tcp.local_addr().unwrap().ip().to_string(), "127.0.0.2");
        let plain = dial("127.0.0.1", port, None).await.unwrap();
        assert_eq!(plain.local_addr().unwrap().ip().to_string(), "127.0.0.1");
        let e = dial("127.0.0.1", port, Some("::1".parse().unwrap())).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AddrNotAvailable);
        assert!(e.to_string().contains("no IPv6 address"), "{e}");
    }
}
