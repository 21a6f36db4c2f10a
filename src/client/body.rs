//! The request body of `-d`, `--data-binary`, `--json`, `-T` and `-F`, attached to a request as
//! curl sends it: with its length (`Content-Length`, `0` for an empty `-d ''` too) whenever it is
//! known before sending. A regular file is streamed with its size (a `-d @FILE`, whose CR/LF are
//! dropped, is counted first: a read more, never whole in memory); standard input, a pipe or a
//! pseudo-file is read up to [`BUFFERED`] bytes first — curl reads them whole and announces the
//! length, which some servers require — and only a larger one is streamed chunked, never read
//! whole into memory. HTTP/1.0 has no chunked coding: there such a body is read whole.

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
    // With `--http1.0` a body of unknown length has no framing to go in but its length: it is
    // read whole first (as curl reads `-d @-`), or the server would get none of it.
    let whole = req.curl.conn.http10;
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
            if let Some(at) = super::resume::upload_offset(req).filter(|at| *at > 0) {
                return resumed(rb, file, known_length(&meta), at, what).await;
            }
            // `--aws-sigv4` signs the body's hash, which needs it read first: a file up to
            // `BUFFERED` is (larger ones go as `UNSIGNED-PAYLOAD`, which only S3 accepts).
            let hashed = req.origin_auth.as_ref().is_some_and(|a| a.sigv4.is_some());
            match known_length(&meta) {
                // Streamed in large reads (reqwest's own File body reads 4 KiB at a time),
                // with the length announced so the upload is not chunked.
                Some(len) if !(strip || hashed && len <= BUFFERED as u64) => rb
                    .header(reqwest::header::CONTENT_LENGTH, len)
                    .body(streamed(AsAnnounced::new(file, len), what, false)),
                // A large file whose line breaks are dropped: counted first, then streamed with
                // that length (curl reads it whole; servers without chunked uploads need one).
                Some(len) if len > BUFFERED as u64 => stripped(rb, file, what).await?,
                // A pipe (`<(…)`), a device, a pseudo-file (/proc), an empty file or a small one
                // whose line breaks are dropped: its length is known once read.
                _ => send_head(rb, read_head(file, &what, whole).await?, &what, strip).await?,
            }
        }
        (BodySource::Stdin, _) if super::resume::upload_offset(req).is_some_and(|at| at > 0) => {
            return Err(Error::new(Exit::Usage, "-C N resumes an upload from a file, not standard input")
                .hint("give the file with -T FILE"));
        }
        (BodySource::Stdin, strip) => {
            send_head(rb, stdin_head(whole).await?, "standard input", strip).await?
        }
        (BodySource::Form(parts), _) => {
            let typed = req.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("content-type"));
            let typed = typed.map(|(_, v)| v.as_str());
            form::attach(rb, parts, typed, again, whole).await?
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

/// Where standard input stood when a body first used it, when it is a regular file (`< FILE`)
/// holding more than [`BUFFERED`] bytes from there: each body that uses it reads it from there.
static STDIN_FILE_START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

/// Whether a request body from standard input can be sent again (it was read whole, or it is
/// a file read from where it stood).
pub(super) fn stdin_replayable() -> bool {
    STDIN_READ.get().is_some() || STDIN_FILE_START.get().is_some()
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

/// What was read of a body of unknown length before it is sent.
pub(super) enum Head {
    /// All of it.
    Whole(bytes::Bytes),
    /// Its first [`BUFFERED`] bytes; the rest is still to be read from the reader.
    Partial(bytes::Bytes, Box<dyn AsyncRead + Send + Unpin>),
    /// Standard input redirected from a regular file larger than [`BUFFERED`]: its length from
    /// where it stood, and the file there, read as it is sent.
    File(u64, tokio::fs::File),
}

/// Reads up to [`BUFFERED`] bytes of `reader`, or all of it when `whole`.
async fn read_head<R: AsyncRead + Send + Unpin + 'static>(
    reader: R,
    what: &str,
    whole: bool,
) -> Result<Head> {
    let mut head = Vec::new();
    let mut limited = reader.take(if whole { u64::MAX } else { BUFFERED as u64 });
    limited.read_to_end(&mut head).await.map_err(|e| read_error(what, &e))?;
    Ok(if whole || head.len() < BUFFERED {
        Head::Whole(head.into())
    } else {
        Head::Partial(head.into(), Box::new(limited.into_inner()))
    })
}

/// Standard input for a body (`-d @-`, `-T -`, `-F name=@-`): read once, by the first body that
/// uses it. Read whole, its bytes are sent again by later requests (the next URL, a redirect
/// that keeps the body), as curl sends `-d @-` data it read once; a larger one is streamed once.
pub(super) async fn stdin_head(whole: bool) -> Result<Head> {
    if let Some(b) = STDIN_READ.get() {
        return Ok(Head::Whole(b.clone()));
    }
    if let Some((file, len)) = stdin_file() {
        return Ok(Head::File(len, tokio::fs::File::from_std(file)));
    }
    if STDIN_STREAMED.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(Error::new(
            Exit::Read,
            "standard input (over 1 MiB) was sent with an earlier request and cannot be sent again",
        )
        .hint("save the body to a file and use --data-binary @FILE (or -F name=@FILE)"));
    }
    let head = read_head(tokio::io::stdin(), "standard input", whole).await?;
    match &head {
        Head::Whole(b) => {
            let _ = STDIN_READ.set(b.clone());
        }
        Head::Partial(..) | Head::File(..) => {
            STDIN_STREAMED.store(true, std::sync::atomic::Ordering::Relaxed)
        }
    }
    Ok(head)
}

/// Standard input as a file of its own, at where it stood when a body first used it, and its
/// length from there, when it is a regular file (`< FILE`) holding more than [`BUFFERED`] bytes:
/// sent with that length, never whole in memory, and again for a later request (curl reads
/// `-d @-` whole; for `-T -` it sends chunked). Each use opens the file anew (through Linux's
/// `/proc/self/fd/0`), so bodies sent at the same time (`-Z`) do not move each other's offset;
/// standard input's own offset goes to the end, as when it is read.
fn stdin_file() -> Option<(std::fs::File, u64)> {
    #[cfg(unix)]
    {
        use std::io::Seek;
        use std::os::fd::AsFd;
        use std::os::unix::fs::MetadataExt;
        let stdin = std::fs::File::from(std::io::stdin().as_fd().try_clone_to_owned().ok()?);
        let meta = stdin.metadata().ok()?;
        let size = known_length(&meta)?;
        let start = match STDIN_FILE_START.get() {
            Some(start) => *start,
            None => (&stdin).stream_position().ok()?,
        };
        let len = size.checked_sub(start)?;
        if len <= BUFFERED as u64 && STDIN_FILE_START.get().is_none() {
            return None;
        }
        let same =
            |f: &std::fs::File| f.metadata().is_ok_and(|m| (m.dev(), m.ino()) == (meta.dev(), meta.ino()));
        // Without /proc (not Linux) a duplicate would share standard input's offset, which
        // bodies sent at the same time would move under each other: read as a pipe there.
        let mut own = std::fs::File::open("/proc/self/fd/0").ok().filter(same)?;
        own.seek(std::io::SeekFrom::Start(start)).ok()?;
        if STDIN_FILE_START.set(start).is_ok() {
            let _ = (&stdin).seek(std::io::SeekFrom::End(0));
        }
        Some((own, len))
    }
    #[cfg(not(unix))]
    None
}

/// The body from what [`read_head`] read: with its length when that was all of it, else what
/// was read first and the rest streamed (chunked). `strip` drops CR and LF.
async fn send_head(
    rb: reqwest::RequestBuilder,
    head: Head,
    what: &str,
    strip: bool,
) -> Result<reqwest::RequestBuilder> {
    let without_breaks = |b: bytes::Bytes| match strip {
        true => b.iter().copied().filter(|b| !line_break(b)).collect::<Vec<u8>>().into(),
        false => b,
    };
    unsized_body_starts();
    Ok(match head {
        Head::File(_, file) if strip => stripped(rb, file, what.to_string()).await?,
        Head::File(len, file) => {
            let body = counted(streamed_chunks(AsAnnounced::new(file, len), what.to_string(), false));
            rb.header(reqwest::header::CONTENT_LENGTH, len).body(reqwest::Body::wrap_stream(body))
        }
        Head::Whole(b) => {
            let b = without_breaks(b);
            count_sent(b.len());
            rb.header(reqwest::header::CONTENT_LENGTH, b.len()).body(b)
        }
        Head::Partial(first, rest) => {
            let first = without_breaks(first);
            let first = futures_util::stream::once(async move { Ok(first) });
            let rest = streamed_chunks(rest, what.to_string(), strip);
            rb.body(reqwest::Body::wrap_stream(counted(futures_util::StreamExt::chain(first, rest))))
        }
    })
}

/// `chunks`, counted as sent (`%{size_upload}` of a body whose length was not known first).
fn counted<S>(chunks: S) -> impl futures_util::Stream<Item = std::result::Result<bytes::Bytes, ReadFailed>>
where
    S: futures_util::Stream<Item = std::result::Result<bytes::Bytes, ReadFailed>>,
{
    futures_util::StreamExt::inspect(chunks, |chunk| {
        if let Ok(b) = chunk {
            count_sent(b.len());
        }
    })
}

/// `-C N -T FILE`: the file from byte N on, with the length left (curl's "resumed upload"; the
/// `Content-Range` is `resume::request_range`'s). Nothing left is curl's error 18.
async fn resumed(
    rb: reqwest::RequestBuilder,
    mut file: tokio::fs::File,
    size: Option<u64>,
    at: u64,
    what: String,
) -> Result<reqwest::RequestBuilder> {
    use tokio::io::AsyncSeekExt;
    let Some(size) = size else {
        return Err(Error::new(
            Exit::Usage,
            format!("-C resumes an upload from a regular file; {what} is not one"),
        )
        .hint("drop -C, or upload a regular file"));
    };
    if at >= size {
        return Err(Error::new(
            Exit::PartialFile,
            format!("file already completely uploaded: -C {at}, and {what} has {size} bytes"),
        ));
    }
    file.seek(std::io::SeekFrom::Start(at)).await.map_err(|e| read_error(&what, &e))?;
    let left = size - at;
    Ok(rb.header(reqwest::header::CONTENT_LENGTH, left).body(streamed(
        AsAnnounced::new(file, left),
        what,
        false,
    )))
}

/// A regular file sent without its CR and LF bytes (`-d @FILE`, `-d @- < FILE`): read once to
/// count what is left, then again from where it stood as it is sent, with that length. A file
/// that changes in between is cut at the length or, shorter, fails the transfer (see
/// [`announced`]).
async fn stripped(
    rb: reqwest::RequestBuilder,
    mut file: tokio::fs::File,
    what: String,
) -> Result<reqwest::RequestBuilder> {
    use tokio::io::AsyncSeekExt;
    let start = file.stream_position().await.map_err(|e| read_error(&what, &e))?;
    let mut len = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).await.map_err(|e| read_error(&what, &e))?;
        if n == 0 {
            break;
        }
        len += buf[..n].iter().filter(|b| !line_break(b)).count() as u64;
    }
    file.seek(std::io::SeekFrom::Start(start)).await.map_err(|e| read_error(&what, &e))?;
    unsized_body_starts();
    let body = counted(announced(streamed_chunks(file, what.clone(), true), len, what));
    Ok(rb.header(reqwest::header::CONTENT_LENGTH, len).body(reqwest::Body::wrap_stream(body)))
}

/// `chunks` held to `len` bytes: cut there, and ending sooner is a read error (the server would
/// wait for the rest in vain).
fn announced<S>(
    chunks: S,
    len: u64,
    what: String,
) -> impl futures_util::Stream<Item = std::result::Result<bytes::Bytes, ReadFailed>> + Send + 'static
where
    S: futures_util::Stream<Item = std::result::Result<bytes::Bytes, ReadFailed>> + Send + 'static,
{
    use futures_util::StreamExt;
    futures_util::stream::unfold(Some((Box::pin(chunks), 0u64)), move |state| {
        let what = what.clone();
        async move {
            let (mut chunks, sent) = state?;
            if sent == len {
                return None;
            }
            match chunks.next().await {
                Some(Ok(mut b)) => {
                    b.truncate(usize::try_from(len - sent).unwrap_or(usize::MAX));
                    let sent = sent + b.len() as u64;
                    Some((Ok(b), Some((chunks, sent))))
                }
                Some(Err(e)) => Some((Err(e), None)),
                None => {
                    let why =
                        format!("cannot read {what}: it shrank while it was sent ({sent} of {len} bytes)");
                    Some((Err(ReadFailed(why)), None))
                }
            }
        }
    })
}

/// The whole body's length before it is sent, when it can be known without keeping it: data,
/// a file (without its line breaks for `-d @FILE`, counted), standard input once attached when
/// it was read whole or is a file; not a form.
pub(super) fn whole_length(body: &Body) -> Option<u64> {
    let kept = |b: &[u8]| b.iter().filter(|b| !body.strip_newlines || !line_break(b)).count();
    match &body.source {
        BodySource::Bytes(b) => Some(b.len() as u64),
        BodySource::File(p) if !body.strip_newlines => known_length(&std::fs::metadata(p).ok()?),
        BodySource::File(p) => {
            use std::io::Read;
            let mut file = std::fs::File::open(p).ok()?;
            let (mut buf, mut n) = (vec![0u8; 256 * 1024], 0u64);
            loop {
                match file.read(&mut buf).ok()? {
                    0 => return Some(n),
                    k => n += buf[..k].iter().filter(|b| !line_break(b)).count() as u64,
                }
            }
        }
        BodySource::Stdin => match STDIN_READ.get() {
            Some(b) => Some(kept(b) as u64),
            None if body.strip_newlines => None,
            None => STDIN_FILE_START.get().and(stdin_file()).map(|(_, len)| len),
        },
        BodySource::Form(_) => None,
    }
}

/// CR and LF: what `-d` drops from a file's (or standard input's) content.
fn line_break(b: &u8) -> bool {
    *b == b'\r' || *b == b'\n'
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
    reqwest::Body::wrap_stream(streamed_chunks(reader, what, strip))
}

fn streamed_chunks<R: AsyncRead + Send + Unpin + 'static>(
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
                    buf.retain(|b| !line_break(b));
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
        on_the_wire(built).await
    }

    /// The request's `Content-Length` and its body, a streamed one read to its end.
    async fn on_the_wire(mut built: reqwest::Request) -> (Option<String>, Vec<u8>) {
        let length = built.headers().get("content-length").map(|v| v.to_str().unwrap().to_string());
        let Some(body) = built.body_mut().take() else { return (length, Vec::new()) };
        let bytes = http_body_util::BodyExt::collect(body).await.unwrap().to_bytes();
        (length, bytes.to_vec())
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
    async fn a_large_data_file_is_counted_then_sent_without_its_line_breaks() {
        let content = b"ab\r\ncd\n".repeat(BUFFERED / 4);
        let (_dir, body) = file_body(&content, true);
        let (length, bytes) = sent(body).await;
        let kept: Vec<u8> = content.iter().copied().filter(|b| *b != b'\r' && *b != b'\n').collect();
        assert_eq!(length, Some(kept.len().to_string()), "announced, not chunked");
        assert!(bytes == kept, "the file without its line breaks");
    }

    #[tokio::test]
    async fn a_resumed_upload_sends_the_file_from_its_offset() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (_dir, body) = file_body(b"0123456789", false);
        let client = reqwest::Client::new();
        let mut req = RequestConfig::get(url::Url::parse("http://127.0.0.1:9/").unwrap());
        req.upload = true;
        for (at, expected) in [(4, Some((Some("6".to_string()), b"456789".to_vec()))), (10, None), (11, None)]
        {
            req.transfer.resume = Some(crate::config::Resume::At(at));
            let attached = attach(client.put("http://127.0.0.1:9/"), &req, &body, false).await;
            match expected {
                Some(expected) => assert_eq!(on_the_wire(attached.unwrap().build().unwrap()).await, expected),
                None => assert_eq!(attached.unwrap_err().exit, Exit::PartialFile, "-C {at}: nothing left"),
            }
        }
    }

    #[tokio::test]
    async fn a_counted_body_is_held_to_its_count() {
        use futures_util::StreamExt;
        let chunks = |parts: &[&'static [u8]]| {
            let parts: Vec<_> = parts.iter().map(|p| Ok(bytes::Bytes::from_static(p))).collect();
            futures_util::stream::iter(parts)
        };
        let grown: Vec<_> = announced(chunks(&[b"abc", b"def"]), 4, "f".into()).collect().await;
        assert_eq!(grown.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [&b"abc"[..], b"d"]);
        let shrunk: Vec<_> = announced(chunks(&[b"ab"]), 4, "f".into()).collect().await;
        assert_eq!(shrunk.len(), 2);
        let e = shrunk.into_iter().nth(1).unwrap().unwrap_err();
        assert_eq!(e.0, "cannot read f: it shrank while it was sent (2 of 4 bytes)");
    }

    #[tokio::test]
    async fn a_large_body_of_unknown_length_is_streamed_but_read_whole_for_http_1_0() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        let big = vec![b'x'; BUFFERED + 10];
        for (whole, length) in [(false, None), (true, Some((BUFFERED + 10).to_string()))] {
            let head = read_head(std::io::Cursor::new(big.clone()), "a pipe", whole).await.unwrap();
            let rb = send_head(client.post("http://127.0.0.1:9/"), head, "a pipe", false).await.unwrap();
            let built = rb.build().unwrap();
            let (announced, bytes) = on_the_wire(built).await;
            assert_eq!(announced, length, "whole: {whole}");
            assert!(bytes == big, "every byte, read first or streamed");
        }
    }
}
