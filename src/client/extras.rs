//! The smaller curl options' effects on a transfer (`config::CurlExtras`): the HTTP version
//! and `-4` on the HTTP client (`--resolve` is `elsewhere::Overridden`'s); `-e ';auto'` on
//! each hop; `-D` and `--create-dirs` before the body is written, `-D`'s trailer fields and
//! `--fail-with-body` after it.

use crate::config::{CurlExtras, DumpHeader, HttpVersion, IpFamily, OutputTarget, RequestConfig};
use crate::error::{Error, Exit, Result};
use reqwest::header::{HeaderValue, REFERER};
use std::io::Write;

/// Applies `--http1.1`/`--http2-prior-knowledge` and `-4` to the client.
pub fn configure(mut b: reqwest::ClientBuilder, x: &CurlExtras) -> reqwest::ClientBuilder {
    b = match x.http_version {
        HttpVersion::Http11 => b.http1_only(),
        HttpVersion::Http2PriorKnowledge => b.http2_prior_knowledge(),
        HttpVersion::Default | HttpVersion::Http2 => b,
    };
    if x.ip_family == IpFamily::V4 {
        b = b.local_address(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    }
    b
}

/// `-e ';auto'`: each request after a redirect carries the URL it was redirected from.
pub struct AutoReferer {
    on: bool,
    last: Option<url::Url>,
}

impl AutoReferer {
    pub fn new(req: &RequestConfig) -> AutoReferer {
        AutoReferer { on: req.curl.referer_auto, last: None }
    }

    pub fn apply(&mut self, mut request: reqwest::Request) -> reqwest::Request {
        if !self.on {
            return request;
        }
        match &self.last {
            Some(prev) if prev != request.url() => {
                // Without its fragment (RFC 9110 §10.1.3), as curl sends it; reqwest took the
                // user name and password out of the URL already.
                let mut prev = prev.clone();
                prev.set_fragment(None);
                if let Ok(v) = HeaderValue::from_str(prev.as_str()) {
                    request.headers_mut().insert(REFERER, v);
                }
                self.last = Some(request.url().clone());
            }
            Some(_) => {}
            None => self.last = Some(request.url().clone()),
        }
        request
    }
}

/// The `-D` files this operation's transfers have written. As in curl, one file takes the heads
/// of all the URLs of an operation (the part of a command line up to `--next`): the first
/// transfer that writes it replaces what it held, the next ones (and a retry) add theirs.
#[derive(Default)]
pub struct DumpFiles(std::sync::Mutex<std::collections::HashSet<std::path::PathBuf>>);

impl DumpFiles {
    /// Whether `path` is written for the first time in this operation (so it is replaced).
    fn first(&self, path: &std::path::Path) -> bool {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(path.to_path_buf())
    }
}

/// Before the body: `--create-dirs` makes the `-o` file's directories (`-O`'s: `--output-dir`); `-D` writes the heads.
pub fn before_body(
    req: &RequestConfig,
    dumped: &DumpFiles,
    heads: &super::EarlierHeads,
    last: &[u8],
) -> Result<()> {
    if req.curl.create_dirs {
        // -O's name is in --output-dir (the server's with -J is not known yet: the directory
        // is the same).
        let dir = match &req.output {
            OutputTarget::File(p) => p.parent(),
            OutputTarget::RemoteName => req.curl.output_dir.as_deref(),
            OutputTarget::Stdout | OutputTarget::Null => None,
        };
        if let Some(dir) = dir.filter(|d| !d.as_os_str().is_empty()) {
            // 0750 less the umask, as curl makes them: an output directory is no one else's.
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o750);
            builder.create(dir).map_err(|e| {
                Error::new(Exit::Write, format!("cannot create the directory {}: {e}", dir.display()))
            })?;
        }
    }
    dump_heads(req, dumped, heads, last)
}

/// `-D`: the heads received (the CONNECT's and redirects' first, then `last`). Also for a
/// transfer that failed after a redirect it did not follow, as curl writes them then.
pub fn dump_heads(
    req: &RequestConfig,
    dumped: &DumpFiles,
    heads: &super::EarlierHeads,
    last: &[u8],
) -> Result<()> {
    let Some(dump) = &req.curl.dump_header else { return Ok(()) };
    let suppress = req.curl.conn.suppress_connect_headers;
    let all: Vec<u8> = heads.shown(suppress).flatten().chain(last).copied().collect();
    let append = matches!(dump, DumpHeader::File(p) if !dumped.first(p));
    dump_to(req, dump, &all, append)
}

/// After the body: `-D` adds the trailer fields (`trailers`) after the head it wrote.
pub fn dump_trailers(req: &RequestConfig, text: &[u8]) -> Result<()> {
    match &req.curl.dump_header {
        Some(dump) => dump_to(req, dump, text, true),
        None => Ok(()),
    }
}

/// Writes `-D`'s text: to standard output (a reader that left is not an error there), or to
/// its file (made with `--create-file-mode`), replaced with the operation's first heads,
/// `append`ed to with the rest and with trailer fields. Where that is a terminal (`-D -`,
/// `-D /dev/stderr`), what could drive it is escaped, as `-i` does.
fn dump_to(req: &RequestConfig, dump: &DumpHeader, text: &[u8], append: bool) -> Result<()> {
    use std::io::IsTerminal;
    let shown = |tty: bool| crate::term::shown_on(text, tty);
    match dump {
        DumpHeader::Stdout => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&shown(out.is_terminal())).and_then(|_| out.flush());
            Ok(())
        }
        DumpHeader::File(p) => {
            let opened = if append {
                crate::statefile::open_waiting(
                    crate::output::create_options(req.transfer.create_file_mode).append(true),
                    p,
                )
            } else {
                crate::statefile::open_waiting(
                    crate::output::create_options(req.transfer.create_file_mode).truncate(true),
                    p,
                )
            };
            opened.and_then(|mut f| f.write_all(&shown(f.is_terminal()))).map_err(|e| {
                crate::output::interrupted(&e).unwrap_or_else(|| {
                    Error::new(Exit::Write, format!("cannot write the headers to {}: {e}", p.display()))
                })
            })
        }
    }
}

/// After the body: `--fail-with-body` turns a status of 400 or above into exit 22.
pub fn after_body(req: &RequestConfig, status: u16, url: &str) -> Result<()> {
    if req.curl.fail_with_body && status >= 400 {
        return Err(Error::new(Exit::HttpStatus, format!("the server answered {status} for {url}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(url: &str) -> reqwest::Request {
        reqwest::Request::new(reqwest::Method::GET, url::Url::parse(url).unwrap())
    }

    #[test]
    fn auto_referer_names_the_previous_url() {
        let mut req = RequestConfig::get(url::Url::parse("http://a/").unwrap());
        req.curl.referer_auto = true;
        let mut r = AutoReferer::new(&req);
        assert!(r.apply(get("http://a/")).headers().get(REFERER).is_none());
        assert!(
            r.apply(get("http://a/")).headers().get(REFERER).is_none(),
            "an auth retry is not a redirect"
        );
        assert_eq!(r.apply(get("http://b/x")).headers().get(REFERER).unwrap(), "http://a/");
        assert_eq!(r.apply(get("http://c/")).headers().get(REFERER).unwrap(), "http://b/x");
        let mut off = AutoReferer::new(&RequestConfig::get(url::Url::parse("http://a/").unwrap()));
        off.apply(get("http://a/"));
        assert!(off.apply(get("http://b/")).headers().get(REFERER).is_none());
    }

    #[test]
    fn fail_with_body_fails_after_writing() {
        let mut req = RequestConfig::get(url::Url::parse("http://a/").unwrap());
        assert!(after_body(&req, 404, "u").is_ok());
        req.curl.fail_with_body = true;
        assert!(after_body(&req, 399, "u").is_ok());
        assert_eq!(after_body(&req, 404, "u").unwrap_err().exit, Exit::HttpStatus);
    }

    #[test]
    fn dump_header_and_create_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let mut req = RequestConfig::get(url::Url::parse("http://a/").unwrap());
        req.output = OutputTarget::File(dir.path().join("x/y/out.txt"));
        req.curl.create_dirs = true;
        req.curl.dump_header = Some(DumpHeader::File(dir.path().join("h.txt")));
        let mut heads = crate::client::EarlierHeads::default();
        heads.connect(200, b"HTTP/1.1 200 Connection established\r\n\r\n".to_vec());
        heads.redirect(
            b"HTTP/1.1 302 Found\r\n\r\n".to_vec(),
            super::super::header_case::LastAnswer::at("http://x/"),
        );
        std::fs::write(dir.path().join("h.txt"), b"an older run's").unwrap();
        let dumped = DumpFiles::default();
        before_body(&req, &dumped, &heads, b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
        assert!(dir.path().join("x/y").is_dir());
        let first =
            b"HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 302 Found\r\n\r\nHTTP/1.1 200 OK\r\n\r\n";
        assert_eq!(std::fs::read(dir.path().join("h.txt")).unwrap(), first);
        // The operation's next transfer adds its heads; another operation starts the file anew.
        req.curl.conn.suppress_connect_headers = true;
        before_body(&req, &dumped, &heads, b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        let second = b"HTTP/1.1 302 Found\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
        assert_eq!(std::fs::read(dir.path().join("h.txt")).unwrap(), [&first[..], second].concat());
        before_body(&req, &DumpFiles::default(), &heads, b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        assert_eq!(std::fs::read(dir.path().join("h.txt")).unwrap(), second);
    }
}
