//! The bytes on the wire, for what curl prints as received: the response head of `-i`, `-I`
//! and `-D` (header names in their case and order, the reason phrase) and `--trace`.
//!
//! reqwest parses responses with hyper, which lowercases header names and drops the reason
//! phrase, and it offers no hook on the connection. What it does offer is
//! `connection_verbose`: every read and write of a connection (after TLS: plain HTTP) is logged
//! through the `log` crate, at trace level, under the target [`TARGET`], as
//! `"{id:08x} read: b\"…\""` (Rust byte-string escapes). This module is that logger: installed
//! only when a run needs it (so other runs pay nothing), it keeps per connection only the
//! response head after each request (a body costs one 40-byte format per read), and, with
//! `--trace`, every byte both ways. toll's own HTTP path (`tunnel`) hands its connections'
//! bytes to the same tap itself ([`Tap::record`]). A test below runs a real reqwest against a
//! local server, so a change in reqwest's log format fails the build's tests rather than
//! printing wrong heads.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

/// reqwest's target for connection logging (`connection_verbose`).
pub const TARGET: &str = "reqwest::connect::verbose";

/// Largest response head kept (curl's own limit is 100 KiB of headers).
const MAX_HEAD: usize = 128 * 1024;

/// Heads kept that no response has claimed (informational ones, heads of responses that went
/// another way).
const KEPT_HEADS: usize = 32;

#[derive(Default)]
struct ConnState {
    /// Bytes of a response head being read (after a request was written).
    head: Option<Vec<u8>>,
    /// Not HTTP/1 (HTTP/2 frames): its reads are never looked at again.
    binary: bool,
    /// The 1xx heads read before the final one (`100 Continue`, `103 Early Hints`): they go
    /// in front of it, as curl prints and counts them.
    informational: Vec<u8>,
}

#[derive(Default)]
struct State {
    conns: HashMap<u32, ConnState>,
    /// Completed heads no response has claimed yet, oldest first.
    heads: Vec<Vec<u8>>,
    /// `--trace`: where every byte is written as it passes.
    trace: Option<super::trace::Writer>,
}

/// The process's tap (one per process: `log` has one logger).
#[derive(Clone, Default)]
pub struct Tap(Arc<Mutex<State>>);

static TAP: OnceLock<Tap> = OnceLock::new();

impl Tap {
    /// Installs the logger (once per process) and returns the tap.
    pub fn install() -> Tap {
        TAP.get_or_init(|| {
            let tap = Tap::default();
            if log::set_boxed_logger(Box::new(Logger(tap.clone()))).is_ok() {
                log::set_max_level(log::LevelFilter::Trace);
            }
            tap
        })
        .clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `--trace`: from now on every byte goes to `writer` as well.
    pub fn trace_to(&self, writer: super::trace::Writer) {
        self.lock().trace = Some(writer);
    }

    /// Ends `--trace`, handing back its writer (to finish the file).
    pub fn finish_trace(&self) -> Option<super::trace::Writer> {
        self.lock().trace.take()
    }

    /// The HTTP/1 response heads completed since the last call, oldest first.
    pub fn take_heads(&self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.lock().heads)
    }

    /// The newest completed head that `belongs` accepts, taken out; the others stay for their
    /// own responses (transfers may run side by side), the oldest dropped beyond [`KEPT_HEADS`].
    pub fn take_head(&self, belongs: impl Fn(&[u8]) -> bool) -> Option<Vec<u8>> {
        let mut st = self.lock();
        let i = st.heads.iter().rposition(|h| belongs(h))?;
        Some(st.heads.remove(i))
    }

    /// The tap, when this run installed one: toll's own connections (`tunnel`) hand it their
    /// bytes themselves, as reqwest's do through its log.
    pub(super) fn installed() -> Option<Tap> {
        TAP.get().cloned()
    }

    /// A number for one of toll's own connections, apart from reqwest's (random 32-bit ones).
    pub(super) fn own_connection() -> u32 {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Handles one read or write (logged by reqwest, or handed by toll's own connection).
    pub(super) fn record(&self, conn: u32, sent: bool, data: &[u8]) {
        let mut st = self.lock();
        let st = &mut *st;
        let c = st.conns.entry(conn).or_default();
        if sent {
            // A request: the next bytes read are its response head.
            c.head = (!c.binary).then(Vec::new);
            c.informational.clear();
            if let Some(w) = st.trace.as_mut() {
                w.sent(data);
            }
            return;
        }
        let Some(head) = c.head.as_mut() else {
            if let Some(w) = st.trace.as_mut() {
                w.received(&[], data);
            }
            return;
        };
        let before = head.len();
        head.extend_from_slice(data);
        // The heads this read completes, as ranges of `head`: a read may hold thousands of 1xx
        // heads, and each is looked at where it lies (a copy of the rest per head made a
        // 400-KiB read of them cost gigabytes).
        let mut done: Vec<std::ops::Range<usize>> = Vec::new();
        let mut at = 0;
        // The final head is complete, or these bytes are no head: nothing more to read.
        let mut finished = false;
        // A 1xx head is followed by the real one, possibly in the same read.
        loop {
            let rest = &head[at..];
            let Some(end) = head_end(rest) else {
                let http = b"HTTP/".starts_with(&rest[..rest.len().min(5)]);
                if rest.len() > MAX_HEAD || !http {
                    c.binary |= before == 0 && !http;
                    finished = true;
                }
                break;
            };
            done.push(at..at + end);
            at += end;
            if !is_informational(rest) {
                finished = true;
                break;
            }
        }
        // How much of this read was head, for the trace.
        let in_heads = if finished { at.saturating_sub(before).min(data.len()) } else { data.len() };
        if let Some(w) = st.trace.as_mut() {
            w.received(&data[..in_heads], &data[in_heads..]);
        }
        for h in done.into_iter().map(|r| &head[r]).filter(|h| h.starts_with(b"HTTP/1.")) {
            if is_informational(h) {
                // A server may send 1xx heads without end: what is kept stays bounded.
                if c.informational.len() + h.len() <= MAX_HEAD {
                    c.informational.extend_from_slice(h);
                }
            } else {
                let mut whole = std::mem::take(&mut c.informational);
                whole.extend_from_slice(h);
                st.heads.push(whole);
            }
        }
        if finished {
            c.head = None;
        } else {
            head.drain(..at);
        }
        let extra = st.heads.len().saturating_sub(KEPT_HEADS);
        st.heads.drain(..extra);
    }

    /// Whether a read on `conn` matters (a head is being read, or everything is traced).
    fn wants(&self, conn: u32) -> bool {
        let st = self.lock();
        st.trace.is_some() || st.conns.get(&conn).is_some_and(|c| c.head.is_some())
    }
}

/// The response heads a tap keeps from one connection's traffic: `(true, bytes)` a write (a
/// request), `(false, bytes)` a read, in order — the 1xx heads in front of the final one they
/// came before, as `-i` prints them. Public for its fuzz target (`fuzz_targets/wire_heads.rs`):
/// what a server sends is untrusted.
pub fn heads_of<'a>(traffic: impl IntoIterator<Item = (bool, &'a [u8])>) -> Vec<Vec<u8>> {
    let tap = Tap::default();
    for (sent, bytes) in traffic {
        tap.record(0, sent, bytes);
    }
    tap.take_heads()
}

/// Where the head at the start of `bytes` ends: after its first blank line, whichever line
/// ends it uses (CRLF or a bare LF, as httparse reads them) — not at a later CRLF CRLF in the
/// body of a head written with bare LFs.
pub(super) fn head_end(bytes: &[u8]) -> Option<usize> {
    bytes.iter().enumerate().find_map(|(i, &b)| match (b, bytes.get(i + 1), bytes.get(i + 2)) {
        (b'\n', Some(b'\n'), _) => Some(i + 2),
        (b'\n', Some(b'\r'), Some(b'\n')) => Some(i + 3),
        _ => None,
    })
}

/// Whether the head at the start of `bytes` is a 1xx one (`100 Continue`, `103 Early Hints`).
pub(super) fn is_informational(bytes: &[u8]) -> bool {
    bytes.starts_with(b"HTTP/1.1 1") || bytes.starts_with(b"HTTP/1.0 1")
}

struct Logger(Tap);

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.target() == TARGET
    }

    fn log(&self, record: &log::Record<'_>) {
        if record.target() != TARGET {
            return;
        }
        // The id and direction first, cheaply: a body read is not formatted whole.
        let mut start = Capped::new(40);
        let _ = write!(start, "{}", record.args());
        let Some((conn, sent)) = parse_prefix(&start.buf) else { return };
        if !sent && !self.0.wants(conn) {
            return;
        }
        // A traced body read may be large (hyper reads up to ~400 KiB; escaped, up to 4×).
        let traced = self.0.lock().trace.is_some();
        let mut all = Capped::new(if traced { 8 << 20 } else { 4 * MAX_HEAD + 64 });
        let _ = write!(all, "{}", record.args());
        if let Some(data) = all.buf.find(": ").and_then(|i| unescape(&all.buf[i + 2..])) {
            self.0.record(conn, sent, &data);
        }
    }

    fn flush(&self) {}
}

/// `"0000abcd read: …"` → (0xabcd, false); writes → true.
fn parse_prefix(s: &str) -> Option<(u32, bool)> {
    let (id, rest) = s.split_once(' ')?;
    let conn = u32::from_str_radix(id, 16).ok()?;
    if rest.starts_with("read:") {
        Some((conn, false))
    } else if rest.starts_with("write") {
        Some((conn, true))
    } else {
        None
    }
}

/// The bytes of one or more `b"…"` literals in a row (reqwest's `Escape`); None if malformed
/// or cut short.
fn unescape(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut it = s.bytes().peekable();
    let mut any = false;
    while let Some(b) = it.next() {
        if b != b'b' || it.next()? != b'"' {
            return None;
        }
        any = true;
        loop {
            match it.next()? {
                b'"' => break,
                b'\\' => match it.next()? {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'0' => out.push(0),
                    b'x' => {
                        let hex = [it.next()?, it.next()?];
                        out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
                    }
                    c => out.push(c),
                },
                c => out.push(c),
            }
        }
    }
    any.then_some(out)
}

/// A `fmt::Write` that stops (with an error, which ends the formatting) after `cap` bytes.
struct Capped {
    buf: String,
    cap: usize,
}

impl Capped {
    fn new(cap: usize) -> Capped {
        Capped { buf: String::new(), cap }
    }
}

impl std::fmt::Write for Capped {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.buf.len() + s.len() > self.cap {
            let room = self.cap - self.buf.len();
            let cut = (0..=room.min(s.len())).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
            self.buf.push_str(&s[..cut]);
            return Err(std::fmt::Error);
        }
        self.buf.push_str(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_reqwest_byte_strings() {
        assert_eq!(
            unescape(r#"b"HTTP/1.1 200 OK\r\nX-A: \"q\"\\\x01\0\t\n""#).unwrap(),
            b"HTTP/1.1 200 OK\r\nX-A: \"q\"\\\x01\0\t\n"
        );
        assert_eq!(unescape(r#"b"ab"b"cd""#).unwrap(), b"abcd");
        assert!(unescape(r#"b"cut"#).is_none());
        assert!(unescape("nonsense").is_none());
        assert_eq!(parse_prefix("0000abcd read: b\"x\""), Some((0xabcd, false)));
        assert_eq!(parse_prefix("00000001 write (vectored): b\"x\""), Some((1, true)));
        assert_eq!(parse_prefix("hello"), None);
    }

    #[test]
    fn a_head_ends_at_its_first_blank_line_whatever_its_line_ends() {
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\nA: 1\r\n\r\nbody"), Some(25));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\nA: 1\n\nbody"), Some(22));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\nA: 1\n\r\nbody"), Some(23));
        // A bare-LF head whose body holds CRLF CRLF ends before the body (found by the
        // `wire_heads` fuzz target: the head ran on into the body).
        assert_eq!(head_end(b"HTTP/1.1 200 OK\nA: 1\n\nb\r\n\r\n"), Some(22));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\nA: 1\r\n"), None);
    }

    #[test]
    fn keeps_response_heads_after_requests() {
        let tap = Tap::default();
        tap.record(1, false, b"HTTP/1.1 200 OK\r\n\r\nstray");
        assert!(tap.take_heads().is_empty(), "nothing was asked on this connection");
        // One request on connection 1, the reads of its answer, the heads kept.
        let exchange = |reads: &[&[u8]]| {
            tap.record(1, true, b"GET / HTTP/1.1\r\n\r\n");
            reads.iter().for_each(|r| tap.record(1, false, r));
            tap.take_heads()
        };
        // The 1xx head goes in front of the final one, as curl prints it with -i.
        let heads = exchange(&[
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Fine\r\nX-Ab",
            b"C: 1\r\n\r\nbody",
            b"HTTP/1.1 more body that looks like a head\r\n\r\n",
        ]);
        assert_eq!(
            heads,
            vec![b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Fine\r\nX-AbC: 1\r\n\r\n".to_vec()]
        );
        // Also when it arrives in a read of its own.
        let heads =
            exchange(&[b"HTTP/1.1 103 Early Hints\r\nLink: <a>\r\n\r\n", b"HTTP/1.1 204 No Content\r\n\r\n"]);
        assert_eq!(
            heads,
            vec![b"HTTP/1.1 103 Early Hints\r\nLink: <a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n".to_vec()]
        );
        // Endless 1xx heads keep at most MAX_HEAD bytes of them.
        let mut reads: Vec<&[u8]> = vec![b"HTTP/1.1 100 Continue\r\n\r\n"; 100_000];
        reads.push(b"HTTP/1.1 200 OK\r\n\r\n");
        let heads = exchange(&reads);
        assert!(heads.len() == 1 && heads[0].len() <= MAX_HEAD + 19 && heads[0].ends_with(b"200 OK\r\n\r\n"));
        assert!(!tap.wants(1), "the body is not looked at");
        // Thousands of them in one read, cut anywhere, the final head among them.
        let many =
            [&b"HTTP/1.1 100 Continue\r\n\r\n".repeat(20_000)[..], b"HTTP/1.1 200 OK\r\n\r\nbody"].concat();
        let (a, b) = many.split_at(300_007);
        let heads = exchange(&[a, b]);
        assert!(heads.len() == 1 && heads[0].len() <= MAX_HEAD + 19 && heads[0].ends_with(b"200 OK\r\n\r\n"));
        tap.record(2, true, b"PRI * HTTP/2.0\r\n\r\n");
        tap.record(2, false, b"\x00\x00\x12\x04binary");
        assert!(tap.take_heads().is_empty() && !tap.wants(2), "HTTP/2 frames are not heads");
        tap.record(2, true, b"\x00\x00\x04\x08window update");
        assert!(!tap.wants(2), "an HTTP/2 connection's reads are not looked at again");
    }

    #[test]
    fn a_response_takes_its_own_head_and_leaves_the_others() {
        let tap = Tap::default();
        for (conn, head) in
            [(1, &b"HTTP/1.1 200 OK\r\nA: 1\r\n\r\n"[..]), (2, b"HTTP/1.1 200 OK\r\nA: 2\r\n\r\n")]
        {
            tap.record(conn, true, b"GET / HTTP/1.1\r\n\r\n");
            tap.record(conn, false, head);
        }
        let mine = tap.take_head(|h| h.ends_with(b"A: 1\r\n\r\n"));
        assert_eq!(mine.as_deref(), Some(&b"HTTP/1.1 200 OK\r\nA: 1\r\n\r\n"[..]));
        assert_eq!(tap.take_heads(), vec![b"HTTP/1.1 200 OK\r\nA: 2\r\n\r\n".to_vec()]);
        for i in 0..KEPT_HEADS + 5 {
            tap.record(3, true, b"GET / HTTP/1.1\r\n\r\n");
            tap.record(3, false, format!("HTTP/1.1 200 OK\r\nN: {i}\r\n\r\n").as_bytes());
        }
        assert_eq!(tap.take_heads().len(), KEPT_HEADS, "unclaimed heads do not pile up");
    }

    #[test]
    fn capped_writer_stops_formatting() {
        let mut c = Capped::new(5);
        let s = "héllo world";
        assert!(write!(c, "{s}").is_err());
        assert_eq!(c.buf, "héll");
    }

    /// reqwest's log format, checked against a real reqwest and a local server: a change there
    /// must fail here, not print wrong heads.
    #[test]
    fn reqwest_logs_what_this_module_parses() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 200 Fine Thanks\r\nx-lower: a\r\nX-UPPER: b\r\nContent-Length: 2\r\n\r\nok",
            );
        });
        let tap = Tap::install();
        super::super::install_crypto();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let body = rt.block_on(async {
            let client = reqwest::Client::builder().no_proxy().connection_verbose(true).build().unwrap();
            client.get(format!("http://127.0.0.1:{port}/wire")).send().await.unwrap().text().await.unwrap()
        });
        assert_eq!(body, "ok");
        let heads = tap.take_heads();
        assert!(
            heads.contains(
                &b"HTTP/1.1 200 Fine Thanks\r\nx-lower: a\r\nX-UPPER: b\r\nContent-Length: 2\r\n\r\n"
                    .to_vec()
            ),
            "{heads:?}"
        );
    }
}
