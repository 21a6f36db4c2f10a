//! A client connection's first request head, read by toll serve itself before hyper sees the
//! connection. Why: most connections a proxy gets are `CONNECT`s that wait (for a turn to set
//! the tunnel up, then for the proxy) and then become byte pipes; hyper would hold its two
//! 8 KiB buffers and its service state for each of them all that time. Reading the head with a
//! buffer of our own that starts at nothing and grows only as bytes arrive makes 1,000 clients
//! connecting at once cost about what their sockets cost. Anything other than a well-formed
//! `CONNECT host:port` is handed to hyper with the bytes read so far ([`Rewind`]), so hyper
//! remains the one HTTP server for everything else (its 400s and 431s included).

use http::header::{HeaderName, HeaderValue};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The first read's size; later ones double it, up to the head limit.
const FIRST_READ: usize = 1024;

/// Headers a CONNECT head may carry before it goes to hyper (which allows 100).
const MAX_HEADERS: usize = 32;

/// What the first head turned out to be.
#[derive(Debug)]
pub enum First {
    /// A complete `CONNECT host:port` head (`rest`: bytes the client sent after it).
    Connect { authority: http::uri::Authority, headers: http::HeaderMap, rest: Vec<u8> },
    /// Anything else, or a head too large or not well-formed: for hyper, with what was read.
    Hyper(Vec<u8>),
    /// The client closed, failed or did not finish its head within the time limit: nothing
    /// to answer.
    Gone,
}

/// Reads the first request head from `tcp`, at most `max` bytes, within `timeout`.
pub async fn read(tcp: &TcpStream, max: usize, timeout: Duration) -> First {
    match tokio::time::timeout(timeout, read_head(tcp, max)).await {
        Ok(Ok(first)) => first,
        Ok(Err(_)) | Err(_) => First::Gone,
    }
}

async fn read_head(tcp: &TcpStream, max: usize) -> io::Result<First> {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // No buffer while the client is silent: an idle connection holds only its socket.
        tcp.readable().await?;
        if buf.len() == buf.capacity() {
            buf.reserve((buf.capacity() * 2).clamp(FIRST_READ, max.max(FIRST_READ)) - buf.len());
        }
        let end = buf.len();
        buf.resize(buf.capacity(), 0);
        match tcp.try_read(&mut buf[end..]) {
            Ok(0) => return Ok(First::Gone),
            Ok(n) => buf.truncate(end + n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                buf.truncate(end);
                continue;
            }
            Err(e) => return Err(e),
        }
        match parse(&buf) {
            Parsed::Partial if buf.len() < max => continue,
            Parsed::Partial | Parsed::Other => return Ok(First::Hyper(buf)),
            Parsed::Connect { authority, headers, len } => {
                let rest = buf.split_off(len);
                return Ok(First::Connect { authority, headers, rest });
            }
        }
    }
}

/// What the bytes read so far are (public for the `connect_head` fuzz target).
#[derive(Debug)]
pub enum Parsed {
    /// Could still become a CONNECT head: read more.
    Partial,
    /// Not a CONNECT this module takes: hyper's.
    Other,
    /// A complete `CONNECT host:port` head of `len` bytes.
    Connect { authority: http::uri::Authority, headers: http::HeaderMap, len: usize },
}

pub fn parse(buf: &[u8]) -> Parsed {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            // Not a CONNECT (or not HTTP): hyper's from the first line on.
            return match req.method {
                Some(m) if m != "CONNECT" => Parsed::Other,
                _ if !b"CONNECT ".starts_with(&buf[..buf.len().min(8)]) => Parsed::Other,
                _ => Parsed::Partial,
            };
        }
        Err(_) => return Parsed::Other,
    };
    if req.method != Some("CONNECT") {
        return Parsed::Other;
    }
    let Some(authority) = req.path.and_then(|p| http::uri::Authority::try_from(p).ok()) else {
        return Parsed::Other;
    };
    if authority.port_u16().is_none() || authority.as_str().contains('@') {
        return Parsed::Other;
    }
    let mut headers = http::HeaderMap::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(h.name.as_bytes()), HeaderValue::from_bytes(h.value))
        else {
            return Parsed::Other;
        };
        headers.append(name, value);
    }
    Parsed::Connect { authority, headers, len }
}

/// A connection whose first bytes were already read: they are read again first.
pub struct Rewind {
    pre: Vec<u8>,
    at: usize,
    inner: TcpStream,
}

impl Rewind {
    pub fn new(pre: Vec<u8>, inner: TcpStream) -> Rewind {
        Rewind { pre, at: 0, inner }
    }
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.at < self.pre.len() {
            let n = (self.pre.len() - self.at).min(out.remaining());
            out.put_slice(&self.pre[self.at..self.at + n]);
            self.at += n;
            if self.at == self.pre.len() {
                self.pre = Vec::new();
                self.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, out)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, b)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        b: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, b)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn connect_of(p: Parsed) -> (String, http::HeaderMap, usize) {
        match p {
            Parsed::Connect { authority, headers, len } => (authority.to_string(), headers, len),
            Parsed::Partial => panic!("partial"),
            Parsed::Other => panic!("other"),
        }
    }

    #[test]
    fn a_connect_head_is_taken_with_its_headers_and_length() {
        let head = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nUser-Agent: x\r\n\r\n";
        let mut bytes = head.to_vec();
        bytes.extend_from_slice(b"\x16\x03\x01");
        let (a, h, len) = connect_of(parse(&bytes));
        assert_eq!(a, "example.com:443");
        assert_eq!(h.get("user-agent").unwrap(), "x");
        assert_eq!(len, head.len());
        let (a, _, _) = connect_of(parse(b"CONNECT [::1]:8443 HTTP/1.1\r\n\r\n"));
        assert_eq!(a, "[::1]:8443");
    }

    #[test]
    fn anything_else_goes_to_hyper_and_a_connect_in_pieces_waits() {
        for other in [
            &b"GET http://example.com/ HTTP/1.1\r\n\r\n"[..],
            b"GET http://exa",
            b"G",
            b"\x16\x03\x01\x02\x00",
            b"CONNECT example.com HTTP/1.1\r\n\r\n",
            b"CONNECT user@example.com:443 HTTP/1.1\r\n\r\n",
            b"CONNECT /path HTTP/1.1\r\n\r\n",
            b"CONNECT a:1 HTTP/1.1\r\nBad Header: x\r\n\r\n",
            b"CONNECT a:1 HTTP/1.1\r\nX: \x01\r\n\r\n",
        ] {
            assert!(matches!(parse(other), Parsed::Other), "{:?}", String::from_utf8_lossy(other));
        }
        for partial in [&b""[..], b"C", b"CONNEC", b"CONNECT ", b"CONNECT a:1 HTTP/1.1\r\nHost: a"] {
            assert!(matches!(parse(partial), Parsed::Partial), "{:?}", String::from_utf8_lossy(partial));
        }
        // More headers than a CONNECT needs: hyper's (it allows more).
        let mut many = b"CONNECT a:1 HTTP/1.1\r\n".to_vec();
        for i in 0..MAX_HEADERS + 1 {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert!(matches!(parse(&many), Parsed::Other));
    }

    #[tokio::test]
    async fn heads_arrive_in_pieces_and_large_ones_go_to_hyper_whole() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            let mut c = TcpStream::connect(addr).await.unwrap();
            for piece in [&b"CONN"[..], b"ECT a:1 HTTP/1.1\r\n", b"Host: a:1\r\n\r\nEARLY"] {
                c.write_all(piece).await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let mut c2 = TcpStream::connect(addr).await.unwrap();
            let big = format!("CONNECT a:1 HTTP/1.1\r\nX: {}\r\n\r\n", "v".repeat(5000));
            c2.write_all(big.as_bytes()).await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            (c, c2)
        });
        let (tcp, _) = listener.accept().await.unwrap();
        match read(&tcp, 4096, Duration::from_secs(5)).await {
            First::Connect { authority, rest, .. } => {
                assert_eq!(authority.as_str(), "a:1");
                assert_eq!(rest, b"EARLY");
            }
            other => panic!("{other:?}"),
        }
        let (tcp2, _) = listener.accept().await.unwrap();
        let pre = match read(&tcp2, 4096, Duration::from_secs(5)).await {
            First::Hyper(pre) => pre,
            other => panic!("{other:?}"),
        };
        assert!(pre.len() >= 4096, "{}", pre.len());
        // Hyper reads the same bytes again, then the rest of the stream.
        let mut rewound = Rewind::new(pre, tcp2);
        let mut all = vec![0u8; 5000];
        rewound.read_exact(&mut all).await.unwrap();
        assert!(all.starts_with(b"CONNECT a:1 HTTP/1.1\r\nX: vvv"));
        let _ = client.await.unwrap();
    }

    #[tokio::test]
    async fn a_silent_or_closing_client_is_gone() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let silent = TcpStream::connect(addr).await.unwrap();
        let (tcp, _) = listener.accept().await.unwrap();
        assert!(matches!(read(&tcp, 4096, Duration::from_millis(100)).await, First::Gone));
        drop(silent);
        let mut half = TcpStream::connect(addr).await.unwrap();
        let (tcp, _) = listener.accept().await.unwrap();
        half.write_all(b"CONNECT a:1 HTTP/1.1\r\n").await.unwrap();
        half.shutdown().await.unwrap();
        assert!(matches!(read(&tcp, 4096, Duration::from_secs(5)).await, First::Gone));
    }
}
