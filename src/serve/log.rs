//! The access log of `toll serve`: one line per request (client, method, target, upstream,
//! status, time, note) on stderr or in `--log FILE`. It never holds a secret: targets have their
//! userinfo removed and every field is sanitised (a client cannot write terminal escapes into it).

use crate::term::sanitize;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

pub struct AccessLog {
    out: Mutex<Box<dyn Write + Send>>,
}

impl AccessLog {
    pub fn new(out: Box<dyn Write + Send>) -> AccessLog {
        AccessLog { out: Mutex::new(out) }
    }

    pub fn stderr() -> AccessLog {
        AccessLog::new(Box::new(std::io::stderr()))
    }

    /// Opens (appends to) `path`, created 0600.
    pub fn file(path: &std::path::Path) -> std::io::Result<AccessLog> {
        let mut o = std::fs::OpenOptions::new();
        o.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        Ok(AccessLog::new(Box::new(o.open(path)?)))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn request(
        &self,
        client: SocketAddr,
        method: &str,
        target: &str,
        upstream: &str,
        status: u16,
        elapsed: Duration,
        note: &str,
    ) {
        let note = if note.is_empty() { String::new() } else { format!(" ({})", sanitize(note)) };
        self.write(&format!(
            "{} {client} {} {} via {} {status} {}ms{note}",
            timestamp(),
            sanitize(method),
            sanitize(&crate::proxy_env::redact_userinfo(target)),
            sanitize(upstream),
            elapsed.as_millis()
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

/// UTC, RFC 3339, second precision (the PAC engine's calendar: no time-zone database needed).
fn timestamp() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let t = crate::pac::Tm::from_unix(secs as i64);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", t.year, t.month, t.day, t.hour, t.minute, t.second)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

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
        log.request(
            "127.0.0.1:5000".parse().unwrap(),
            "GET",
            "http://alice:s3cret@example.com/\x1b[31mred",
            "http://proxy:3128",
            200,
            Duration::from_millis(12),
            "",
        );
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(!text.contains('\x1b'), "{text}");
        assert!(text.contains(" 127.0.0.1:5000 GET http://"), "{text}");
        assert!(text.trim_end().ends_with(" via http://proxy:3128 200 12ms"), "{text}");
    }
}
