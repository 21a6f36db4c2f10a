//! The request body of `-d`, `--data-binary`, `--json`, `-T` and `-F`, attached to a request as
//! curl sends it: with its length (`Content-Length`, `0` for an empty `-d ''` too) whenever it is
//! known before sending. A regular file is streamed with its size; standard input, a pipe, a
//! pseudo-file or a `-d @FILE` (whose CR/LF are dropped) is read up to [`BUFFERED`] bytes first —
//! curl reads them whole and announces the length, which some servers require — and only a
//! larger one is streamed chunked, never read whole into memory.

use super::{form, ReadFailed};
use crate::config::{Body, BodySource, RequestConfig};
use crate::error::{Error, Exit, Result};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The most of an unknown-length body read before sending, to announce its length.
const BUFFERED: usize = 1 << 20;

/// `rb` with `body` attached (and its length when known). `again`: a redirect's request.
pub(super) async fn attach(
    rb: reqwest::RequestBuilder,
    req: &RequestConfig,
    body: &Body,
    again: bool,
) -> Result<reqwest::RequestBuilder> {
    Ok(match (&body.source, body.strip_newlines) {
        // hyper announces no length for an empty body; curl sends `Content-Length: 0`.
        (BodySource::Bytes(b), _) if b.is_empty() => {
            rb.header(reqwest::header::CONTENT_LENGTH, 0).body(Vec::new())
        }
        (BodySource::Bytes(b), _) => rb.body(b.clone()),
        (BodySource::File(path), strip) => {
            let what = path.display().to_string();
            let file = tokio::fs::File::open(path).await.map_err(|e| read_error(&what, &e))?;
            let meta = file.metadata().await.map_err(|e| read_error(&what, &e))?;
            // `--aws-sigv4` signs the body's hash, which needs it read first: a file up to
            // `BUFFERED` is (larger ones go as `UNSIGNED-PAYLOAD`, which only S3 accepts).
            let hashed = req.origin_auth.as_ref().is_some_and(|a| a.sigv4.is_some());
            match known_length(&meta) {
                // Streamed in large reads (reqwest's own File body reads 4 KiB at a time),
                // with the length announced so the upload is not chunked.
                Some(len) if !(strip || hashed && len <= BUFFERED as u64) => rb
                    .header(reqwest::header::CONTENT_LENGTH, len)
                    .body(streamed(AsAnnounced::new(file, len), what, false)),
                // A pipe (`<(…)`), a device, a pseudo-file (/proc), an empty file or one whose
                // line breaks are dropped: its length is known once read.
                _ => buffered(rb, file, what, strip, false).await?,
            }
        }
        (BodySource::Stdin, strip) => match STDIN_READ.get() {
            // Read by an earlier transfer (or before a 307): the same bytes again.
            Some(b) => {
                unsized_body_starts();
                count_sent(b.len());
                rb.header(reqwest::header::CONTENT_LENGTH, b.len()).body(b.clone())
            }
            None if STDIN_STREAMED.load(std::sync::atomic::Ordering::Relaxed) => {
                return Err(Error::new(
                    Exit::Read,
                    "standard input (over 1 MiB) was sent with an earlier request and cannot be sent again",
                )
                .hint("save the body to a file and use --data-binary @FILE"));
            }
            None => buffered(rb, tokio::io::stdin(), "standard input".into(), strip, true).await?,
        },
        (BodySource::Form(parts), _) => {
            let typed = req.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("content-type"));
            let typed = typed.map(|(_, v)| v.as_str());
            form::attach(rb, parts, typed, again).await?
        }
    })
}

/// Bytes of bodies whose length is only known once read (standard input, a pipe, a file whose
/// line breaks are dropped), as they are handed to the connection, and the count when the
/// latest such body was attached: `%{size_upload}` is what the last request sent of it (a
/// 307 that sends it again does not count it twice).
static UNSIZED_SENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static UNSIZED_START: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Standard input read whole (it held at most [`BUFFERED`] bytes) by the first body that used
/// it: later requests (the next URL, a redirect that keeps the body) send the same bytes, as
/// curl sends `-d @-` data it read once. A larger one is streamed once ([`STDIN_STREAMED`]).
static STDIN_READ: std::sync::OnceLock<bytes::Bytes> = std::sync::OnceLock::new();
static STDIN_STREAMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a request body from standard input can be sent again (it was read whole).
pub(super) fn stdin_replayable() -> bool {
    STDIN_READ.get().is_some()
}

/// How much of the latest body of unknown length was sent (see [`UNSIZED_SENT`]).
pub(super) fn unsized_sent() -> u64 {
    let sent = UNSIZED_SENT.load(std::sync::atomic::Ordering::Relaxed);
    sent.saturating_sub(UNSIZED_START.load(std::sync::atomic::Ordering::Relaxed))
}

/// A body of unknown length is attached: counting starts again from here.
pub(super) fn unsized_body_starts() {
    let sent = UNSIZED_SENT.load(std::sync::atomic::Ordering::Relaxed);
    UNSIZED_START.store(sent, std::sync::atomic::Ordering::Relaxed);
}

pub(super) fn count_sent(n: usize) {
    UNSIZED_SENT.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
}

/// Reads up to [`BUFFERED`] bytes of `reader`: if that is all of it, the body is sent with its
/// length; otherwise what was read goes first and the rest is streamed (chunked).
/// `stdin`: the reader is standard input, kept for later requests when read whole.
async fn buffered<R: AsyncRead + Send + Unpin + 'static>(
    rb: reqwest::RequestBuilder,
    reader: R,
    what: String,
    strip: bool,
    stdin: bool,
) -> Result<reqwest::RequestBuilder> {
    unsized_body_starts();
    let mut head = Vec::new();
    let mut limited = reader.take(BUFFERED as u64);
    limited.read_to_end(&mut head).await.map_err(|e| read_error(&what, &e))?;
    let complete = head.len() < BUFFERED;
    if strip {
        head.retain(|b| *b != b'\r' && *b != b'\n');
    }
    if complete {
        count_sent(head.len());
        let head = bytes::Bytes::from(head);
        if stdin {
            let _ = STDIN_READ.set(head.clone());
        }
        return Ok(rb.header(reqwest::header::CONTENT_LENGTH, head.len()).body(head));
    }
    if stdin {
        STDIN_STREAMED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let first = futures_util::stream::once(async move { Ok(bytes::Bytes::from(head)) });
    let rest = stream(limited.into_inner(), what, strip);
    let counted = futures_util::StreamExt::inspect(futures_util::StreamExt::chain(first, rest), |chunk| {
        if let Ok(b) = chunk {
            count_sent(b.len());
        }
    });
    Ok(rb.body(reqwest::Body::wrap_stream(counted)))
}

/// The length to announce for a file body: only a regular file's, and only when its size can be
/// believed. /proc files say 0 and /sys files say 4096 whatever they hold; both occupy no disk
/// blocks (unix), which is how they are told apart (a fully sparse file is read first too:
/// harmless). An empty file is read first (and found empty).
pub(super) fn known_length(meta: &std::fs::Metadata) -> Option<u64> {
    #[cfg(unix)]
    let on_disk = std::os::unix::fs::MetadataExt::blocks(meta) > 0;
    #[cfg(not(unix))]
    let on_disk = true;
    (meta.is_file() && meta.len() > 0 && on_disk).then_some(meta.len())
}

/// A body read as it is sent, never whole in memory (sent chunked unless a length is set).
/// `strip` drops CR and LF, as curl's `-d @file` does.
fn streamed<R: AsyncRead + Send + Unpin + 'static>(reader: R, what: String, strip: bool) -> reqwest::Body {
    reqwest::Body::wrap_stream(stream(reader, what, strip))
}

fn stream<R: AsyncRead + Send + Unpin + 'static>(
    reader: R,
    what: String,
    strip: bool,
) -> impl futures_util::Stream<Item = std::result::Result<bytes::Bytes, ReadFailed>> + Send + 'static {
    const CHUNK: usize = 256 * 1024;
    futures_util::stream::unfold(Some((reader, what)), move |state| async move {
        let (mut reader, what) = state?;
        let mut buf = vec![0u8; CHUNK];
        match reader.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                if strip {
                    buf.retain(|b| *b != b'\r' && *b != b'\n');
                }
                Some((Ok(bytes::Bytes::from(buf)), Some((reader, what))))
            }
            Err(e) => Some((Err(ReadFailed(format!("cannot read {what}: {e}"))), None)),
        }
    })
}

/// A file read for a body whose length was announced from its size: it ends at that size
/// (bytes appended meanwhile are not sent), and ending sooner is a read error (the file was
/// truncated while it was sent), not a body shorter than its `Content-Length`, for which the
/// server would wait in vain, and toll with it.
pub(super) struct AsAnnounced<R> {
    inner: tokio::io::Take<R>,
    read: u64,
    len: u64,
}

impl<R: AsyncRead + Unpin> AsAnnounced<R> {
    pub(super) fn new(inner: R, len: u64) -> AsAnnounced<R> {
        AsAnnounced { inner: inner.take(len), read: 0, len }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for AsAnnounced<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        std::task::ready!(std::pin::Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let n = (buf.filled().len() - before) as u64;
        if n == 0 && buf.remaining() > 0 && self.read < self.len {
            let why = format!("it shrank while it was sent ({} of {} bytes)", self.read, self.len);
            return std::task::Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, why)));
        }
        self.read += n;
        std::task::Poll::Ready(Ok(()))
    }
}

pub(super) fn read_error(what: &str, e: &std::io::Error) -> Error {
    Error::new(Exit::Read, format!("cannot read {what}: {e}"))
        .hint("check the file's name (after '@' for -d, or given to -T) and that it is readable")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sent(body: Body) -> (Option<String>, Vec<u8>) {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        let rb = client.post("http://127.0.0.1:9/");
        let req = RequestConfig::get(url::Url::parse("http://127.0.0.1:9/").unwrap());
        let built = attach(rb, &req, &body, false).await.unwrap().build().unwrap();
        let length = built.headers().get("content-length").map(|v| v.to_str().unwrap().to_string());
        let bytes = built.body().and_then(reqwest::Body::as_bytes).map(<[u8]>::to_vec).unwrap_or_default();
        (length, bytes)
    }

    fn file_body(content: &[u8], strip: bool) -> (tempfile::TempDir, Body) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, content).unwrap();
        (dir, Body { source: BodySource::File(path), strip_newlines: strip })
    }

    #[tokio::test]
    async fn an_empty_body_announces_length_zero() {
        let body = Body { source: BodySource::Bytes(Vec::new()), strip_newlines: false };
        assert_eq!(sent(body).await, (Some("0".into()), Vec::new()));
        let (_dir, body) = file_body(b"", false);
        assert_eq!(sent(body).await, (Some("0".into()), Vec::new()));
    }

    #[tokio::test]
    async fn a_data_file_without_line_breaks_is_sent_with_its_length() {
        let (_dir, body) = file_body(b"a=1\r\nb=2\n", true);
        assert_eq!(sent(body).await, (Some("6".into()), b"a=1b=2".to_vec()));
        let (_dir, body) = file_body(b"a=1\r\n", false);
        let (length, _) = sent(body).await;
        assert_eq!(length.as_deref(), Some("5"));
    }

    #[tokio::test]
    async fn a_file_is_read_as_far_as_its_announced_size() {
        let mut out = Vec::new();
        let mut grown = AsAnnounced::new(&b"abcdef"[..], 4);
        grown.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"abcd", "bytes appended after the size was taken are not sent");
        out.clear();
        let mut shrunk = AsAnnounced::new(&b"ab"[..], 4);
        let e = shrunk.read_to_end(&mut out).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
        assert_eq!(e.to_string(), "it shrank while it was sent (2 of 4 bytes)");
        assert_eq!(out, b"ab");
    }

    #[tokio::test]
    async fn a_large_unknown_length_body_is_streamed() {
        let (_dir, body) = file_body(&vec![b'x'; BUFFERED + 10], true);
        assert_eq!(sent(body).await.0, None);
    }
}
