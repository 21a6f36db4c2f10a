//! `--trace FILE` / `--trace-ascii FILE` (`--trace-time`): every byte the HTTP client sends
//! and receives (after TLS), in curl's dump format — `=> Send header, 78 bytes (0x4e)` then
//! offset-prefixed lines, as a hex dump with `--trace` or text with `--trace-ascii` — fed by the
//! wire tap ([`super::wire`]). The bytes are the client's: a proxy's credentials never pass
//! there (the relay adds them: the `Proxy-Authorization` the client sends is toll's key for its
//! own relay, and is left out), and the header values that carry secrets (`Authorization`,
//! `Cookie`, `Set-Cookie`) are written as `<redacted>`, as `-v` does.
//! curl's `== Info:` lines about connecting are not written.

use crate::config::TraceConfig;
use crate::error::{Error, Exit, Result};
use std::io::Write;

const SECRET_HEADERS: [&str; 4] = ["authorization", "proxy-authorization", "cookie", "set-cookie"];

/// Where the trace goes and how it is formatted.
pub struct Writer {
    out: Box<dyn Write + Send>,
    ascii: bool,
    time: bool,
    /// The first write error (reported at the end; the transfer goes on, as in curl).
    failed: Option<std::io::Error>,
}

impl Writer {
    /// Opens `--trace`'s file ('-': standard output).
    pub fn create(cfg: &TraceConfig) -> Result<Writer> {
        let out: Box<dyn Write + Send> = if cfg.file.as_os_str() == "-" {
            Box::new(std::io::stdout())
        } else {
            let f = std::fs::File::create(&cfg.file).map_err(|e| {
                Error::new(Exit::Write, format!("cannot write the trace to {}: {e}", cfg.file.display()))
            })?;
            Box::new(std::io::BufWriter::new(f))
        };
        Ok(Writer::to(out, cfg.ascii, cfg.time))
    }

    fn to(out: Box<dyn Write + Send>, ascii: bool, time: bool) -> Writer {
        Writer { out, ascii, time, failed: None }
    }

    /// Bytes the client wrote: a request head (secrets redacted) and/or body data.
    pub fn sent(&mut self, data: &[u8]) {
        let head_len = request_head_len(data);
        if head_len > 0 {
            let head = redact(&data[..head_len]);
            self.block("=> Send header", &head);
        }
        if head_len < data.len() {
            self.block("=> Send data", &data[head_len..]);
        }
    }

    /// Bytes the client read: `head` of a response head (one block per line, as curl), then
    /// body `data`.
    pub fn received(&mut self, head: &[u8], data: &[u8]) {
        for line in head.split_inclusive(|b| *b == b'\n') {
            let line = redact(line);
            self.block("<= Recv header", &line);
        }
        if !data.is_empty() {
            self.block("<= Recv data", data);
        }
    }

    /// Flushes the file; a failed write is exit 23 (a closed pipe is not a failure).
    pub fn finish(mut self) -> Result<()> {
        if self.failed.is_none() {
            if let Err(e) = self.out.flush() {
                self.failed = Some(e);
            }
        }
        match self.failed {
            // A reader that left (`--trace - | head`) ends it quietly, as it ends a body.
            Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Some(e) => Err(Error::new(Exit::Write, format!("cannot write the trace: {e}"))),
            None => Ok(()),
        }
    }

    fn block(&mut self, label: &str, data: &[u8]) {
        let mut text = String::new();
        if self.time {
            text.push_str(&time_of_day());
        }
        text.push_str(&format!("{label}, {} bytes (0x{:x})\n", data.len(), data.len()));
        dump(&mut text, data, self.ascii);
        if self.failed.is_none() {
            if let Err(e) = self.out.write_all(text.as_bytes()) {
                self.failed = Some(e);
            }
        }
    }
}

/// curl's dump: 16 bytes a line in hex with their characters, or (ASCII) 64 characters a line,
/// a new line after each CRLF; unprintable bytes as '.'.
fn dump(out: &mut String, data: &[u8], ascii: bool) {
    let width = if ascii { 0x40 } else { 0x10 };
    let printable = |b: u8| if (0x20..0x7f).contains(&b) { b as char } else { '.' };
    let mut i = 0;
    while i < data.len() {
        out.push_str(&format!("{i:04x}: "));
        if !ascii {
            for c in 0..width {
                match data.get(i + c) {
                    Some(b) => out.push_str(&format!("{b:02x} ")),
                    None => out.push_str("   "),
                }
            }
        }
        let mut next = i + width;
        let mut c = 0;
        while c < width && i + c < data.len() {
            if ascii && data[i + c] == b'\r' && data.get(i + c + 1) == Some(&b'\n') {
                next = i + c + 2;
                break;
            }
            out.push(printable(data[i + c]));
            c += 1;
        }
        out.push('\n');
        i = next;
    }
}

/// The length of the HTTP/1 request head `data` starts with (0 if it does not start with one).
fn request_head_len(data: &[u8]) -> usize {
    let Some(sp) = data.iter().position(|b| *b == b' ') else { return 0 };
    if sp == 0 || !data[..sp].iter().all(u8::is_ascii_uppercase) {
        return 0;
    }
    let line_end = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    if !data[..line_end].windows(6).any(|w| w == b"HTTP/1") {
        return 0;
    }
    data.windows(4).position(|w| w == b"\r\n\r\n").map_or(data.len(), |i| i + 4)
}

/// Header lines carrying secrets keep their name (and a credential its scheme); the value
/// becomes `<redacted>`. A `Proxy-Authorization` the client sends is left out: it is toll's key
/// for its own loopback relay, never what the proxy got (the relay answers the proxy), and shown
/// as a Basic credential it sent people debugging a Negotiate or NTLM proxy the wrong way.
fn redact(head: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len());
    for line in head.split_inclusive(|b| *b == b'\n') {
        let name_end = line.iter().position(|b| *b == b':');
        let secret = name_end.map(|n| String::from_utf8_lossy(&line[..n]).trim().to_ascii_lowercase());
        if secret.as_deref() == Some("proxy-authorization") {
            continue;
        }
        match (secret.filter(|name| SECRET_HEADERS.contains(&name.as_str())), name_end) {
            (Some(name), Some(n)) => {
                out.extend_from_slice(&line[..n]);
                out.extend_from_slice(b": ");
                let shown = crate::secret::shown_secret_field(&name, line[n + 1..].trim_ascii());
                out.extend_from_slice(shown.as_bytes());
                let ending: &[u8] = if line.ends_with(b"\r\n") { b"\r\n" } else { b"\n" };
                out.extend_from_slice(ending);
            }
            _ => out.extend_from_slice(line),
        }
    }
    out
}

/// `HH:MM:SS.micros ` (UTC), as `--trace-time` starts each block.
fn time_of_day() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() % 86_400;
    format!("{:02}:{:02}:{:02}.{:06} ", secs / 3600, secs / 60 % 60, secs % 60, now.subsec_micros())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn traced(ascii: bool, f: impl FnOnce(&mut Writer)) -> String {
        let buf = Shared::default();
        let mut w = Writer::to(Box::new(buf.clone()), ascii, false);
        f(&mut w);
        w.finish().unwrap();
        let out = buf.0.lock().unwrap().clone();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn ascii_trace_as_curl_writes_it() {
        let out = traced(true, |w| {
            w.sent(b"GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Basic c2VjcmV0\r\n\r\n");
            w.received(b"HTTP/1.1 200 OK\r\nSet-Cookie: s=1\r\n\r\n", b"hi\n");
        });
        assert_eq!(
            out,
            "=> Send header, 60 bytes (0x3c)\n0000: GET / HTTP/1.1\n0010: Host: h\n0019: Authorization: Basic <redacted>\n003a: \n\
             <= Recv header, 17 bytes (0x11)\n0000: HTTP/1.1 200 OK\n\
             <= Recv header, 24 bytes (0x18)\n0000: Set-Cookie: <redacted>\n\
             <= Recv header, 2 bytes (0x2)\n0000: \n\
             <= Recv data, 3 bytes (0x3)\n0000: hi.\n"
        );
        assert!(!out.contains("c2VjcmV0"));
    }

    #[test]
    fn the_relays_own_key_is_not_traced() {
        let out = traced(true, |w| {
            w.sent(b"GET http://o/ HTTP/1.1\r\nHost: o\r\nProxy-Authorization: Basic dG9sbDprZXk=\r\n\r\n")
        });
        assert!(!out.contains("Proxy-Authorization") && !out.contains("dG9sbDprZXk"), "{out}");
        assert!(out.contains("Host: o"), "{out}");
    }

    #[test]
    fn hex_trace_and_body_writes() {
        let out = traced(false, |w| w.sent(b"x=1&password=p"));
        assert_eq!(
            out,
            "=> Send data, 14 bytes (0xe)\n0000: 78 3d 31 26 70 61 73 73 77 6f 72 64 3d 70       x=1&password=p\n"
        );
        assert_eq!(request_head_len(b"POST /a HTTP/1.1\r\n\r\nbody"), 20);
        assert_eq!(request_head_len(b"not a head"), 0);
        assert_eq!(request_head_len(b"\x16\x03binary"), 0);
    }

    struct Failing(std::io::ErrorKind);
    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(self.0.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_reader_that_left_ends_the_trace_quietly_and_a_full_disk_is_exit_23() {
        let mut w = Writer::to(Box::new(Failing(std::io::ErrorKind::BrokenPipe)), true, false);
        w.sent(b"GET / HTTP/1.1\r\n\r\n");
        assert!(w.finish().is_ok());
        let mut w = Writer::to(Box::new(Failing(std::io::ErrorKind::StorageFull)), true, false);
        w.sent(b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(w.finish().unwrap_err().exit, Exit::Write);
    }

    #[test]
    fn time_of_day_shape() {
        let t = time_of_day();
        assert_eq!((t.len(), &t[2..3], &t[8..9]), (16, ":", "."));
    }
}
