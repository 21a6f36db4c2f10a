//! `-C/--continue-at`: where the download resumes, the `Range` it asks for, and what the answer
//! allows. Only a 206 is appended to the existing file (opened for appending, never truncated);
//! a server that ignores the range (200) must not corrupt it, so that is curl's error 33 before
//! anything is written; a 416 means there is nothing left to fetch (no error, as in curl).

use crate::config::{OutputTarget, RequestConfig, Resume};
use crate::error::{Error, Exit, Result};
use crate::output::Sink;
use std::path::PathBuf;

/// The file a resumed download appends to (`-o FILE`, `-O`'s name), if any.
fn target(req: &RequestConfig) -> Option<PathBuf> {
    match &req.output {
        OutputTarget::File(p) => Some(p.clone()),
        OutputTarget::RemoteName => crate::output::remote_name(&req.url).ok(),
        OutputTarget::Stdout | OutputTarget::Null => None,
    }
}

/// The byte offset to resume at: `-C N`, or with `-C -` the output file's size (0 when it does
/// not exist yet, or for standard output).
pub fn offset(req: &RequestConfig) -> u64 {
    match req.transfer.resume {
        None => 0,
        Some(Resume::At(n)) => n,
        Some(Resume::Auto) => target(req).and_then(|p| std::fs::metadata(p).ok()).map_or(0, |m| m.len()),
    }
}

/// The `Range` header a resumed download sends (none from offset 0, as curl).
pub fn range_header(req: &RequestConfig) -> Option<String> {
    match offset(req) {
        0 => None,
        n => Some(format!("bytes={n}-")),
    }
}

/// What the answer to a resumed request allows.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// Not resuming (or from 0): write as usual.
    Whole,
    /// 206: append to the existing output.
    Append,
    /// 416: the file is already complete; nothing is written.
    Complete,
}

/// Checks the status of the answer to a resumed request.
pub fn answer(req: &RequestConfig, status: u16) -> Result<Answer> {
    if offset(req) == 0 {
        return Ok(Answer::Whole);
    }
    match status {
        206 => Ok(Answer::Append),
        416 => Ok(Answer::Complete),
        // A redirect or an error page is not the file: written as curl writes it.
        s if !(200..300).contains(&s) => Ok(Answer::Whole),
        _ => Err(Error::new(Exit::Range, "HTTP server doesn't seem to support byte ranges. Cannot resume.")
            .hint("the file was left as it was; fetch it again without -C")),
    }
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
    use super::*;

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
    fn a_server_ignoring_the_range_leaves_the_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("part.bin");
        std::fs::write(&f, b"01234").unwrap();
        let r = req(&f, Some(Resume::Auto));
        assert_eq!(answer(&r, 200).unwrap_err().exit, Exit::Range);
        assert_eq!(answer(&r, 206).unwrap(), Answer::Append);
        assert_eq!(answer(&r, 416).unwrap(), Answer::Complete);
        assert_eq!(answer(&r, 404).unwrap(), Answer::Whole);
        assert_eq!(answer(&req(&f, None), 200).unwrap(), Answer::Whole);
        let mut s = append_sink(&r).unwrap();
        s.write(b"56789").unwrap().unwrap();
        s.finish().unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"0123456789");
    }
}
