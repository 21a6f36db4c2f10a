//! Where and how the body is saved, for the transfer options (`config::TransferOptions`):
//! the conditional request headers (`-z`, `--etag-compare`, `-C`'s `Range`); before the body,
//! the checks on the answer (`-C`, `--max-filesize` by Content-Length) and the output file's
//! name (`-J` from Content-Disposition, made safe; `--no-clobber`); while it arrives,
//! `--max-filesize`, `--limit-rate` and `--speed-limit`; after it, `--xattr`, `-R` and
//! `--etag-save`.
//!
//! A name from the server goes through `output::safe_file_name` (no directory part, no hidden
//! file, no control characters) and never replaces an existing file.

use super::resume::{self, Answer};
use crate::config::{OutputTarget, RequestConfig};
use crate::error::{Error, Exit, Result};
use crate::output::{self, Placing, Sink};
use reqwest::header::HeaderMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// The headers the transfer options add to every request: `Range` (`-C`), `If-Modified-Since`
/// or `If-Unmodified-Since` (`-z`), `If-None-Match` (`--etag-compare`). A header the user set
/// with -H is not replaced.
pub fn request_headers(req: &RequestConfig) -> Result<Vec<(&'static str, String)>> {
    let mut v = Vec::new();
    let t = &req.transfer;
    if let Some(range) = resume::range_header(req) {
        v.push(("Range", range));
    }
    if let Some(cond) = &t.time_cond {
        // A file that cannot be read disables the condition (curl warns and fetches).
        let time =
            cond.time.or_else(|| cond.file.as_ref().and_then(|f| std::fs::metadata(f).ok()?.modified().ok()));
        if let Some(time) = time {
            let name = if cond.unmodified { "If-Unmodified-Since" } else { "If-Modified-Since" };
            v.push((name, httpdate::fmt_http_date(time)));
        }
    }
    if let Some(path) = &t.etag_compare {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(Exit::Read, format!("--etag-compare: cannot read {}: {e}", path.display()))
                .hint("save the ETag first with --etag-save FILE")
        })?;
        let etag = text.lines().next().unwrap_or("").trim().to_string();
        if !etag.is_empty() && !etag.chars().any(char::is_control) {
            v.push(("If-None-Match", etag));
        }
    }
    v.retain(|(n, _)| !req.headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(n)));
    Ok(v)
}

/// `-z`: the answer's Last-Modified does not meet the condition (a server that ignored it).
/// curl then drops the body and reports 304, and so does toll.
pub fn condition_unmet(req: &RequestConfig, headers: &HeaderMap) -> bool {
    let Some(cond) = &req.transfer.time_cond else { return false };
    let Some(doc) = last_modified(headers) else { return false };
    let time =
        cond.time.or_else(|| cond.file.as_ref().and_then(|f| std::fs::metadata(f).ok()?.modified().ok()));
    match time {
        None => false,
        Some(t) if cond.unmodified => doc > t,
        Some(t) => doc <= t,
    }
}

/// What happens with the body of the final answer.
pub enum Plan {
    /// Nothing to write: `-C` and no body to append (`resume::Answer::Nothing`), a 304, or `-z`
    /// not met.
    Skip,
    Write(Box<Output>),
}

/// The sink to write to, with the checks to apply while writing and what to do after.
pub struct Output {
    pub sink: Sink,
    /// The file written, if a file (for `-R`).
    dest: Option<PathBuf>,
    guard: Guard,
    /// `--max-filesize`'s limit, which the announced length is over: the head shown (`-i`,
    /// `-I`) is written, then the transfer fails ([`Output::after_heads`]).
    too_large: Option<u64>,
}

/// Checks the answer before its body is written (`-C`'s status, `--max-filesize` against the
/// announced length), then opens the output.
pub fn plan(req: &RequestConfig, status: u16, headers: &HeaderMap, length: Option<u64>) -> Result<Plan> {
    let answer = resume::answer(req, status, headers, length)?;
    // A 304 leaves the output as it was, as curl does: `-z FILE -o FILE` and
    // `--etag-compare` must not empty the file they keep up to date.
    // `-I` reads no body, even with `-X GET` (curl's "no body" is apart from the method).
    let skip_body =
        req.head_only || answer == Answer::Nothing || status == 304 || condition_unmet(req, headers);
    // `--max-filesize` against the announced length, as curl checks it when the head arrives:
    // a HEAD's answer's too, not a 204's or a 304's (no body follows them, whatever their
    // `Content-Length` says); a head to show is written first.
    let over = match (req.transfer.max_filesize, length) {
        (Some(max), Some(len)) if len > max && status != 204 && status != 304 => Some(max),
        _ => None,
    };
    let shown = req.include_headers || req.head_only;
    if let (Some(max), false) = (over, shown) {
        return Err(too_large(max));
    }
    if skip_body && !shown {
        return Ok(Plan::Skip);
    }
    let mut guard = Guard::new(req);
    // With -i the head is still written (as curl does), the body is not.
    guard.skip = skip_body;
    // Resuming, the file is only ever appended to: the part asked for, or a head shown.
    if answer != Answer::Whole {
        let sink = resume::append_sink(req)?;
        let dest = match &sink {
            Sink::Special { dest, .. } => Some(dest.clone()),
            _ => None,
        };
        return Ok(Plan::Write(Box::new(Output { sink, dest, guard, too_large: over })));
    }
    let dest = match &req.output {
        OutputTarget::Stdout => None,
        OutputTarget::Null => {
            return Ok(Plan::Write(Box::new(Output { sink: Sink::Null, dest: None, guard, too_large: over })))
        }
        OutputTarget::File(p) => Some((p.clone(), false)),
        OutputTarget::RemoteName => Some(remote_file(req, headers)?),
    };
    // Names are checked now and taken at the end without replacing (`output::Placing`).
    let (dest, placing) = match dest {
        Some((d, _)) if req.transfer.no_clobber => (Some(output::free_numbered(&d)?), Placing::Numbered(d)),
        Some((d, true)) => (Some(d), Placing::New),
        Some((d, false)) => (Some(d), Placing::Replace),
        None => (None, Placing::Replace),
    };
    let sink = match &dest {
        None => Sink::stdout(),
        Some(p) => Sink::file_with_mode(p, req.transfer.create_file_mode)?.placing(placing),
    };
    Ok(Plan::Write(Box::new(Output { sink, dest, guard, too_large: over })))
}

/// `-O` without `-J` and a URL that names no file: this transfer fails before it is sent
/// (exit 23, as curl's "Remote file name has no length!"), after the URLs before it, and ends
/// the line (`multi::ends_the_line`).
pub fn check_remote_name(req: &RequestConfig) -> Result<()> {
    match (&req.output, req.transfer.remote_header_name) {
        (OutputTarget::RemoteName, false) => output::remote_name(&req.url).map(drop),
        _ => Ok(()),
    }
}

/// `--skip-existing`: the output file this request would write, when it exists already (then
/// the request is not made). Known before anything is sent: `-o FILE`, and `-O`'s name from the
/// URL (with `-J` the server's name is not known yet, so the URL's is checked, as curl does).
pub fn exists_already(req: &RequestConfig) -> Option<PathBuf> {
    if !req.transfer.skip_existing {
        return None;
    }
    let path = match &req.output {
        OutputTarget::Stdout | OutputTarget::Null => return None,
        OutputTarget::File(p) => p.clone(),
        OutputTarget::RemoteName => in_output_dir(req, output::remote_name(&req.url).ok()?),
    };
    // A symbolic link counts as there, even a dangling one: it is not toll's to replace.
    std::fs::symlink_metadata(&path).is_ok().then_some(path)
}

/// The name `-O` (with `-J`) saves under, for `-w %{filename_effective}`: with `--output-dir`,
/// the path in it (curl 7.88 leaves the directory out for a `-J` name only; the path of the file
/// written is what a script needs).
pub fn remote_file_name(req: &RequestConfig, headers: &HeaderMap) -> Option<String> {
    let name = header_name(req, headers).map(PathBuf::from).or_else(|| output::remote_name(&req.url).ok())?;
    Some(in_output_dir(req, name).display().to_string())
}

/// `-O`'s `name` (the URL's, or the server's with `-J`) in `--output-dir`, if one is given.
/// The name is a single path component (`output::remote_name`, `output::safe_file_name`), so
/// it stays in the directory.
pub fn in_output_dir(req: &RequestConfig, name: PathBuf) -> PathBuf {
    match &req.curl.output_dir {
        Some(dir) => dir.join(name),
        None => name,
    }
}

/// `-J`: the safe name from Content-Disposition, if there is one.
fn header_name(req: &RequestConfig, headers: &HeaderMap) -> Option<String> {
    if !req.transfer.remote_header_name {
        return None;
    }
    headers
        .get(reqwest::header::CONTENT_DISPOSITION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .and_then(|v| disposition_filename(&v))
        .and_then(|n| output::safe_file_name(&n))
}

/// `-O`'s file: the URL's name, or with `-J` the server's `Content-Disposition` name when it is
/// safe — which must not exist yet (curl: exit 23) unless `--no-clobber` picks the next free
/// number for it ([`plan`], as curl's); without one, the URL's, replaced as `-O` replaces it
/// (curl too).
/// With whether the name is the server's.
fn remote_file(req: &RequestConfig, headers: &HeaderMap) -> Result<(PathBuf, bool)> {
    let Some(path) = header_name(req, headers).map(|n| in_output_dir(req, n.into())) else {
        return output::remote_name(&req.url).map(|n| (in_output_dir(req, n), false));
    };
    if !req.transfer.no_clobber && std::fs::symlink_metadata(&path).is_ok() {
        return Err(Error::new(
            Exit::Write,
            format!(
                "-J: {} exists; toll does not overwrite it",
                crate::term::sanitize(&path.display().to_string())
            ),
        )
        .hint("remove or rename it, or use -o FILE"));
    }
    Ok((path, true))
}

/// The `filename=` of a Content-Disposition value, as curl 7.88's tool reads it: parameters are
/// found by skipping to the next letter and compared case-sensitively (`FILENAME=` and
/// `filename*=` are not read); a value in double or single quotes runs to the same quote, one
/// without to the next ';'. The caller makes the name safe (`output::safe_file_name`).
pub fn disposition_filename(value: &str) -> Option<String> {
    let b = value.as_bytes();
    let mut p = 0;
    let start = loop {
        while p < b.len() && !b[p].is_ascii_alphabetic() {
            p += 1;
        }
        if p + "filename=".len() > b.len() {
            return None;
        }
        if b[p..].starts_with(b"filename=") {
            break p + "filename=".len();
        }
        while p < b.len() && b[p] != b';' {
            p += 1;
        }
    };
    let rest = &value[start..];
    let (stop, rest) = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => (q, &rest[1..]),
        _ => (';', rest),
    };
    let name = &rest[..rest.find(stop).unwrap_or(rest.len())];
    (!name.is_empty()).then(|| name.to_string())
}

impl Output {
    /// The file written, if a file: the name chosen (`--no-clobber`, `-J`), not the name given.
    pub fn dest(&self) -> Option<&Path> {
        self.dest.as_deref()
    }

    /// The head is written: the transfer stops here when the announced length is too large.
    pub fn after_heads(&self) -> Result<()> {
        self.too_large.map_or(Ok(()), |max| Err(too_large(max)))
    }
}

fn too_large(max: u64) -> Error {
    Error::new(Exit::FileTooLarge, format!("Maximum file size exceeded (--max-filesize {max})"))
        .hint("raise --max-filesize if the file is expected to be that large")
}

/// `--speed-limit`'s failure (exit 28), in curl's words.
pub fn too_slow(limit: u64, time: Duration) -> Error {
    Error::new(
        Exit::Timeout,
        format!(
            "Operation too slow. Less than {limit} bytes/sec transferred the last {} seconds",
            time.as_secs()
        ),
    )
    .hint("raise --speed-time or lower --speed-limit")
}

/// `--max-filesize`, `--limit-rate` and `--speed-limit` while the body arrives.
pub struct Guard {
    max: Option<u64>,
    rate: Option<u64>,
    speed: Option<(u64, Duration)>,
    started: Instant,
    received: u64,
    /// The start of the current `--speed-time` window and the bytes received before it.
    window: (Instant, u64),
    /// The body is not wanted (see [`plan`]): it ends at once.
    skip: bool,
    /// When `-m` runs out ([`Output::until`]): `--limit-rate`'s waits end there (reqwest's own
    /// timeout only bounds its reads, not the waits between them).
    deadline: Option<Instant>,
    /// The body ends when the connection does (HTTP/1, no length, not chunked: see
    /// [`Output::close_delimited`]).
    close_delimited: bool,
}

impl Guard {
    fn new(req: &RequestConfig) -> Guard {
        let t = &req.transfer;
        let now = Instant::now();
        Guard {
            max: t.max_filesize,
            rate: t.limit_rate,
            speed: t.speed_limit,
            started: now,
            received: 0,
            window: (now, 0),
            skip: false,
            deadline: None,
            close_delimited: false,
        }
    }

    /// The next chunk of the body: waits with `--limit-rate`, gives up with `--speed-limit`
    /// (exit 28) when too little arrives within `--speed-time`. The inner result is reqwest's.
    pub async fn next(
        &mut self,
        resp: &mut reqwest::Response,
    ) -> Result<reqwest::Result<Option<bytes::Bytes>>> {
        if self.skip {
            return Ok(Ok(None));
        }
        let chunk = match self.speed {
            None => self.by_deadline(resp.chunk()).await?,
            Some((limit, time)) => loop {
                let left = time.saturating_sub(self.window.0.elapsed());
                match tokio::time::timeout(left, self.by_deadline(resp.chunk())).await {
                    Ok(c) => break c?,
                    Err(_) => self.check_speed(limit, time)?,
                }
            },
        };
        if let (Err(e), true) = (&chunk, self.close_delimited) {
            if super::errors::chain_text(e).contains("close_notify") {
                return Ok(Ok(None));
            }
        }
        if let Ok(Some(c)) = &chunk {
            self.received += c.len() as u64;
            if let Some(max) = self.max.filter(|m| self.received > *m) {
                return Err(too_large(max));
            }
            if let Some((limit, time)) = self.speed {
                self.check_speed(limit, time)?;
            }
            if let Some(rate) = self.rate {
                let due = Duration::from_secs_f64(self.received as f64 / rate as f64);
                if let Some(wait) = due.checked_sub(self.started.elapsed()) {
                    self.by_deadline(tokio::time::sleep(wait)).await?;
                }
            }
        }
        Ok(chunk)
    }

    /// `read` (or `--limit-rate`'s wait), unless `-m` runs out first (the transfer's limit:
    /// after redirects, the last request's own timeout would allow more).
    async fn by_deadline<T>(&self, read: impl std::future::Future<Output = T>) -> Result<T> {
        match self.deadline {
            None => Ok(read.await),
            Some(d) => tokio::time::timeout_at(d.into(), read).await.map_err(|_| {
                Error::new(
                    Exit::Timeout,
                    format!("timed out: -m/--max-time ran out with {} bytes received", self.received),
                )
            }),
        }
    }

    /// At the end of each `--speed-time` window: fewer than `limit` bytes/s in it is exit 28.
    fn check_speed(&mut self, limit: u64, time: Duration) -> Result<()> {
        let elapsed = self.window.0.elapsed();
        if elapsed < time {
            return Ok(());
        }
        let got = self.received - self.window.1;
        if (got as f64) < limit as f64 * elapsed.as_secs_f64() {
            return Err(too_slow(limit, time));
        }
        self.window = (Instant::now(), self.received);
        Ok(())
    }
}

impl Output {
    /// `-m`'s end for this transfer (see `Guard::deadline`).
    pub fn until(&mut self, deadline: Option<Instant>) {
        self.guard.deadline = deadline;
    }

    /// The body is delimited by the connection's end. Over TLS a server that ends it without
    /// `close_notify` then still ends the body, as curl (with OpenSSL 3) and browsers take it:
    /// many servers close that way; a length or the chunked coding is what guards a body's end.
    pub fn close_delimited(&mut self, yes: bool) {
        self.guard.close_delimited = yes;
    }

    /// The next chunk (see [`Guard::next`]).
    pub async fn next(
        &mut self,
        resp: &mut reqwest::Response,
    ) -> Result<reqwest::Result<Option<bytes::Bytes>>> {
        self.guard.next(resp).await
    }

    /// `--xattr` (a warning unless `silent` when the file system refuses, as curl), puts the
    /// file into place, then `-R` (its time from Last-Modified).
    /// Puts the output in place; the file's name when it is not the one planned
    /// (`--no-clobber` found it taken at the end).
    pub fn finish(self, req: &RequestConfig, headers: &HeaderMap, silent: bool) -> Result<Option<PathBuf>> {
        if req.transfer.xattr {
            if let Some((file, dest)) = self.sink.dest_file() {
                if let Err(e) = super::xattr::store(file, &super::xattr::attributes(&req.url, headers)) {
                    if !silent {
                        eprintln!(
                            "toll: warning: cannot set extended attributes on {}: {e}",
                            crate::term::sanitize(&dest.display().to_string())
                        );
                    }
                }
            }
        }
        let placed = self.sink.finish_at()?;
        let dest = placed.clone().or(self.dest);
        if !req.transfer.remote_time {
            return Ok(placed);
        }
        let (Some(dest), Some(time)) = (dest, last_modified(headers)) else { return Ok(placed) };
        if std::fs::metadata(&dest).is_ok_and(|m| m.is_file()) {
            // As curl: failing to set the time is not an error worth failing the download for.
            let _ = std::fs::File::options().write(true).open(&dest).and_then(|f| f.set_modified(time));
        }
        Ok(placed)
    }
}

fn last_modified(headers: &HeaderMap) -> Option<SystemTime> {
    let v = headers.get(reqwest::header::LAST_MODIFIED)?.to_str().ok()?;
    httpdate::parse_http_date(v.trim()).ok()
}

/// `--etag-save FILE`: the final answer's ETag and a newline (an empty file without one), as
/// curl 7.88 writes it; whole or not at all (review F: on a full disk the old ETag was cut to a
/// prefix, which a later `--etag-compare` then sent).
pub fn save_etag(req: &RequestConfig, headers: &HeaderMap) -> Result<()> {
    let Some(path) = &req.transfer.etag_save else { return Ok(()) };
    let etag = headers.get(reqwest::header::ETAG).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let data = etag.map(|e| format!("{e}\n")).unwrap_or_default();
    crate::statefile::replace_whole(path, ".etag", data.as_bytes(), true).map_err(|e| {
        output::interrupted(&e).unwrap_or_else(|| {
            Error::new(Exit::Write, format!("--etag-save: cannot write {}: {e}", path.display()))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TimeCond;

    #[test]
    fn content_disposition_names_as_curl_reads_them() {
        let f = |s: &str| disposition_filename(s);
        assert_eq!(f("attachment; filename=\"report.txt\"").as_deref(), Some("report.txt"));
        assert_eq!(f("attachment; filename=plain.bin; size=3").as_deref(), Some("plain.bin"));
        // As curl 7.88: case-sensitive, single quotes too, never inside another parameter.
        assert_eq!(f("attachment; FILENAME=\"a b.txt\"").as_deref(), None);
        assert_eq!(f("attachment; filename='single.txt'").as_deref(), Some("single.txt"));
        assert_eq!(f("attachment; title=\"x filename=evil\"; filename=good").as_deref(), Some("good"));
        assert_eq!(f("attachment; filename*=UTF-8''a.txt; filename=b.txt").as_deref(), Some("b.txt"));
        assert_eq!(f("attachment; xfilename=\"no\"").as_deref(), None);
        assert_eq!(f("attachment").as_deref(), None);
        assert_eq!(f("attachment; filename=\"\"").as_deref(), None);
        // What the server says is then made safe: never a path, never hidden.
        let safe = |s: &str| f(s).and_then(|n| output::safe_file_name(&n));
        assert_eq!(safe("attachment; filename=\"../../etc/passwd\"").as_deref(), Some("passwd"));
        assert_eq!(safe("attachment; filename=\".bashrc\""), None);
        assert_eq!(safe("attachment; filename=\"a\x1b[31mb\""), None);
    }

    fn req_in(dir: &Path, url: &str) -> RequestConfig {
        let mut r = RequestConfig::get(url::Url::parse(url).unwrap());
        r.output = OutputTarget::File(dir.join("out.txt"));
        r
    }

    #[test]
    fn no_clobber_picks_the_first_free_number() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("f.txt");
        assert_eq!(output::free_numbered(&d).unwrap(), d);
        std::fs::write(&d, b"x").unwrap();
        std::fs::write(dir.path().join("f.txt.1"), b"x").unwrap();
        assert_eq!(output::free_numbered(&d).unwrap(), dir.path().join("f.txt.2"));
        for n in 2..=100 {
            std::fs::write(dir.path().join(format!("f.txt.{n}")), b"x").unwrap();
        }
        assert_eq!(output::free_numbered(&d).unwrap_err().exit, Exit::Write);
    }

    #[test]
    fn conditions_become_headers() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = req_in(dir.path(), "http://h/x");
        let date = "Tue, 01 Dec 2026 00:00:00 GMT";
        r.transfer.time_cond = Some(TimeCond {
            time: Some(httpdate::parse_http_date(date).unwrap()),
            file: None,
            unmodified: false,
        });
        assert_eq!(request_headers(&r).unwrap(), vec![("If-Modified-Since", date.to_string())]);
        r.transfer.time_cond =
            Some(TimeCond { time: None, file: Some(dir.path().join("none")), unmodified: true });
        assert!(request_headers(&r).unwrap().is_empty(), "a missing -z file disables the condition");
        let etag = dir.path().join("etag");
        std::fs::write(&etag, b"\"abc\"\n").unwrap();
        r.transfer.etag_compare = Some(etag);
        assert_eq!(request_headers(&r).unwrap(), vec![("If-None-Match", "\"abc\"".to_string())]);
        r.headers.push(("if-none-match".into(), "\"mine\"".into()));
        assert!(request_headers(&r).unwrap().is_empty(), "-H wins");
        r.transfer.etag_compare = Some(dir.path().join("missing"));
        assert_eq!(request_headers(&r).unwrap_err().exit, Exit::Read);
    }

    #[test]
    fn a_document_not_meeting_the_time_condition_is_dropped_as_curl_does() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = req_in(dir.path(), "http://h/x");
        let at = |d: &str| Some(httpdate::parse_http_date(d).unwrap());
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::LAST_MODIFIED, "Tue, 01 Dec 2026 00:00:00 GMT".parse().unwrap());
        assert!(!condition_unmet(&r, &h), "no -z");
        for (cond, unmodified, unmet) in [
            ("Tue, 01 Dec 2026 00:00:00 GMT", false, true),
            ("Mon, 30 Nov 2026 00:00:00 GMT", false, false),
            ("Mon, 30 Nov 2026 00:00:00 GMT", true, true),
            ("Wed, 02 Dec 2026 00:00:00 GMT", true, false),
        ] {
            r.transfer.time_cond = Some(TimeCond { time: at(cond), file: None, unmodified });
            assert_eq!(condition_unmet(&r, &h), unmet, "{cond} {unmodified}");
        }
        assert!(matches!(plan(&r, 200, &h, None).unwrap(), Plan::Write(_)));
        r.transfer.time_cond =
            Some(TimeCond { time: at("Tue, 01 Dec 2026 00:00:00 GMT"), file: None, unmodified: false });
        assert!(matches!(plan(&r, 200, &h, None).unwrap(), Plan::Skip));
        assert!(!condition_unmet(&r, &HeaderMap::new()), "no Last-Modified: nothing to compare");
        r.transfer.time_cond = None;
        let kept = dir.path().join("out.txt");
        std::fs::write(&kept, b"up to date").unwrap();
        assert!(
            matches!(plan(&r, 304, &HeaderMap::new(), None).unwrap(), Plan::Skip),
            "a 304 keeps the file"
        );
        assert_eq!(std::fs::read(&kept).unwrap(), b"up to date");
    }

    #[test]
    fn too_large_an_announced_body_is_refused_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = req_in(dir.path(), "http://h/x");
        r.transfer.max_filesize = Some(10);
        let h = HeaderMap::new();
        assert_eq!(plan(&r, 200, &h, Some(11)).err().unwrap().exit, Exit::FileTooLarge);
        assert!(matches!(plan(&r, 200, &h, Some(10)).unwrap(), Plan::Write(_)));
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing written yet");
        // No body follows a 304 or a 204, whatever length they announce (curl's "bodyless").
        assert!(matches!(plan(&r, 304, &h, Some(11)).unwrap(), Plan::Skip));
        assert!(plan(&r, 204, &h, Some(11)).is_ok());
        // A head to show (-i, and -I's HEAD, whose answer announces a length too) is written
        // first, as curl writes it; then the transfer fails.
        for (include, head) in [(true, false), (true, true)] {
            let shown = RequestConfig { include_headers: include, head_only: head, ..r.clone() };
            let Plan::Write(out) = plan(&shown, 200, &h, Some(11)).unwrap() else { panic!("no plan") };
            assert_eq!(out.after_heads().unwrap_err().exit, Exit::FileTooLarge);
        }
        let Plan::Write(out) =
            plan(&RequestConfig { include_headers: true, ..r }, 200, &h, Some(10)).unwrap()
        else {
            panic!("no plan")
        };
        assert!(out.after_heads().is_ok());
    }

    #[test]
    fn remote_header_name_never_overwrites_with_the_servers_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = RequestConfig::get(url::Url::parse("http://h/dir/fallback.txt").unwrap());
        r.output = OutputTarget::RemoteName;
        r.transfer.remote_header_name = true;
        let mut h = HeaderMap::new();
        let name = dir.path().join("taken.txt");
        std::fs::write(&name, b"mine").unwrap();
        h.insert(
            reqwest::header::CONTENT_DISPOSITION,
            "attachment; filename=\"../x/.hidden\"".parse().unwrap(),
        );
        // Refused (hidden): the URL's name is used.
        assert_eq!(remote_file(&r, &h).unwrap().0, PathBuf::from("fallback.txt"));
        h.insert(
            reqwest::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", name.display()).parse().unwrap(),
        );
        // The directory part is dropped: `taken.txt` in the current directory, which is free here.
        assert_eq!(remote_file(&r, &h).unwrap().0, PathBuf::from("taken.txt"));
        // Tests run in the package's directory, where Cargo.toml exists: never overwritten.
        h.insert(
            reqwest::header::CONTENT_DISPOSITION,
            "attachment; filename=\"Cargo.toml\"".parse().unwrap(),
        );
        assert_eq!(remote_file(&r, &h).unwrap_err().exit, Exit::Write);
        // No name from the server: the URL's, which the user chose, replaced as -O replaces it.
        let mut own = RequestConfig::get(url::Url::parse("http://h/dir/Cargo.toml").unwrap());
        own.transfer.remote_header_name = true;
        assert_eq!(remote_file(&own, &HeaderMap::new()).unwrap().0, PathBuf::from("Cargo.toml"));
    }

    #[test]
    fn output_dir_holds_the_servers_name_and_nothing_escapes_it() {
        let dir = tempfile::tempdir().unwrap();
        let od = dir.path().join("od");
        let mut r = RequestConfig::get(url::Url::parse("http://h/dir/cd").unwrap());
        r.output = OutputTarget::RemoteName;
        r.transfer.remote_header_name = true;
        r.curl.output_dir = Some(od.clone());
        let disposition = |name: &str| {
            let mut h = HeaderMap::new();
            let v = format!("attachment; filename=\"{name}\"");
            h.insert(reqwest::header::CONTENT_DISPOSITION, v.parse().unwrap());
            h
        };
        assert_eq!(remote_file(&r, &disposition("srv.txt")).unwrap().0, od.join("srv.txt"));
        assert_eq!(
            remote_file_name(&r, &disposition("srv.txt")),
            Some(od.join("srv.txt").display().to_string())
        );
        // Only the last component: never out of the directory.
        assert_eq!(remote_file(&r, &disposition("../../victim")).unwrap().0, od.join("victim"));
        assert_eq!(remote_file(&r, &disposition("..\\..\\victim")).unwrap().0, od.join("victim"));
        // Refused or absent: the URL's name, in the directory too.
        assert_eq!(remote_file(&r, &disposition(".hidden")).unwrap().0, od.join("cd"));
        assert_eq!(remote_file(&r, &HeaderMap::new()).unwrap().0, od.join("cd"));
        r.transfer.remote_header_name = false;
        assert_eq!(remote_file(&r, &disposition("srv.txt")).unwrap().0, od.join("cd"));
        assert_eq!(remote_file_name(&r, &HeaderMap::new()), Some(od.join("cd").display().to_string()));
    }

    #[test]
    fn no_clobber_numbers_the_servers_name_as_curl_does() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = RequestConfig::get(url::Url::parse("http://h/cd").unwrap());
        r.output = OutputTarget::RemoteName;
        r.transfer.remote_header_name = true;
        r.curl.output_dir = Some(dir.path().to_path_buf());
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::CONTENT_DISPOSITION, "attachment; filename=\"f.txt\"".parse().unwrap());
        std::fs::write(dir.path().join("f.txt"), b"mine").unwrap();
        // Without --no-clobber an existing name is refused (curl: exit 23).
        assert_eq!(plan(&r, 200, &h, None).err().unwrap().exit, Exit::Write);
        // With it, the next free number; a link (even a dangling one) is taken, never followed.
        std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("f.txt.1")).unwrap();
        r.transfer.no_clobber = true;
        let Plan::Write(out) = plan(&r, 200, &h, None).unwrap() else { panic!("no plan") };
        assert_eq!(out.dest(), Some(dir.path().join("f.txt.2").as_path()));
        out.finish(&r, &h, true).unwrap();
        assert_eq!(std::fs::read(dir.path().join("f.txt")).unwrap(), b"mine");
        assert!(dir.path().join("f.txt.2").is_file());
        assert!(!dir.path().join("nowhere").exists());
    }

    #[test]
    fn a_url_without_a_file_name_fails_its_transfer_before_it_is_sent_unless_the_server_may_name_it() {
        let mut r = RequestConfig::get(url::Url::parse("http://bob:hunter2@h/dir/").unwrap());
        r.output = OutputTarget::RemoteName;
        let e = check_remote_name(&r).unwrap_err();
        assert!(e.exit == Exit::Write && !e.message.contains("hunter2"), "{}", e.message);
        r.url = url::Url::parse("http://h/dir/f.txt").unwrap();
        assert!(check_remote_name(&r).is_ok());
        // -J: the server's name may come; without one, 23 then (`remote_file`).
        r.url = url::Url::parse("http://h/dir/").unwrap();
        r.transfer.remote_header_name = true;
        assert!(check_remote_name(&r).is_ok());
        assert_eq!(remote_file(&r, &HeaderMap::new()).unwrap_err().exit, Exit::Write);
    }
}
