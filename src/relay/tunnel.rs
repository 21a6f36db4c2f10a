//! The byte copy of an open tunnel (both directions, until both sides are done), with buffers
//! that cost nothing while a tunnel waits and grow only for a transfer that fills them.
//!
//! `toll serve` holds one tunnel per CONNECT of every program on the machine; most of them move
//! a few KiB and then wait (TLS handshakes, idle keep-alive connections). tokio's
//! `copy_bidirectional_with_sizes` allocates both buffers up front and keeps them for the
//! tunnel's life: with the 256 KiB that a 200 MiB download wants, 1,000 tunnels held up to
//! 500 MiB (glibc kept most of it resident: 451 MiB peak in bench/SERVE.md run 4). Here each
//! direction:
//!
//! - holds **no buffer while its reader has nothing** (a read that is pending frees it; the next
//!   wake-up allocates again, uninitialised, so no page is touched that no byte is read into);
//! - starts at [`MIN_BUFFER`] and doubles, up to [`MAX_BUFFER`], after a read that filled the
//!   whole buffer (a bulk transfer reaches 256 KiB reads in five steps);
//! - halves again after a read that used less than an eighth of it (the tunnel went quiet).
//!
//! Bytes are read only when the previous read's bytes are all written (no read-ahead), so a
//! direction never holds more than one buffer.

use std::future::poll_fn;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// First buffer of a direction: one TLS record (16 KiB of plaintext plus its overhead) fits in
/// one or two reads.
pub(crate) const MIN_BUFFER: usize = 16 * 1024;

/// Largest buffer: what a fast download through the tunnel wants per read (issue 10's measured
/// copy size).
pub(crate) const MAX_BUFFER: usize = 256 * 1024;

/// One direction of the copy.
struct Direction {
    /// Bytes read and not yet all written (`buf[pos..]`); capacity 0 while idle.
    buf: Vec<u8>,
    pos: usize,
    /// The size of the next buffer.
    size: usize,
    read_done: bool,
    need_flush: bool,
    done: bool,
    amt: u64,
    /// Reads that returned bytes (traffic, for the idle limit, even before it is written).
    reads: u64,
}

impl Direction {
    fn new() -> Direction {
        Direction {
            buf: Vec::new(),
            pos: 0,
            size: MIN_BUFFER,
            read_done: false,
            need_flush: false,
            done: false,
            amt: 0,
            reads: 0,
        }
    }

    /// The size the next buffer gets after a read of `n` bytes into `cap`.
    fn next_size(size: usize, n: usize, cap: usize) -> usize {
        if n >= cap {
            (size * 2).min(MAX_BUFFER)
        } else if n < cap / 8 {
            (size / 2).max(MIN_BUFFER)
        } else {
            size
        }
    }

    #[cfg(test)]
    fn held(&self) -> usize {
        self.buf.capacity()
    }

    fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        mut r: Pin<&mut R>,
        mut w: Pin<&mut W>,
    ) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        loop {
            if self.done {
                return Poll::Ready(Ok(self.amt));
            }
            if self.pos < self.buf.len() {
                let n = ready!(w.as_mut().poll_write(cx, &self.buf[self.pos..]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                self.pos += n;
                self.amt += n as u64;
                self.need_flush = true;
                continue;
            }
            self.buf.clear();
            self.pos = 0;
            if self.read_done {
                if self.need_flush {
                    ready!(w.as_mut().poll_flush(cx))?;
                    self.need_flush = false;
                }
                ready!(w.as_mut().poll_shutdown(cx))?;
                self.done = true;
                continue;
            }
            if self.buf.capacity() != self.size {
                self.buf = Vec::with_capacity(self.size);
            }
            let cap = self.buf.capacity();
            let mut rb = ReadBuf::uninit(self.buf.spare_capacity_mut());
            match r.as_mut().poll_read(cx, &mut rb) {
                Poll::Pending => {
                    // Nothing to pass on: hold no memory while waiting.
                    self.buf = Vec::new();
                    if self.need_flush {
                        ready!(w.as_mut().poll_flush(cx))?;
                        self.need_flush = false;
                    }
                    return Poll::Pending;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {
                    let n = rb.filled().len();
                    // The reader filled (initialised) the first `n` bytes of the spare capacity.
                    assert!(n <= cap);
                    // SAFETY: `ReadBuf::filled` is the initialised prefix of the spare capacity
                    // handed to `poll_read` (ReadBuf does not let a reader swap the buffer).
                    unsafe { self.buf.set_len(n) };
                    if n == 0 {
                        self.read_done = true;
                        self.buf = Vec::new();
                    } else {
                        self.reads += 1;
                        self.size = Direction::next_size(self.size, n, cap);
                    }
                }
            }
        }
    }
}

/// What a copy moved from `b` to `a` (the origin's side to the client), and the error that
/// ended it early, if one did (the count is then what had been written before it: `toll serve`
/// logs it either way).
#[derive(Debug)]
pub(crate) struct Copied {
    pub b_to_a: u64,
    pub error: Option<io::Error>,
}

/// Copies `a` → `b` and `b` → `a` until both reach end of file (each side is shut down for
/// writing when the other side's reading ends), or one fails, or — with `idle` — no byte has
/// moved either way for that long (then the error is `TimedOut`), or `stop` completes (then
/// the error is `Interrupted`: `toll serve` is shutting down).
pub(crate) async fn copy_both<A, B>(
    a: &mut A,
    b: &mut B,
    idle: Option<Duration>,
    stop: impl Future<Output = ()>,
) -> Copied
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let mut stop = std::pin::pin!(stop);
    let mut a_to_b = Direction::new();
    let mut b_to_a = Direction::new();
    // Re-armed only when it fires and bytes moved meanwhile, so a busy tunnel does not touch
    // the timer for every buffer it copies.
    let mut timer = idle.map(|d| (Box::pin(tokio::time::sleep(d)), d, 0u64));
    let ended = poll_fn(|cx| {
        let ab = a_to_b.poll_copy(cx, Pin::new(&mut *a), Pin::new(&mut *b))?;
        let ba = b_to_a.poll_copy(cx, Pin::new(&mut *b), Pin::new(&mut *a))?;
        if let (Poll::Ready(_), Poll::Ready(_)) = (ab, ba) {
            return Poll::Ready(Ok::<(), io::Error>(()));
        }
        if stop.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::Interrupted, "toll serve stopped")));
        }
        if let Some((sleep, d, seen)) = &mut timer {
            while sleep.as_mut().poll(cx).is_ready() {
                let moved = a_to_b.amt + b_to_a.amt + a_to_b.reads + b_to_a.reads;
                if moved == *seen {
                    let why = format!("no data either way for {} s", d.as_secs_f64());
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why)));
                }
                *seen = moved;
                sleep.as_mut().reset(tokio::time::Instant::now() + *d);
            }
        }
        Poll::Pending
    })
    .await;
    Copied { b_to_a: b_to_a.amt, error: ended.err() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn a_buffer_grows_only_when_a_read_fills_it_and_stays_bounded() {
        let mut size = MIN_BUFFER;
        for _ in 0..20 {
            size = Direction::next_size(size, size, size);
        }
        assert_eq!(size, MAX_BUFFER);
        // A few bytes in a big buffer: it shrinks back, never below the minimum.
        for _ in 0..20 {
            size = Direction::next_size(size, 100, size);
        }
        assert_eq!(size, MIN_BUFFER);
        // A read that half-fills it keeps it as it is.
        assert_eq!(Direction::next_size(64 * 1024, 32 * 1024, 64 * 1024), 64 * 1024);
    }

    #[test]
    fn a_waiting_direction_holds_no_buffer() {
        // A reader with nothing yet: the pending read frees what it was offered.
        let (mut client, far) = tokio::io::duplex(64);
        let (mut r, _keep) = tokio::io::split(far);
        let mut sink = tokio::io::sink();
        let mut d = Direction::new();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(d.poll_copy(&mut cx, Pin::new(&mut r), Pin::new(&mut sink)).is_pending());
        assert_eq!(d.held(), 0);
        // Bytes arrive: they are passed on and the buffer is dropped again once it waits.
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(client.write_all(b"hello")).unwrap();
        assert!(d.poll_copy(&mut cx, Pin::new(&mut r), Pin::new(&mut sink)).is_pending());
        assert_eq!(d.amt, 5);
        assert_eq!(d.held(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_tunnel_without_traffic_ends_after_the_idle_limit_and_traffic_keeps_it_open() {
        let (mut client, mut relay_a) = tokio::io::duplex(1024);
        let (mut origin, mut relay_b) = tokio::io::duplex(1024);
        let started = tokio::time::Instant::now();
        let copy = tokio::spawn(async move {
            copy_both(&mut relay_a, &mut relay_b, Some(Duration::from_secs(10)), std::future::pending()).await
        });
        // Traffic every 6 s for 30 s: never 10 s without a byte.
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_secs(6)).await;
            client.write_all(b"ping").await.unwrap();
            let mut four = [0u8; 4];
            origin.read_exact(&mut four).await.unwrap();
        }
        assert!(!copy.is_finished(), "a tunnel with traffic stays open");
        let copied = copy.await.unwrap();
        let e = copied.error.expect("ended by the idle limit");
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(40) && took <= Duration::from_secs(50), "{took:?}");
    }

    #[tokio::test]
    async fn a_stop_ends_an_open_tunnel_with_what_it_carried() {
        let (mut client, mut relay_a) = tokio::io::duplex(1024);
        let (mut origin, mut relay_b) = tokio::io::duplex(1024);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let copy = tokio::spawn(async move {
            copy_both(&mut relay_a, &mut relay_b, None, async {
                let _ = stopped.await;
            })
            .await
        });
        origin.write_all(b"welcome").await.unwrap();
        let mut seven = [0u8; 7];
        client.read_exact(&mut seven).await.unwrap();
        assert!(!copy.is_finished());
        stop.send(()).unwrap();
        let copied = copy.await.unwrap();
        assert_eq!(copied.error.map(|e| e.kind()), Some(io::ErrorKind::Interrupted));
        assert_eq!(copied.b_to_a, 7);
    }

    #[tokio::test]
    async fn both_directions_arrive_whole_and_end_with_end_of_file() {
        let (mut client, relay_a) = tokio::io::duplex(MAX_BUFFER);
        let (mut origin, relay_b) = tokio::io::duplex(7 * 1024);
        let copy = tokio::spawn(async move {
            let (mut a, mut b) = (relay_a, relay_b);
            copy_both(&mut a, &mut b, None, std::future::pending()).await
        });
        let big: Vec<u8> = (0..3 * 1024 * 1024 + 17).map(|i| (i % 251) as u8).collect();
        let up = big.clone();
        let writer = tokio::spawn(async move {
            client.write_all(&up).await.unwrap();
            client.shutdown().await.unwrap();
            let mut back = Vec::new();
            client.read_to_end(&mut back).await.unwrap();
            back
        });
        let mut got = Vec::new();
        origin.read_to_end(&mut got).await.unwrap();
        assert!(got == big, "the upload arrived changed ({} bytes of {})", got.len(), big.len());
        origin.write_all(b"done").await.unwrap();
        origin.shutdown().await.unwrap();
        assert_eq!(writer.await.unwrap(), b"done");
        let copied = copy.await.unwrap();
        assert!(copied.error.is_none(), "{copied:?}");
        assert_eq!(copied.b_to_a, 4);
    }
}
