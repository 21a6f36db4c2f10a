//! The access log of `toll serve`: one line per request — client, method, target, upstream,
//! the authentication scheme that carried it, status, bytes sent to the client, time, and a
//! note — on stderr or in `--log FILE`. A line is written once the request is over: after the
//! response's last byte, when a tunnel closes, or at once for toll serve's own answers
//! (refusals, failures). It never holds a secret: a password in a target's userinfo is shown as `***` and every
//! field is sanitised (a client cannot write terminal escapes into it).
//!
//! The lines are written by a thread of their own, not by the task that finished the request:
//! `toll serve` runs on one worker thread, and a log on a disk under heavy writeback, or on a
//! stderr pipe that nobody reads, would otherwise stall every connection with it. The queue is
//! bounded; when the log cannot keep up, lines are dropped and counted, and the count is written
//! as soon as it can be — the traffic goes on either way. Lines keep their order, also across a
//! SIGHUP reopen; [`AccessLog::flush`] waits for everything queued (the server calls it on its
//! way out).

use crate::auth::Scheme;
use crate::relay::body::{BoxError, RelayBody};
use crate::term::sanitize;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Lines waiting for the writer before new ones are dropped (a few MiB at most).
const QUEUE: usize = 16 * 1024;

/// How long the writer, woken by a line, waits for more before it writes them all: under load
/// one wake-up and one write(2) per batch instead of one each per line (measured with a
/// wake-up per line: a quarter more CPU per request than writing the line in place).
const LINGER: Duration = Duration::from_millis(10);

pub struct AccessLog {
    /// `None`: lines are not kept at all ([`AccessLog::discard`]): no thread, nothing formatted.
    queue: Option<Arc<Queue>>,
    /// `--log FILE`: opened again by [`AccessLog::reopen`] (SIGHUP, after logrotate moved it).
    path: Option<std::path::PathBuf>,
}

type Sink = Box<dyn Write + Send>;

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

struct Queue {
    state: Mutex<State>,
    /// The writer waits on it for work.
    work: Condvar,
    /// [`AccessLog::flush`] waits on it for the writer.
    written: Condvar,
}

#[derive(Default)]
struct State {
    items: Vec<Item>,
    /// Lines dropped since the writer last took the queue.
    lost: u64,
    /// Items queued, and items the writer has written (and flushed) so far, since the start.
    queued: u64,
    done: u64,
    /// The writer is waiting on `work` for a first line (only then is it worth a wake-up).
    idle: bool,
    /// [`AccessLog::flush`] waits: the writer writes at once instead of lingering.
    urgent: bool,
}

enum Item {
    Line(String),
    /// Lines after this one go to a freshly opened file (SIGHUP).
    Swap(Sink),
}

impl AccessLog {
    /// A log written to `out` by a thread of its own.
    pub fn new(out: Sink) -> std::io::Result<AccessLog> {
        let queue = Arc::new(Queue {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            written: Condvar::new(),
        });
        let q = queue.clone();
        std::thread::Builder::new().name("toll-log".into()).spawn(move || q.write_all(out))?;
        Ok(AccessLog { queue: Some(queue), path: None })
    }

    /// A log that keeps nothing (`toll run` without `-v`: the command's terminal is not toll's
    /// to write on). Requests are neither formatted nor queued.
    pub fn discard() -> AccessLog {
        AccessLog { queue: None, path: None }
    }

    /// Whether lines are written anywhere (a response body is only watched for its line then).
    pub fn keeps_lines(&self) -> bool {
        self.queue.is_some()
    }

    pub fn stderr() -> std::io::Result<AccessLog> {
        AccessLog::new(Box::new(std::io::stderr()))
    }

    /// Opens (appends to) `path`, created 0600.
    pub fn file(path: &std::path::Path) -> std::io::Result<AccessLog> {
        let log = AccessLog::new(open_log(path)?)?;
        Ok(AccessLog { path: Some(path.to_path_buf()), ..log })
    }

    /// `--log FILE` opened again by its name (SIGHUP): after logrotate renamed the file, lines
    /// go to the new one instead of the old (the lines queued before to the old). `Ok(false)`:
    /// the log is stderr, nothing to do. On an error the old file stays in use.
    pub fn reopen(&self) -> std::io::Result<bool> {
        let (Some(path), Some(queue)) = (&self.path, &self.queue) else { return Ok(false) };
        let fresh = open_log(path)?;
        // Never dropped for a full queue: it would send every later line to the old file.
        queue.push(Item::Swap(fresh), true);
        Ok(true)
    }

    /// Waits (at most `limit`) until every line queued so far is written and flushed. `false`:
    /// the log is stuck (a full disk, a pipe nobody reads) and the rest is left behind.
    pub fn flush(&self, limit: Duration) -> bool {
        let Some(queue) = &self.queue else { return true };
        let deadline = Instant::now() + limit;
        let mut s = queue.lock();
        let target = s.queued;
        if s.done < target {
            s.urgent = true;
            queue.work.notify_one();
        }
        while s.done < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            s = queue.written.wait_timeout(s, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        true
    }

    /// `2026-12-02T12:00:00Z 127.0.0.1:5000 GET http://h/ via http://proxy:3128 NTLM 200 2779B 4ms`
    pub fn request(&self, l: &Line<'_>) {
        self.write(|| {
            let note = if l.note.is_empty() { String::new() } else { format!(" ({})", sanitize(l.note)) };
            let scheme = l.scheme.map_or("-", Scheme::name);
            let bytes = l.bytes.map_or_else(|| "-".to_string(), |b| format!("{b}B"));
            format!(
                "{} {} {} {} via {} {scheme} {} {bytes} {}ms{note}",
                timestamp(),
                l.client,
                sanitize(l.method),
                sanitize(&crate::term::mask_url_password(l.target)),
                sanitize(l.upstream),
                l.status,
                l.elapsed.as_millis()
            )
        });
    }

    /// A line about the server itself (start, limits, signals).
    pub fn note(&self, text: &str) {
        self.write(|| note_line(text));
    }

    /// Queues the line `line` makes; a discarding log does not even make it.
    fn write(&self, line: impl FnOnce() -> String) {
        if let Some(queue) = &self.queue {
            queue.push(Item::Line(line()), false);
        }
    }
}

fn note_line(text: &str) -> String {
    format!("{} toll serve: {}", timestamp(), sanitize(text))
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `item` for the writer; a line is dropped (and counted) when the queue is full,
    /// unless `always`.
    fn push(&self, item: Item, always: bool) {
        let mut s = self.lock();
        if s.items.len() >= QUEUE && !always {
            s.lost += 1;
            return;
        }
        s.items.push(item);
        s.queued += 1;
        // A busy writer takes this one with the rest of its next batch: no wake-up (a system
        // call) per line under load.
        if s.idle {
            s.idle = false;
            drop(s);
            self.work.notify_one();
        }
    }

    /// The writer thread: takes everything queued at once, writes it with one system call where
    /// the sink allows, flushes, and says how far it got.
    fn write_all(&self, mut out: Sink) {
        let mut buf = Vec::new();
        loop {
            let (items, lost) = {
                let mut s = self.lock();
                while s.items.is_empty() && s.lost == 0 {
                    s.idle = true;
                    s = self.work.wait(s).unwrap_or_else(|e| e.into_inner());
                }
                s.idle = false;
                if !s.urgent {
                    s = self
                        .work
                        .wait_timeout_while(s, LINGER, |s| !s.urgent)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                s.urgent = false;
                (std::mem::take(&mut s.items), std::mem::take(&mut s.lost))
            };
            let n = items.len() as u64;
            for item in items {
                match item {
                    Item::Line(line) => {
                        buf.extend_from_slice(line.as_bytes());
                        buf.push(b'\n');
                    }
                    Item::Swap(fresh) => {
                        let _ = out.write_all(&buf);
                        let _ = out.flush();
                        buf.clear();
                        out = fresh;
                    }
                }
            }
            if lost > 0 {
                let text = format!("{lost} access-log lines were dropped: the log could not keep up");
                buf.extend_from_slice(note_line(&text).as_bytes());
                buf.push(b'\n');
            }
            // A failed write loses its batch, and the next batch is tried afresh: there is
            // nowhere else to say it.
            let _ = out.write_all(&buf);
            let _ = out.flush();
            buf.clear();
            if buf.capacity() > 1 << 20 {
                // After a burst (up to QUEUE lines at once): not kept for good.
                buf = Vec::new();
            }
            let mut s = self.lock();
            s.done += n;
            drop(s);
            self.written.notify_all();
        }
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
        if !self.log.keeps_lines() {
            return body;
        }
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
                // Trailer fields are a body's last frame: the server may send them (or drop
                // them, if the client did not ask for them) without asking for more.
                if frame.is_trailers() {
                    self.ended = true;
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
    fn a_discarding_log_keeps_nothing_and_has_nothing_to_flush() {
        let log = Arc::new(AccessLog::discard());
        assert!(!log.keeps_lines());
        log.note("started");
        Entry::new(&log, "127.0.0.1:5000".parse().unwrap(), http::Method::GET, "http://h/".into())
            .write(403, "-", "refused");
        // Nothing queued: a flush with no time at all still succeeds; there is no file to reopen.
        assert!(log.flush(Duration::ZERO));
        assert!(!log.reopen().unwrap());
    }

    #[test]
    fn a_line_has_no_secret_and_no_escape() {
        let buf = Buf::default();
        let log = AccessLog::new(Box::new(buf.clone())).unwrap();
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
        assert!(log.flush(Duration::from_secs(5)));
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
        let log = Arc::new(AccessLog::new(Box::new(buf.clone())).unwrap());
        let text = || {
            assert!(log.flush(Duration::from_secs(5)));
            String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
        };
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
        let log = Arc::new(AccessLog::new(Box::new(buf2.clone())).unwrap());
        let (mut tx, rx) = waiting_body();
        let body = entry(&log).on_body(200, "http://p:3128".into(), Some(Scheme::Basic), rx);
        tx.push(b"abc");
        let mut body = body;
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(first.data_ref().unwrap().len(), 3);
        drop(body);
        assert!(log.flush(Duration::from_secs(5)));
        let t = String::from_utf8(buf2.0.lock().unwrap().clone()).unwrap();
        assert!(t.contains(" via http://p:3128 Basic 200 3B "), "{t}");
        assert!(t.trim_end().ends_with("(the client left before the end)"), "{t}");
    }

    /// A body that ends with trailer fields is whole once they are taken, even if the server
    /// never asks for more after them (hyper does not when the client did not ask for them).
    #[tokio::test]
    async fn a_body_whose_trailers_were_taken_is_whole() {
        let buf = Buf::default();
        let log = Arc::new(AccessLog::new(Box::new(buf.clone())).unwrap());
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-checksum", http::HeaderValue::from_static("6 bytes"));
        let frames: Vec<Result<_, BoxError>> =
            vec![Ok(Frame::data(Bytes::from_static(b"hello\n"))), Ok(Frame::trailers(trailers))];
        let then_nothing = futures_util::StreamExt::chain(
            futures_util::stream::iter(frames),
            futures_util::stream::pending(),
        );
        let mut body = entry(&log).on_body(
            200,
            "DIRECT".into(),
            None,
            http_body_util::StreamBody::new(then_nothing).boxed(),
        );
        assert!(body.frame().await.unwrap().unwrap().is_data());
        assert!(body.frame().await.unwrap().unwrap().is_trailers());
        drop(body);
        assert!(log.flush(Duration::from_secs(5)));
        let t = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(t.trim_end().ends_with(" 200 6B 0ms"), "{t}");
    }

    /// A sink whose writes wait until the test opens its gate; it says when a write is waiting.
    #[derive(Clone, Default)]
    struct Gated {
        buf: Buf,
        gate: Arc<(Mutex<(bool, bool)>, std::sync::Condvar)>,
    }
    impl Write for Gated {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            let (m, cv) = &*self.gate;
            let mut g = m.lock().unwrap();
            g.1 = true;
            cv.notify_all();
            while !g.0 {
                g = cv.wait(g).unwrap();
            }
            drop(g);
            self.buf.write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_log_holds_up_nobody_and_says_how_many_lines_it_dropped() {
        let sink = Gated::default();
        let log = Arc::new(AccessLog::new(Box::new(sink.clone())).unwrap());
        log.note("first");
        // The writer has taken the first line and waits in write(2), like on a full pipe.
        {
            let (m, cv) = &*sink.gate;
            let g = m.lock().unwrap();
            let _g = cv.wait_timeout_while(g, Duration::from_secs(5), |g| !g.1).unwrap();
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let l = log.clone();
        std::thread::spawn(move || {
            for i in 0..QUEUE + 10 {
                l.note(&format!("line {i}"));
            }
            tx.send(()).unwrap();
        });
        rx.recv_timeout(Duration::from_secs(5)).expect("logging waited for a stuck log");
        assert!(!log.flush(Duration::from_millis(100)), "a stuck log is not flushed");
        {
            let (m, cv) = &*sink.gate;
            m.lock().unwrap().0 = true;
            cv.notify_all();
        }
        assert!(log.flush(Duration::from_secs(10)));
        let text = String::from_utf8(sink.buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + QUEUE + 1, "the first, the queue, the count");
        assert!(lines[0].ends_with(" toll serve: first"), "{}", lines[0]);
        for (i, l) in lines[1..=QUEUE].iter().enumerate() {
            assert!(l.ends_with(&format!(" toll serve: line {i}")), "in order: {l}");
        }
        assert!(lines[QUEUE + 1].ends_with("10 access-log lines were dropped: the log could not keep up"));
    }

    #[test]
    fn after_a_reopen_later_lines_go_to_the_new_file_and_earlier_ones_to_the_old() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (path, rotated) = (dir.path().join("access.log"), dir.path().join("access.log.1"));
        let log = AccessLog::file(&path).unwrap();
        for i in 0..100 {
            log.note(&format!("before {i}"));
        }
        std::fs::rename(&path, &rotated).unwrap();
        assert!(log.reopen().unwrap());
        log.note("after");
        assert!(log.flush(Duration::from_secs(5)));
        let old = std::fs::read_to_string(&rotated).unwrap();
        let new = std::fs::read_to_string(&path).unwrap();
        assert_eq!(old.lines().count(), 100, "{old}");
        assert!(old.lines().last().unwrap().ends_with("before 99") && !old.contains("after"));
        assert!(new.trim_end().ends_with(" toll serve: after") && new.lines().count() == 1, "{new}");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        // stderr has nothing to reopen.
        assert!(!AccessLog::stderr().unwrap().reopen().unwrap());
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
