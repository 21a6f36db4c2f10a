//! Opening a connection to the upstream proxy: TCP (with `--connect-timeout`), TLS for an
//! `https://` proxy (the timeout covers the handshake too), then an HTTP/1.1 client connection
//! on it whose driver runs in its own task.

use super::super::body::RelayBody;
use super::super::{Failure, FailureKind, Family, Inner, Unreached, Upstream};
use super::Conn;
use crate::socks::{Failed, Hop};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// How long each step with `--preproxy`'s SOCKS proxy may take without `--connect-timeout`: a
/// SOCKS proxy that takes the connection and never answers must not hang the run.
const SOCKS_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl Upstream {
    pub(in crate::relay) async fn connect(&self, inner: &Inner) -> Result<Conn, Failure> {
        let spec = &self.spec;
        let started = std::time::Instant::now();
        let tcp = match &self.preproxy {
            Some(hop) => self.through_preproxy(hop, inner).await?,
            None => {
                let host = inner.pinned(&spec.host, spec.port);
                let tcp = dial(
                    &host,
                    spec.port,
                    inner.local_address.get().copied(),
                    inner.family.get().copied(),
                    inner.doh.get().map(|d| &**d),
                );
                match inner.connect_timeout {
                    Some(t) => tokio::time::timeout(t, tcp).await.map_err(|_| {
                        self.failure(FailureKind::Timeout(timed_out("the TCP connection", t)))
                    })?,
                    None => tcp.await,
                }
                .map_err(|e| match crate::doh::LookupError::inside(&e) {
                    Some(d) => {
                        self.failure(FailureKind::Unreachable(format!("cannot resolve: {d}"), Unreached::Doh))
                    }
                    None => self
                        .failure(FailureKind::Unreachable(format!("cannot connect: {e}"), Unreached::of(&e))),
                })?
            }
        };
        let _ = tcp.set_nodelay(true);
        inner.note_peer(spec, &tcp);
        // Only when shown: `toll serve` opens a connection per tunnel, and the peer's address
        // is a system call.
        if inner.reporter.verbose() {
            let peer = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_default();
            let via = match &self.preproxy {
                Some(hop) => format!(" through the SOCKS proxy {}", hop.spec.display_url()),
                None => String::new(),
            };
            inner.info(format_args!(
                "connected to proxy {}{via} ({peer}) in {:.1?}",
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
                        format!(
                            "TLS handshake with the proxy failed: {}",
                            crate::relay::readable(&e.to_string())
                        ),
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
            // Request field names as curl writes them (`Proxy-Authorization`, `Host`), for
            // proxies that read them case-sensitively.
            .title_case_headers(true)
            .handshake::<_, RelayBody>(TokioIo::new(io))
            .await
            .map_err(|e| {
                self.failure(FailureKind::Unreachable(
                    format!("HTTP handshake failed: {e}"),
                    Unreached::Other,
                ))
            })?;
        // Spawned, but a response body can drive it from the task that reads it (`driven`).
        let (record, ended) = tokio::sync::watch::channel(None);
        let driver = crate::relay::driven::Driver::spawn(async move {
            let end = conn.with_upgrades().await.map_err(|e| crate::error::chain_text(&e));
            let _ = record.send(Some(end));
        });
        Ok(Conn { send, driver, authenticated: None, primed: None, ended })
    }

    /// TCP to the proxy through `--preproxy`'s SOCKS proxy `hop`. `--connect-timeout` (else
    /// [`SOCKS_WAIT`]) bounds the connection to the SOCKS proxy and each exchange with it, not a
    /// password prompt between them. With `socks5://` and `socks4://` the proxy's name is
    /// resolved here (with `-4`/`-6`; SOCKS4 carries IPv4 only), and each address is asked for
    /// in turn while the SOCKS proxy cannot reach it.
    async fn through_preproxy(&self, hop: &Hop, inner: &Inner) -> Result<TcpStream, Failure> {
        let spec = &self.spec;
        let limit = inner.connect_timeout.unwrap_or(SOCKS_WAIT);
        let (from, family) = (inner.local_address.get().copied(), inner.family.get().copied());
        let doh = inner.doh.get().map(|d| &**d);
        let socks = hop.spec.display_url();
        let failed = |f: Failed| self.failure(FailureKind::Preproxy(f));
        let v4 = family.map(|f| f == Family::V4);
        let dests = hop.dests(&spec.host, spec.port, v4, limit, doh).await.map_err(|e| {
            let step =
                if crate::doh::LookupError::inside(&e).is_some() { Unreached::Doh } else { Unreached::Name };
            self.failure(FailureKind::Unreachable(
                format!("cannot resolve the proxy's name (to give the SOCKS proxy {socks}): {e}"),
                step,
            ))
        })?;
        if dests.is_empty() {
            let what =
                if hop.is_v4() { "IPv4 address (SOCKS4 carries no other)" } else { "address of that family" };
            return Err(self.failure(FailureKind::Unreachable(
                format!("the proxy's name has no {what} to give the SOCKS proxy {socks}"),
                Unreached::Name,
            )));
        }
        let open = || {
            let socks = socks.clone();
            async move {
                let host = inner.pinned(&hop.spec.host, hop.spec.port);
                match tokio::time::timeout(limit, dial(&host, hop.spec.port, from, family, doh)).await {
                    Ok(Ok(tcp)) => {
                        let _ = tcp.set_nodelay(true);
                        Ok(tcp)
                    }
                    Ok(Err(e)) => Err(Failed::new(
                        http::StatusCode::BAD_GATEWAY,
                        "connection_refused",
                        format!("cannot reach the SOCKS proxy {socks} (--preproxy): {e}"),
                    )),
                    Err(_) => Err(Failed::new(
                        http::StatusCode::GATEWAY_TIMEOUT,
                        "connection_timeout",
                        format!(
                            "cannot reach the SOCKS proxy {socks} (--preproxy): {}",
                            timed_out("the TCP connection", limit)
                        ),
                    )),
                }
            }
        };
        hop.connect(&dests, spec.port, limit, open).await.map_err(failed)
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

/// TCP to `host:port`: each of the host's addresses in turn, as `TcpStream::connect` tries
/// them all, but only those of `family` (`-4`, `-6`) and, with `from` (`--interface`), only
/// those of its family, each connection bound to it (an address of the other family cannot be
/// reached from `from`: curl, and reqwest for the server, fail there too). With `doh`
/// (`--doh-url`) the name is looked up through it, and its failure is the error: no system
/// lookup then.
async fn dial(
    host: &str,
    port: u16,
    from: Option<std::net::IpAddr>,
    family: Option<crate::relay::Family>,
    doh: Option<&crate::doh::Doh>,
) -> std::io::Result<TcpStream> {
    let addrs: Vec<std::net::SocketAddr> = match doh {
        Some(doh) => {
            let ips = doh.lookup(host).await.map_err(std::io::Error::other)?;
            ips.into_iter().map(|ip| std::net::SocketAddr::new(ip, port)).collect()
        }
        None if from.is_none() && family.is_none() => return TcpStream::connect((host, port)).await,
        None => tokio::net::lookup_host((host, port)).await?.collect(),
    };
    let v4 = match (family, from) {
        (Some(f), _) => Some(f == crate::relay::Family::V4),
        (None, Some(ip)) => Some(ip.is_ipv4()),
        (None, None) => None,
    };
    let mut last = None;
    for to in addrs.into_iter().filter(|to| v4.is_none_or(|v4| to.is_ipv4() == v4)) {
        let socket =
            if to.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
        match from {
            Some(from) if from.is_ipv4() == to.is_ipv4() => {
                socket.bind(std::net::SocketAddr::new(from, 0))?
            }
            Some(from) => {
                let why = format!(
                    "--interface {from} and {} cannot be combined",
                    if to.is_ipv4() { "-4" } else { "-6" }
                );
                return Err(std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, why));
            }
            None => {}
        }
        match socket.connect(to).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        let why = match (v4, from) {
            (None, _) => "the proxy's name has no address".to_string(),
            (Some(v4), Some(from)) => {
                format!(
                    "the proxy has no {} address, which --interface {from} needs",
                    if v4 { "IPv4" } else { "IPv6" }
                )
            }
            (Some(v4), None) => format!(
                "the proxy has no {} address, which -{} asks for",
                if v4 { "IPv4" } else { "IPv6" },
                if v4 { 4 } else { 6 }
            ),
        };
        std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, why)
    }))
}

fn timed_out(what: &str, t: std::time::Duration) -> String {
    format!("{what} to the proxy did not complete within --connect-timeout ({t:.1?})")
}

/// How a connection's driver ended: `None` while it runs, then its error's text, if any.
pub(in crate::relay) type Ended = tokio::sync::watch::Receiver<Option<Result<(), String>>>;

/// The error that ended a connection whose request just failed, if one did. The driver records
/// it just after the request's failure is handed back (on a loaded machine, milliseconds
/// later): it is waited for, at most a second.
pub(in crate::relay) async fn ended_with(mut ended: Ended) -> Option<String> {
    let done = tokio::time::timeout(std::time::Duration::from_secs(1), ended.wait_for(Option::is_some));
    let end = done.await.ok()?.ok()?.clone()?;
    end.err()
}

#[cfg(test)]
mod tests {
    use super::dial;

    #[tokio::test]
    async fn dial_leaves_from_the_interface_address_of_the_same_family_only() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tcp = dial("127.0.0.1", port, Some("127.0.0.2".parse().unwrap()), None, None).await.unwrap();
        assert_eq!(tcp.local_addr().unwrap().ip().to_string(), "127.0.0.2");
        let plain = dial("127.0.0.1", port, None, None, None).await.unwrap();
        assert_eq!(plain.local_addr().unwrap().ip().to_string(), "127.0.0.1");
        let e = dial("127.0.0.1", port, Some("::1".parse().unwrap()), None, None).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AddrNotAvailable);
        assert!(e.to_string().contains("no IPv6 address"), "{e}");
    }

    /// `-4`/`-6`: only the asked family's addresses are dialled; a proxy without one is a clear
    /// error, and so is `--interface` of the other family.
    #[tokio::test]
    async fn dial_keeps_to_the_family_minus_4_or_minus_6_asks_for() {
        use crate::relay::Family;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tcp = dial("127.0.0.1", port, None, Some(Family::V4), None).await.unwrap();
        assert!(tcp.peer_addr().unwrap().is_ipv4());
        let e = dial("127.0.0.1", port, None, Some(Family::V6), None).await.unwrap_err();
        assert!(e.to_string().contains("no IPv6 address, which -6 asks for"), "{e}");
        let v6 = tokio::net::TcpListener::bind("[::1]:0").await;
        if let Ok(v6) = v6 {
            let port = v6.local_addr().unwrap().port();
            let e = dial("::1", port, None, Some(Family::V4), None).await.unwrap_err();
            assert!(e.to_string().contains("no IPv4 address, which -4 asks for"), "{e}");
            let e = dial("::1", port, Some("127.0.0.2".parse().unwrap()), Some(Family::V6), None)
                .await
                .unwrap_err();
            assert!(e.to_string().contains("cannot be combined"), "{e}");
        }
    }
}
