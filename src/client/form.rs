//! `-F`/`--form-string`: the multipart/form-data body, laid out as curl 7.88 lays it out
//! (boundary of 24 dashes and 16 random hex digits, `Content-Disposition: form-data; name="…"`,
//! a file's name and a Content-Type guessed from it, `"`, CR and LF in names percent-encoded)
//! and streamed: files and standard input are read as the body is sent, never whole into
//! memory. Every file is opened before anything is sent, so a missing one fails the run (26)
//! as in curl; the length is announced when every part's size is known (else chunked).

use crate::config::{FormPart, FormValue};
use crate::error::{Error, Exit, Result};
use bytes::Bytes;
use std::path::Path;
use tokio::io::AsyncRead;

/// One piece of the body in order: literal bytes (boundaries, part heads, text values) or a
/// reader opened on a file or standard input.
enum Piece {
    Bytes(Bytes),
    Reader(Box<dyn AsyncRead + Send + Unpin>, String),
}

/// A random boundary shaped like curl 7.88's.
pub fn boundary() -> String {
    let mut raw = [0u8; 8];
    // Without randomness a fixed boundary still works: parts are framed by length-checked reads.
    let _ = getrandom::fill(&mut raw);
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}{hex}", "-".repeat(24))
}

/// curl's table (lib/mime.c): the type for a file name's extension.
fn type_for(filename: &str) -> Option<&'static str> {
    let ext = filename.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "gif" => "image/gif",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "txt" => "text/plain",
        "htm" | "html" => "text/html",
        "pdf" => "application/pdf",
        "xml" => "application/xml",
        _ => return None,
    })
}

/// A name in a Content-Disposition parameter, escaped as curl does by default.
fn escape(s: &str) -> String {
    s.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A")
}

/// The parts' Content-Disposition type: `form-data` under multipart/form-data (the default),
/// `attachment` under another type given with -H (curl's rule).
fn disposition(user_type: Option<&str>) -> &'static str {
    let t = user_type.unwrap_or("multipart/form-data").trim_start();
    let form = "multipart/form-data";
    let matches = t.len() >= form.len()
        && t[..form.len()].eq_ignore_ascii_case(form)
        && matches!(t.as_bytes().get(form.len()), None | Some(b' ' | b'\t' | b';'));
    if matches {
        "form-data"
    } else {
        "attachment"
    }
}

/// The head of one part (from the boundary line to the blank line).
fn part_head(boundary: &str, disposition: &str, part: &FormPart) -> String {
    let filename = part.filename.clone().or_else(|| match &part.value {
        FormValue::File(p) => {
            Some(p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
        }
        FormValue::Stdin { attached: true } => Some("-".into()),
        _ => None,
    });
    let mut head =
        format!("--{boundary}\r\nContent-Disposition: {disposition}; name=\"{}\"", escape(&part.name));
    if let Some(f) = &filename {
        head.push_str(&format!("; filename=\"{}\"", escape(f)));
    }
    head.push_str("\r\n");
    let guessed = filename.as_deref().and_then(type_for);
    let default = matches!(part.value, FormValue::File(_)).then_some("application/octet-stream");
    if let Some(t) = part.content_type.as_deref().or(guessed).or(default) {
        head.push_str(&format!("Content-Type: {t}\r\n"));
    }
    for h in &part.headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head
}

/// The body's pieces and its length when every size is known. Files are opened here.
async fn pieces(boundary: &str, disposition: &str, parts: &[FormPart]) -> Result<(Vec<Piece>, Option<u64>)> {
    let mut v = Vec::new();
    let mut len = Some(0u64);
    let add = |v: &mut Vec<Piece>, b: Bytes, len: &mut Option<u64>| {
        *len = len.map(|l| l + b.len() as u64);
        v.push(Piece::Bytes(b));
    };
    for part in parts {
        add(&mut v, Bytes::from(part_head(boundary, disposition, part)), &mut len);
        match &part.value {
            FormValue::Text(t) => add(&mut v, Bytes::from(t.clone()), &mut len),
            FormValue::File(p) | FormValue::FileContent(p) => {
                let (file, size) = open(p).await?;
                len = len.zip(size).map(|(a, b)| a + b);
                let file: Box<dyn AsyncRead + Send + Unpin> = match size {
                    // The length announced counts this size: exactly it is sent.
                    Some(size) => Box::new(super::body::AsAnnounced::new(file, size)),
                    None => Box::new(file),
                };
                v.push(Piece::Reader(file, p.display().to_string()));
            }
            FormValue::Stdin { .. } => {
                len = None;
                v.push(Piece::Reader(Box::new(tokio::io::stdin()), "standard input".into()));
            }
        }
        add(&mut v, Bytes::from_static(b"\r\n"), &mut len);
    }
    add(&mut v, Bytes::from(format!("--{boundary}--\r\n")), &mut len);
    Ok((v, len))
}

async fn open(p: &Path) -> Result<(tokio::fs::File, Option<u64>)> {
    let err = |e: std::io::Error| {
        Error::new(Exit::Read, format!("-F: cannot read {}: {e}", p.display()))
            .hint("check the file name after '@' or '<'")
    };
    let file = tokio::fs::File::open(p).await.map_err(err)?;
    let meta = file.metadata().await.map_err(err)?;
    Ok((file, super::known_length(&meta)))
}

/// The body's length as sent, when it can be told without reading (`-w %{size_upload}`).
pub fn length(parts: &[FormPart], user_type: Option<&str>) -> u64 {
    let boundary = "-".repeat(40);
    let mut n = format!("--{boundary}--\r\n").len() as u64;
    for part in parts {
        n += part_head(&boundary, disposition(user_type), part).len() as u64 + 2;
        n += match &part.value {
            FormValue::Text(t) => t.len() as u64,
            FormValue::File(p) | FormValue::FileContent(p) => {
                std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
            }
            FormValue::Stdin { .. } => 0,
        };
    }
    n
}

/// Puts the form on the request: Content-Type with the boundary (appended to the type -H gave,
/// as curl does: `-H 'Content-Type: multipart/form-data' -F …` is common and must still carry
/// one), the length when known, and the streamed body. `again`: this is a redirect's request, which
/// cannot send standard input a second time.
pub async fn attach(
    rb: reqwest::RequestBuilder,
    parts: &[FormPart],
    user_type: Option<&str>,
    again: bool,
) -> Result<reqwest::RequestBuilder> {
    if again && parts.iter().any(|p| matches!(p.value, FormValue::Stdin { .. })) {
        return Err(Error::new(Exit::Read, "cannot send standard input again to the redirect target")
            .hint("save it to a file and use -F name=@FILE, or drop -L"));
    }
    let boundary = boundary();
    let (pieces, len) = pieces(&boundary, disposition(user_type), parts).await?;
    let kind = user_type.unwrap_or("multipart/form-data");
    let value = reqwest::header::HeaderValue::from_str(&format!("{kind}; boundary={boundary}"))
        .map_err(|_| Error::new(Exit::Usage, "the -H Content-Type cannot carry a form boundary"))?;
    // `headers` replaces a header of the same name (the user's Content-Type), `header` would add.
    let mut rb = rb.headers(reqwest::header::HeaderMap::from_iter([(reqwest::header::CONTENT_TYPE, value)]));
    if let Some(len) = len {
        rb = rb.header(reqwest::header::CONTENT_LENGTH, len);
    }
    Ok(rb.body(reqwest::Body::wrap_stream(stream(pieces))))
}

/// The pieces in order, files read in 256 KiB chunks.
fn stream(
    pieces: Vec<Piece>,
) -> impl futures_util::Stream<Item = std::result::Result<Bytes, super::ReadFailed>> + Send {
    use tokio::io::AsyncReadExt;
    let queue: std::collections::VecDeque<Piece> = pieces.into();
    futures_util::stream::unfold(Some(queue), |state| async move {
        let mut queue = state?;
        loop {
            match queue.pop_front()? {
                Piece::Bytes(b) if b.is_empty() => continue,
                Piece::Bytes(b) => return Some((Ok(b), Some(queue))),
                Piece::Reader(mut r, what) => {
                    let mut buf = vec![0u8; 256 * 1024];
                    match r.read(&mut buf).await {
                        Ok(0) => continue,
                        Ok(n) => {
                            buf.truncate(n);
                            // The reader goes back in front: it may have more to give.
                            queue.push_front(Piece::Reader(r, what));
                            return Some((Ok(Bytes::from(buf)), Some(queue)));
                        }
                        Err(e) => {
                            let e = super::ReadFailed(format!("cannot read {what}: {e}"));
                            return Some((Err(e), None));
                        }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn part(s: &str) -> FormPart {
        crate::cli::parse_form(s).unwrap()
    }

    async fn body(parts: &[FormPart]) -> (Vec<u8>, Option<u64>) {
        let (pieces, len) = pieces("BOUNDARY", "form-data", parts).await.unwrap();
        let mut out = Vec::new();
        let mut s = Box::pin(stream(pieces));
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        (out, len)
    }

    #[test]
    fn boundaries_look_like_curls() {
        let b = boundary();
        assert_eq!(b.len(), 40);
        assert!(b.starts_with(&"-".repeat(24)) && b[24..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(boundary(), boundary());
    }

    #[test]
    fn parts_are_laid_out_as_curl_does() {
        let dir = tempfile::tempdir().unwrap();
        let note = dir.path().join("note.txt");
        std::fs::write(&note, b"hello\n").unwrap();
        let blob = dir.path().join("blob.dat");
        std::fs::write(&blob, vec![7u8; 300 * 1024]).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let parts = vec![
            part("name=value"),
            part(&format!("f=@{}", note.display())),
            part(&format!("g=<{};type=a/b", note.display())),
            part(&format!("h=@{};filename=o\"t.png;headers=\"X-A: 1\"", note.display())),
            part("k=x;filename=y.txt"),
        ];
        let (out, len) = rt.block_on(body(&parts));
        let want = "--BOUNDARY\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nvalue\r\n\
            --BOUNDARY\r\nContent-Disposition: form-data; name=\"f\"; filename=\"note.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\n\r\n\
            --BOUNDARY\r\nContent-Disposition: form-data; name=\"g\"\r\nContent-Type: a/b\r\n\r\nhello\n\r\n\
            --BOUNDARY\r\nContent-Disposition: form-data; name=\"h\"; filename=\"o%22t.png\"\r\nContent-Type: image/png\r\nX-A: 1\r\n\r\nhello\n\r\n\
            --BOUNDARY\r\nContent-Disposition: form-data; name=\"k\"; filename=\"y.txt\"\r\nContent-Type: text/plain\r\n\r\nx\r\n\
            --BOUNDARY--\r\n";
        assert_eq!(String::from_utf8(out.clone()).unwrap(), want);
        assert_eq!(len, Some(want.len() as u64));
        // A file larger than one read is streamed whole; an unknown type is octet-stream.
        let (out, len) = rt.block_on(body(&[part(&format!("z=@{}", blob.display()))]));
        assert_eq!(len, Some(out.len() as u64));
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("filename=\"blob.dat\"\r\nContent-Type: application/octet-stream\r\n\r\n"));
        assert_eq!(out.iter().filter(|b| **b == 7).count(), 300 * 1024);
        // A missing file fails before anything is sent, with curl's exit code.
        let missing = rt.block_on(pieces("B", "form-data", &[part("x=@/nonexistent/file")])).err().unwrap();
        assert_eq!(missing.exit, Exit::Read);
    }

    #[test]
    fn the_length_for_write_out_matches_the_body() {
        let parts = vec![part("a=1"), part("b=\"x;y\""), part("k=v;filename=n.txt")];
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (pieces, len) = rt.block_on(pieces(&"-".repeat(40), "attachment", &parts)).unwrap();
        drop(pieces);
        assert_eq!(len, Some(length(&parts, Some("multipart/mixed"))));
        assert_eq!(disposition(None), "form-data");
        assert_eq!(disposition(Some("Multipart/Form-Data; charset=x")), "form-data");
        assert_eq!(disposition(Some("multipart/form-datax")), "attachment");
        assert_eq!(disposition(Some("multipart/related")), "attachment");
    }
}
