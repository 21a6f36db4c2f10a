//! `-C/--continue-at`: where the download resumes, the `Range` it asks for, and what the answer
//! allows. The existing file is opened for appending, never truncated; only the part asked for
//! is appended to it: any other answer with a body (the whole file, an error page, another
//! part) must not corrupt it, so that is curl's error 33 before anything is written; a 416
//! means there is nothing left to fetch (no error, as in curl).
//! With `-T` it is the upload that resumes ([`upload_offset`]), and the answer is any answer.
//! Also `-r`'s header, which depends on what the request sends ([`request_range`]).

use crate::config::{BodySource, OutputTarget, RequestConfig, Resume};
use crate::error::{Error, Exit, Result};
use crate::output::Sink;
use reqwest::header::HeaderMap;
use std::path::PathBuf;

/// The file a resumed download appends to (`-o FILE`, `-O`'s name), if any.
fn target(req: &RequestConfig) -> Option<PathBuf> {
    match &req.output {
        OutputTarget::File(p) => Some(p.clone()),
        OutputTarget::RemoteName => {
            crate::output::remote_name(&req.url).ok().map(|n| super::saving::in_output_dir(req, n))
        }
        OutputTarget::Stdout | OutputTarget::Null => None,
    }
}

/// The byte offset to resume at: `-C N`, or with `-C -` the output file's size (0 when it does
/// not exist yet, or for standard output).
pub fn offset(req: &RequestConfig) -> u64 {
    if req.upload {
        return 0;
    }
    match req.transfer.resume {
        None => 0,
        Some(Resume::At(n)) => n,
        Some(Resume::Auto) => target(req).and_then(|p| std::fs::metadata(p).ok()).map_or(0, |m| m.len()),
    }
}

/// `-C` with `-T`: the byte of the file the upload resumes at, sent with `Content-Range`
/// (`-C -` is 0: an HTTP server is not asked how much it has, as curl does not ask; `-C 0` is
/// no resuming at all, as in curl).
pub fn upload_offset(req: &RequestConfig) -> Option<u64> {
    match (req.upload, req.transfer.resume?) {
        (false, _) | (true, Resume::At(0)) => None,
        (true, Resume::At(n)) => Some(n),
        (true, Resume::Auto) => Some(0),
    }
}

/// The `Range` header a resumed download sends (none from offset 0, as curl).
pub fn range_header(req: &RequestConfig) -> Option<String> {
    match offset(req) {
        0 => None,
        n => Some(format!("bytes={n}-")),
    }
}

/// What the answer to a resumed download allows.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// Not resuming (or from 0): write as usual.
    Whole,
    /// The part asked for: appended to the existing output.
    Append,
    /// No body to write: the file is complete (416, or an answer exactly as long as the part
    /// already held), or nothing follows the head (HEAD, 204, 304, an empty body). A head
    /// shown (`-i`, `-I`) is appended, as curl appends it.
    Nothing,
}

/// Checks the answer to a resumed download (`status`, its headers, its announced length) before
/// any of it is written, as curl does when the body starts: only the part asked for is appended
/// (`Content-Range` starting at the offset, whatever the status); an answer that is not that part
/// — the whole file, a redirect not followed, an error page, a 206 of another part — is curl's
/// error 33, the file left as it was (`--fail-with-body`'s 22 for a status of 400 or more).
pub fn answer(req: &RequestConfig, status: u16, headers: &HeaderMap, length: Option<u64>) -> Result<Answer> {
    let at = offset(req);
    if at == 0 {
        return Ok(Answer::Whole);
    }
    // curl checks when the first byte of a body arrives: no body, nothing to check.
    let bodyless = req.head_only || matches!(status, 204 | 304) || (100..200).contains(&status);
    // 416: what was asked for is past the end, so the file is complete (curl: not an error).
    if bodyless || length == Some(0) || status == 416 {
        return Ok(Answer::Nothing);
    }
    if range_start(headers) == Some(at) {
        return Ok(Answer::Append);
    }
    // curl: "The entire document is already downloaded".
    if length == Some(at) {
        return Ok(Answer::Nothing);
    }
    if req.curl.fail_with_body && status >= 400 {
        return Err(Error::new(Exit::HttpStatus, format!("the server answered {status} for {}", req.url))
            .hint("the file was left as it was"));
    }
    let what = match status {
        206 => "sent another part of the file".to_string(),
        200 => "sent the whole file".to_string(),
        s => format!("answered {s}, not the part asked for"),
    };
    Err(Error::new(Exit::Range, format!("cannot resume at byte {at}: the server {what}"))
        .hint("the file was left as it was; fetch it again without -C"))
}

/// `-f` and a 416 to a resumed download: not a failure (the file is complete), as curl 7.88 has
/// it — unless the answer carries the `Content-Range: bytes */SIZE` RFC 9110 asks for, which
/// curl reads as "resume from 0" before it applies `-f`.
pub fn complete_without_size(req: &RequestConfig, headers: &HeaderMap) -> bool {
    offset(req) > 0 && !range_given(headers).is_some_and(|r| r.starts_with('*'))
}

/// The first byte a `Content-Range` says the body starts at (`bytes 9-99/100`).
fn range_start(headers: &HeaderMap) -> Option<u64> {
    let rest = range_given(headers)?;
    rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len())].parse().ok()
}

/// A `Content-Range` as curl reads it: from its first digit or `*` on.
fn range_given(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(reqwest::header::CONTENT_RANGE)?.to_str().ok()?;
    Some(value.trim_start_matches(|c: char| !c.is_ascii_digit() && c != '*'))
}

/// `-r`'s header for a request (`with_body`: this one sends the body), as curl 7.88 sends it:
/// what is asked of the answer (`Range: bytes=R`), or, for a request that sends data (`-d`,
/// `--json`, `-T`), which part of a whole the data is (`Content-Range: bytes R/TOTAL`, `*` when
/// the total is not known before sending); a form gets neither. A resumed upload's (`-C` with
/// `-T`) comes first, as in curl; a resumed download's `Range` (`-C`, [`range_header`]) replaces
/// `-r`'s. A header of that name given (or taken out) with `-H` wins.
pub fn request_range(req: &RequestConfig, with_body: bool) -> Option<(&'static str, String)> {
    let data = req.body.as_ref().filter(|_| with_body);
    let total = || data.and_then(super::body::whole_length);
    let resumed = data.and(upload_offset(req));
    let (name, value) = match (&req.curl.range, data.map(|b| &b.source)) {
        (Some(_), Some(BodySource::Form(_))) => return None,
        // `-C` with `-T`: the part of the file sent ([`upload_offset`]); before -r's.
        (_, Some(_)) if resumed.is_some() => {
            let (at, total) = (resumed?, total().filter(|n| *n > 0)?);
            ("Content-Range", format!("bytes {at}-{}/{total}", total - 1))
        }
        (Some(r), Some(_)) => {
            ("Content-Range", format!("bytes {r}/{}", total().map_or("*".into(), |n| n.to_string())))
        }
        // A resumed download asks for the rest (`range_header`'s `Range`): curl 7.88 sends that
        // one only (libcurl's resume offset replaces the range), not both.
        (Some(_), None) if range_header(req).is_some() => return None,
        (Some(r), None) => ("Range", format!("bytes={r}")),
        (None, _) => return None,
    };
    let given = req.headers.iter().map(|(n, _)| n).chain(&req.curl.removed_headers);
    (!given.into_iter().any(|n| n.eq_ignore_ascii_case(name))).then_some((name, value))
}

/// The sink a 206 appends to: the existing file opened for appending (created if missing).
pub fn append_sink(req: &RequestConfig) -> Result<Sink> {
    let Some(dest) = target(req) else { return Ok(Sink::stdout()) };
    let file = crate::output::create_options(req.transfer.create_file_mode)
        .append(true)
        .open(&dest)
        .map_err(|e| {
            Error::new(Exit::Write, format!("cannot append to {}: {e}", dest.display()))
                .hint("check that the file is writable")
        })?;
    Ok(Sink::Special { file: std::io::BufWriter::with_capacity(256 * 1024, file), dest })
}

#[cfg(test)]
mod tests {
    use super::super::redirect::tests::request;
    use super::*;
    use crate::config::{Body, BodySource};

    #[test]
    fn the_range_asks_for_part_of_the_answer_or_says_which_part_the_data_is() {
        let header = |mut req: RequestConfig, with_body: bool| {
            req.curl.range = Some("0-3".into());
            request_range(&req, with_body && req.body.is_some())
        };
        assert_eq!(header(request("http://a/", false), true), Some(("Range", "bytes=0-3".into())));
        assert_eq!(header(request("http://a/", true), true), Some(("Content-Range", "bytes 0-3/3".into())));
        let mut stdin = request("http://a/", true);
        stdin.body = Some(Body { source: BodySource::Stdin, strip_newlines: false });
        assert_eq!(header(stdin, true), Some(("Content-Range", "bytes 0-3/*".into())), "not read yet");
        let mut form = request("http://a/", true);
        form.body = Some(Body { source: BodySource::Form(Vec::new()), strip_newlines: false });
        assert_eq!(header(form, true), None, "a form: neither, as curl");
        // A 303 goes on without the data: a GET that asks for the range.
        assert_eq!(header(request("http://a/", true), false), Some(("Range", "bytes=0-3".into())));
        // -H Content-Range: (taken out) or with a value of the user's: not toll's.
        let mut taken = request("http://a/", true);
        taken.curl.removed_headers = vec!["content-range".into()];
        assert_eq!(header(taken, true), None);
        let mut given = request("http://a/", false);
        given.headers.push(("range".into(), "bytes=9-".into()));
        assert_eq!(header(given, true), None);
        // A resumed download asks for the rest only (one Range, as curl); resuming from 0 asks
        // for -r's range.
        let mut resumed = request("http://a/", false);
        resumed.transfer.resume = Some(Resume::At(30));
        assert_eq!(range_header(&resumed).as_deref(), Some("bytes=30-"));
        assert_eq!(header(resumed, false), None);
        let mut from_zero = request("http://a/", false);
        from_zero.transfer.resume = Some(Resume::At(0));
        assert_eq!(header(from_zero, false), Some(("Range", "bytes=0-3".into())));
    }

    fn req(out: &std::path::Path, resume: Option<Resume>) -> RequestConfig {
        let mut r = RequestConfig::get(url::Url::parse("http://h/file.bin").unwrap());
        r.output = OutputTarget::File(out.to_path_buf());
        r.transfer.resume = resume;
        r
    }

    #[test]
    fn the_offset_comes_from_the_option_or_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("part.bin");
        assert_eq!(offset(&req(&f, Some(Resume::Auto))), 0);
        assert_eq!(range_header(&req(&f, Some(Resume::Auto))), None);
        std::fs::write(&f, b"0123456789").unwrap();
        assert_eq!(range_header(&req(&f, Some(Resume::Auto))).as_deref(), Some("bytes=10-"));
        assert_eq!(range_header(&req(&f, Some(Resume::At(4)))).as_deref(), Some("bytes=4-"));
        assert_eq!(range_header(&req(&f, None)), None);
    }

    #[test]
    fn with_an_upload_it_is_the_upload_that_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("part.bin");
        std::fs::write(&f, b"0123456789").unwrap();
        let upload = |resume| RequestConfig { upload: true, ..req(&f, Some(resume)) };
        assert_eq!(upload_offset(&upload(Resume::At(4))), Some(4));
        assert_eq!(upload_offset(&upload(Resume::Auto)), Some(0), "the server is not asked");
        assert_eq!(upload_offset(&upload(Resume::At(0))), None, "-C 0: not resuming, as curl");
        assert_eq!(upload_offset(&req(&f, Some(Resume::At(4)))), None, "a download");
        // No `Range` is asked for and any answer is the answer.
        assert_eq!((range_header(&upload(Resume::At(4))), offset(&upload(Resume::Auto))), (None, 0));
        assert_eq!(answer(&upload(Resume::At(4)), 200, &HeaderMap::new(), None).unwrap(), Answer::Whole);
    }

    #[test]
    fn only_the_part_asked_for_is_appended() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("part.bin");
        std::fs::write(&f, b"01234").unwrap();
        let r = req(&f, Some(Resume::Auto));
        let range = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(reqwest::header::CONTENT_RANGE, v.parse().unwrap());
            h
        };
        let none = HeaderMap::new();
        let check = |r: &RequestConfig, status, h: &HeaderMap, len| answer(r, status, h, len);
        assert_eq!(check(&r, 206, &range("bytes 5-9/10"), Some(5)).unwrap(), Answer::Append);
        assert_eq!(check(&r, 200, &range("bytes 5-9/10"), Some(5)).unwrap(), Answer::Append, "as curl");
        // Not the part asked for: the file is left alone, whatever the status.
        for (status, h) in
            [(200, &none), (206, &range("bytes 0-9/10")), (206, &none), (404, &none), (302, &none)]
        {
            assert_eq!(check(&r, status, h, Some(10)).unwrap_err().exit, Exit::Range, "{status} {h:?}");
            assert_eq!(check(&r, status, h, None).unwrap_err().exit, Exit::Range, "{status}, no length");
        }
        assert_eq!(check(&r, 206, &range("bytes */10"), Some(10)).unwrap_err().exit, Exit::Range);
        let failing = RequestConfig {
            curl: crate::config::CurlExtras { fail_with_body: true, ..r.curl.clone() },
            ..r.clone()
        };
        assert_eq!(check(&failing, 404, &none, Some(10)).unwrap_err().exit, Exit::HttpStatus);
        assert_eq!(check(&failing, 200, &none, Some(10)).unwrap_err().exit, Exit::Range);
        // No body to write: 416 (complete), an answer as long as what is held, nothing after the head.
        assert_eq!(check(&r, 416, &range("bytes */5"), Some(0)).unwrap(), Answer::Nothing);
        assert_eq!(check(&r, 416, &none, Some(40)).unwrap(), Answer::Nothing);
        assert_eq!(check(&r, 200, &none, Some(5)).unwrap(), Answer::Nothing, "already downloaded");
        assert_eq!(check(&r, 404, &none, Some(5)).unwrap(), Answer::Nothing);
        for status in [204, 304, 200] {
            assert_eq!(check(&r, status, &none, Some(0)).unwrap(), Answer::Nothing);
        }
        let head = RequestConfig { head_only: true, ..r.clone() };
        assert_eq!(check(&head, 200, &none, Some(10)).unwrap(), Answer::Nothing);
        assert_eq!(check(&req(&f, None), 200, &none, Some(10)).unwrap(), Answer::Whole);
        // -f and that 416: no failure, unless it gives the size the RFC's way (curl's quirk).
        assert!(complete_without_size(&r, &none) && !complete_without_size(&r, &range("bytes */5")));
        assert!(!complete_without_size(&req(&f, None), &none));
        let mut s = append_sink(&r).unwrap();
        s.write(b"56789").unwrap().unwrap();
        s.finish().unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"0123456789");
    }
}
