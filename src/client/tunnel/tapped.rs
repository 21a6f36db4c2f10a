//! The wire tap on toll's own connections (see [`Tapped`]).

use std::pin::Pin;
use std::task::{Context, Poll};

/// A connection of this path whose plain bytes (under TLS: inside it) the wire tap sees, when the
/// run installed one, as it sees reqwest's through its log: `-i`, `-I` and `-D` print the
/// head as received here too (the server's spelling of names, its reason phrase).
pub(super) struct Tapped<S> {
    inner: S,
    tap: Option<(super::super::wire::Tap, u32)>,
}

impl<S> Tapped<S> {
    pub(super) fn new(inner: S) -> Tapped<S> {
        let tap =
            super::super::wire::Tap::installed().map(|t| (t, super::super::wire::Tap::own_connection()));
        Tapped { inner, tap }
    }
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Tapped<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        std::task::ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        if let (Some((tap, id)), true) = (&self.tap, buf.filled().len() > before) {
            tap.record(*id, false, &buf.filled()[before..]);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Tapped<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let n = std::task::ready!(Pin::new(&mut self.inner).poll_write(cx, data))?;
        if let (Some((tap, id)), true) = (&self.tap, n > 0) {
            tap.record(*id, true, &data[..n]);
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
