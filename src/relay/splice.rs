//! Passing a CONNECT tunnel's bytes between reqwest's connection to the relay and the relay's
//! connection to the upstream proxy, once the proxy answered 200.
//!
//! The relay is one extra loopback hop. Copying through user space costs two copies per byte
//! and per direction (plus the syscalls); on Linux, when both sides are plain TCP sockets (the
//! proxy is `http://`), `splice(2)` moves the bytes socket → pipe → socket inside the kernel
//! instead, so tunnel bytes never enter toll's memory. Everything else (an `https://` proxy,
//! where the relay holds the TLS session to the proxy; other systems) uses a buffered copy.
//!
//! Either way the semantics are `copy_bidirectional`'s: an end of stream on one side is passed
//! on as a half-close (`shutdown(SHUT_WR)`) of the other, the tunnel ends when both directions
//! have ended, and an error in either direction ends both.

use super::upstream::ProxyIo;
use bytes::Bytes;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Buffers of the user-space copy: large, allocated once per direction per tunnel.
const COPY_BUFFER: usize = 256 * 1024;

/// How a tunnel's bytes were passed (for `-v` and tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// In the kernel, `splice(2)` through a pipe per direction.
    Splice,
    /// Through user-space buffers.
    Copy,
}

impl Mode {
    /// The mode a tunnel to a proxy will use: splice needs plain TCP to the proxy and Linux.
    pub(super) fn for_proxy(tls_to_proxy: bool) -> Mode {
        if cfg!(target_os = "linux") && !tls_to_proxy {
            Mode::Splice
        } else {
            Mode::Copy
        }
    }
}

/// Passes bytes both ways between `client` (reqwest's connection to the relay, upgraded) and
/// `upstream` (the relay's connection to the proxy, upgraded) until both directions have ended.
pub(super) async fn pass(client: Upgraded, upstream: Upgraded) -> std::io::Result<Mode> {
    // Bytes hyper read past the CONNECT on either side go out first.
    let client = match client.downcast::<TokioIo<TcpStream>>() {
        Ok(parts) => (parts.io.into_inner(), parts.read_buf),
        Err(client) => {
            copy(TokioIo::new(client), Bytes::new(), TokioIo::new(upstream), Bytes::new()).await?;
            return Ok(Mode::Copy);
        }
    };
    match upstream.downcast::<TokioIo<ProxyIo>>() {
        Ok(parts) => match parts.io.into_inner() {
            #[cfg(target_os = "linux")]
            ProxyIo::Plain(tcp) => {
                linux::splice_both(client.0, client.1, tcp, parts.read_buf).await?;
                Ok(Mode::Splice)
            }
            other => {
                copy(client.0, client.1, other, parts.read_buf).await?;
                Ok(Mode::Copy)
            }
        },
        Err(upstream) => {
            copy(client.0, client.1, TokioIo::new(upstream), Bytes::new()).await?;
            Ok(Mode::Copy)
        }
    }
}

/// The user-space copy. `a_read`/`b_read`: bytes already read from `a`/`b`, owed to the other.
async fn copy<A, B>(mut a: A, a_read: Bytes, mut b: B, b_read: Bytes) -> std::io::Result<()>
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    if !a_read.is_empty() {
        b.write_all(&a_read).await?;
    }
    if !b_read.is_empty() {
        a.write_all(&b_read).await?;
    }
    tokio::io::copy_bidirectional_with_sizes(&mut a, &mut b, COPY_BUFFER, COPY_BUFFER).await?;
    Ok(())
}

#[cfg(target_os = "linux")]
mod linux {
    use super::*;
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    use tokio::io::Interest;

    /// Pipe capacity asked for: one `splice` moves up to this much. Linux allows 1 MiB to
    /// unprivileged processes by default (`/proc/sys/fs/pipe-max-size`); when refused, the
    /// default 64 KiB pipe still works, with more syscalls.
    const PIPE_SIZE: libc::c_int = 1024 * 1024;

    struct Pipe {
        read: OwnedFd,
        write: OwnedFd,
        size: usize,
    }

    impl Pipe {
        fn new() -> io::Result<Pipe> {
            let mut fds = [0 as libc::c_int; 2];
            // SAFETY: `fds` has room for the two descriptors pipe2 writes.
            if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: pipe2 succeeded: both descriptors are open and owned by nobody else.
            let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
            // SAFETY: fcntl on a descriptor we own; failure leaves the pipe as it was.
            let size = match unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE) } {
                n if n > 0 => n as usize,
                _ => match unsafe { libc::fcntl(write.as_raw_fd(), libc::F_GETPIPE_SZ) } {
                    n if n > 0 => n as usize,
                    _ => 64 * 1024,
                },
            };
            Ok(Pipe { read, write, size })
        }
    }

    fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
        // SAFETY: plain descriptors, no offsets (sockets and pipes have none).
        let n = unsafe {
            libc::splice(
                from,
                std::ptr::null_mut(),
                to,
                std::ptr::null_mut(),
                len,
                libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// `splice` both ways between two TCP sockets; `a_read`/`b_read` are bytes already read
    /// from `a`/`b` (written out first).
    pub(super) async fn splice_both(
        mut a: TcpStream,
        a_read: Bytes,
        mut b: TcpStream,
        b_read: Bytes,
    ) -> io::Result<()> {
        if !a_read.is_empty() {
            b.write_all(&a_read).await?;
        }
        if !b_read.is_empty() {
            a.write_all(&b_read).await?;
        }
        tokio::try_join!(one_way(&a, &b), one_way(&b, &a))?;
        Ok(())
    }

    /// Moves everything `from` sends to `to`, then half-closes `to`. The pipe is always empty
    /// when reading from the socket and non-empty when writing to it, so an `EAGAIN` is always
    /// the socket's (which is what `try_io` assumes when it clears the readiness).
    async fn one_way(from: &TcpStream, to: &TcpStream) -> io::Result<u64> {
        let pipe = Pipe::new()?;
        let mut total = 0u64;
        loop {
            let n = loop {
                from.readable().await?;
                match from.try_io(Interest::READABLE, || {
                    splice(from.as_raw_fd(), pipe.write.as_raw_fd(), pipe.size)
                }) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                }
            };
            if n == 0 {
                // SAFETY: shutdown on a socket we hold; a peer already gone is no error here.
                unsafe { libc::shutdown(to.as_raw_fd(), libc::SHUT_WR) };
                return Ok(total);
            }
            let mut left = n;
            while left > 0 {
                to.writable().await?;
                match to.try_io(Interest::WRITABLE, || splice(pipe.read.as_raw_fd(), to.as_raw_fd(), left)) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(m) => left -= m,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                }
            }
            total += n as u64;
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use tokio::io::AsyncReadExt;
        use tokio::net::TcpListener;

        /// Two connected loopback sockets.
        async fn pair() -> (TcpStream, TcpStream) {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
            let (s, _) = l.accept().await.unwrap();
            (c, s)
        }

        fn pattern(len: usize) -> Vec<u8> {
            (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn moves_large_transfers_both_ways_byte_exact_with_early_bytes_first() {
            // reqwest ── (client, relay_client) ══ splice ══ (relay_up, proxy) ── proxy
            let (mut client, relay_client) = pair().await;
            let (relay_up, mut proxy) = pair().await;
            let task = tokio::spawn(splice_both(
                relay_client,
                Bytes::from_static(b"early-from-client|"),
                relay_up,
                Bytes::from_static(b"early-from-proxy|"),
            ));
            let down = pattern(9 * 1024 * 1024 + 13);
            let up = pattern(3 * 1024 * 1024 + 7);
            let (d, u) = (down.clone(), up.clone());
            let sender = tokio::spawn(async move {
                proxy.write_all(&d).await.unwrap();
                proxy.shutdown().await.unwrap();
                let mut got = Vec::new();
                proxy.read_to_end(&mut got).await.unwrap();
                got
            });
            client.write_all(&u).await.unwrap();
            client.shutdown().await.unwrap();
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            assert_eq!(&got[..17], b"early-from-proxy|");
            assert!(got[17..] == down[..], "download byte-exact ({} bytes)", got.len() - 17);
            let at_proxy = sender.await.unwrap();
            assert_eq!(&at_proxy[..18], b"early-from-client|");
            assert!(at_proxy[18..] == up[..], "upload byte-exact");
            task.await.unwrap().unwrap();
        }

        #[tokio::test]
        async fn an_end_of_stream_is_a_half_close_the_other_way_keeps_flowing() {
            let (mut client, relay_client) = pair().await;
            let (relay_up, mut proxy) = pair().await;
            let task = tokio::spawn(splice_both(relay_client, Bytes::new(), relay_up, Bytes::new()));
            client.write_all(b"request").await.unwrap();
            client.shutdown().await.unwrap(); // the client is done sending
            let mut got = Vec::new();
            proxy.read_to_end(&mut got).await.unwrap(); // EOF arrives at the proxy …
            assert_eq!(got, b"request");
            // … which can still answer, after the client's half-close.
            proxy.write_all(b"answer after the half-close").await.unwrap();
            drop(proxy);
            let mut back = Vec::new();
            client.read_to_end(&mut back).await.unwrap();
            assert_eq!(back, b"answer after the half-close");
            task.await.unwrap().unwrap();
        }

        #[tokio::test]
        async fn a_reset_ends_the_tunnel_with_an_error() {
            let (client, relay_client) = pair().await;
            let (relay_up, proxy) = pair().await;
            let task = tokio::spawn(splice_both(relay_client, Bytes::new(), relay_up, Bytes::new()));
            // SO_LINGER 0: close sends RST instead of FIN.
            proxy.set_zero_linger().unwrap();
            drop(proxy);
            let res = tokio::time::timeout(std::time::Duration::from_secs(10), task).await;
            assert!(res.expect("the tunnel ends").unwrap().is_err());
            drop(client);
        }
    }
}
