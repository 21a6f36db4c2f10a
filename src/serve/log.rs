//! The access log of `toll serve`: one line per request — client, method, target, upstream,
//! the authentication scheme that carried it, status, bytes sent to the client, time, and a
//! note — on stderr or in `--log FILE`. A line is written once the request is over: after the
//! response's last byte, when a tunnel closes, or at once for toll serve's own answers
//! (refusals, failures). It never holds a secret: targets have their userinfo removed and every
//! field is sanitised (a client cannot write terminal escapes into it).

use crate::auth::Scheme;
use crate::relay::body::{BoxError, RelayBody};
use crate::term::sanitize;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub struct AccessLog {
    out: Mutex<Box<dyn Write + Send>>,
    /// `--log FILE`: opened again by [`AccessLog::reopen`] (SIGHUP, after logrotate moved it).
    path: Option<std::path::PathBuf>,
}

/// One finished request, as the log shows it.
pub struct Line<'a> {
    pub client: SocketAddr,
    pub method: &'a str,
    pub target: &'a str,
    /// The proxy's URL, `DIRECT`, or `-` (answered by toll serve itself).
    pub upstream: &'a str,
    /// The scheme that authenticated the request upstream; `None`: none was needed or used.
    pub scheme: Option<Scheme>,
    pub status: u16,
    /// Bytes sent to the client: a response's body, or what came through a tunnel from the
    /// origin's side; `None` for toll serve's own answers.
    pub bytes: Option<u64>,
    pub elapsed: Duration,
    pub note: &'a str,
}

impl AccessLog {
    pub fn new(out: Box<dyn Write + Send>) -> AccessLog {
        AccessLog { out: Mutex::new(out), path: None }
    }

    pub fn stderr() -> AccessLog {
        AccessLog::new(Box::new(std::io::stderr()))
    }

    /// Opens (appends to) `path`, created 0600.
    pub fn file(path: &std::path::Path) -> std::io::Result<AccessLog> {
        let out = Mutex::new(open_log(path)?);
        Ok(AccessLog { out, path: Some(path.to_path_buf()) })
    }

    /// `--log FILE` opened again by its name (SIGHUP): after logrotate renamed the file, lines
    /// go to the new one instead of the old. `Ok(false)`: the log is stderr, nothing to do. On
    /// an error the old file stays in use.
    pub fn reopen(&self) -> std::io::Result<bool> {
        let Some(path) = &self.path else { return Ok(false) };
        let fresh = open_log(path)?;
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = out.flush();
        *out = fresh;
        Ok(true)
    }

    /// `2026-12-02T12:00:00Z 127.0.0.1:5000 GET http://h/ via http://proxy:3128 NTLM 200 2779B 4ms`
    pub fn request(&self, l: &Line<'_>) {
        let note = if l.note.is_empty() { String::new() } else { format!(" ({})", sanitize(l.note)) };
        let scheme = l.scheme.map_or("-", Scheme::name);
        let bytes = l.bytes.map_or_else(|| "-".to_string(), |b| format!("{b}B"));
        self.write(&format!(
            "{} {} {} {} via {} {scheme} {} {bytes} {}ms{note}",
            timestamp(),
            l.client,
            sanitize(l.method),
            sanitize(&crate::proxy_env::redact_userinfo(l.target)),
            sanitize(l.upstream),
            l.status,
            l.elapsed.as_millis()
        ));
    }

    /// A line about the server itself (start, limits, signals).
    pub fn note(&self, text: &str) {
        self.write(&format!("{} toll serve: {}", timestamp(), sanitize(text)));
    }

    fn write(&self, line: &str) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// `path` for appending, created 0600, never through a symbolic link.
fn open_log(path: &std::path::Path) -> std::io::Result<Box<dyn Write + Send>> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    Ok(Box::new(o.open(path)?))
}

/// The line a request will get, from the moment its head was read.
pub struct Entry {
    pub log: Arc<AccessLog>,
    pub peer: SocketAddr,
    pub method: http::Method,
    pub target: String,
    pub started: Instant,
}

impl Entry {
    pub fn new(log: &Arc<AccessLog>, peer: SocketAddr, method: http::Method, target: String) -> Entry {
        Entry { log: log.clone(), peer, method, target, started: Instant::now() }
    }

    /// toll serve's own answer (a refusal, a failure): nothing was relayed.
    pub fn write(&self, status: u16, upstream: &str, note: &str) {
        self.finish(status, upstream, None, None, note);
    }

    /// The request is over.
    pub fn finish(
        &self,
        status: u16,
        upstream: &str,
        scheme: Option<Scheme>,
        bytes: Option<u64>,
        note: &str,
    ) {
        self.log.request(&Line {
            client: self.peer,
            method: self.method.as_str(),
            target: &self.target,
            upstream,
            scheme,
            status,
            bytes,
            elapsed: self.started.elapsed(),
            note,
        });
    }

    /// A relayed response: its line is written when the client has had the body's last byte
    /// (hyper drops a body once it is sent), or when the body ends early.
    pub fn on_body(
        self,
        status: u16,
        upstream: String,
        scheme: Option<Scheme>,
        body: RelayBody,
    ) -> RelayBody {
        Logged { body, bytes: 0, ended: false, broke: None, line: Some((self, status, upstream, scheme)) }
            .boxed()
    }
}

/// A response body on its way to the client that counts its bytes and writes the request's log
/// line when it is dropped.
struct Logged {
    body: RelayBody,
    bytes: u64,
    ended: bool,
    broke: Option<String>,
    line: Option<(Entry, u16, String, Option<Scheme>)>,
}

impl Body for Logged {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    self.bytes += d.len() as u64;
                }
            }
            Poll::Ready(Some(Err(e))) => self.broke = Some(e.to_string()),
            Poll::Ready(None) => self.ended = true,
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let Some((entry, status, upstream, scheme)) = self.line.take() else { return };
        let note = match &self.broke {
            Some(e) => format!("the response broke off: {e}"),
            None if !self.ended && !self.body.is_end_stream() => "the client left before the end".to_string(),
            None => String::new(),
        };
        entry.finish(status, &upstream, scheme, Some(self.bytes), &note);
    }
}

/// UTC, RFC 3339, second precision (the PAC engine's calendar: no time-zone database needed).
fn timestamp() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let t = crate::pac::Tm::from_unix(secs as i64);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", t.year, t.month, t.day, t.hour, t.minute, t.second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_line_has_no_secret_and_no_escape() {
        let buf = Buf::default();
        let log = AccessLog::new(Box::new(buf.clone()));
        log.request(&Line {
            client: "127.0.0.1:5000".parse().unwrap(),
            method: "GET",
            target: "http://alice:s3cret@example.com/\x1b[31mred",
            upstream: "http://proxy:3128",
            scheme: Some(Scheme::Ntlm),
            status: 200,
            bytes: Some(2779),
            elapsed: Duration::from_millis(12),
            note: "",
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(!text.contains('\x1b'), "{text}");
        assert!(text.contains(" 127.0.0.1:5000 GET http://"), "{text}");
        assert!(text.trim_end().ends_with(" via http://proxy:3128 NTLM 200 2779B 12ms"), "{text}");
    }

    fn entry(log: &Arc<AccessLog>) -> Entry {
        Entry::new(log, "127.0.0.1:5000".parse().unwrap(), http::Method::GET, "http://h/".into())
    }

    #[tokio::test]
    async fn a_response_is_logged_after_its_last_byte_with_its_size() {
        let buf = Buf::default();
        let log = Arc::new(AccessLog::new(Box::new(buf.clone())));
        let text = || String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let body = entry(&log).on_body(
            200,
            "DIRECT".into(),
            None,
            crate::relay::body::full(Bytes::from_static(b"12345")),
        );
        assert_eq!(text(), "", "nothing before the body is sent");
        let got = body.collect().await.unwrap().to_bytes();
        assert_eq!(&got[..], b"12345");
        assert!(text().trim_end().ends_with(" via DIRECT - 200 5B 0ms"), "{}", text());

        // A client that leaves after the first chunk: the bytes it had, and why it is short.
        let buf2 = Buf::default();
        let log = Arc::new(AccessLog::new(Box::new(buf2.clone())));
        let (mut tx, rx) = waiting_body();
        let body = entry(&log).on_body(200, "http://p:3128".into(), Some(Scheme::Basic), rx);
        tx.push(b"abc");
        let mut body = body;
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(first.data_ref().unwrap().len(), 3);
        drop(body);
        let t = String::from_utf8(buf2.0.lock().unwrap().clone()).unwrap();
        assert!(t.contains(" via http://p:3128 Basic 200 3B "), "{t}");
        assert!(t.trim_end().ends_with("(the client left before the end)"), "{t}");
    }

    /// A body that yields what was pushed and then waits (never ends).
    fn waiting_body() -> (Pusher, RelayBody) {
        let q = Arc::new(Mutex::new(std::collections::VecDeque::<Bytes>::new()));
        let body = Pending(q.clone());
        (Pusher(q), body.boxed())
    }

    struct Pusher(Arc<Mutex<std::collections::VecDeque<Bytes>>>);
    impl Pusher {
        fn push(&mut self, b: &'static [u8]) {
            self.0.lock().unwrap().push_back(Bytes::from_static(b));
        }
    }

    struct Pending(Arc<Mutex<std::collections::VecDeque<Bytes>>>);
    impl Body for Pending {
        type Data = Bytes;
        type Error = BoxError;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
            match self.0.lock().unwrap().pop_front() {
                Some(b) => Poll::Ready(Some(Ok(Frame::data(b)))),
                None => Poll::Pending,
            }
        }
    }
}
