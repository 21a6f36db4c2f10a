//! `-F`/`--form-string`: the multipart/form-data body, laid out as curl 7.88 lays it out
//! (boundary of 24 dashes and 16 random hex digits, `Content-Disposition: form-data; name="…"`,
//! a file's name and a Content-Type guessed from it, `"`, CR and LF in names percent-encoded
//! (`--form-escape`: `"` and `\` backslash-escaped, CR and LF still percent-encoded),
//! `@a,b` as one part holding a multipart/mixed body of `attachment` sub-parts, `;encoder=`
//! content encoded by `form_encode`) and streamed: files are read as the body is sent, never
//! whole into memory; standard input is read first as curl reads it (up to 1 MiB, the rest
//! streamed; a regular file behind it is measured instead). Every file is opened before
//! anything is sent, so a missing one fails the run (26) as in curl; the length is announced
//! when every part's size is known (else chunked: standard input or a file whose size cannot be
//! believed, an empty one or a /proc one, over 1 MiB; quoted-printable as curl does; neither
//! with `--http1.0`).

use super::body::Head;
use super::form_encode::{self, Encoding};
use crate::config::{FormEncoder, FormPart, FormValue};
use crate::error::{Error, Exit, Result};
use bytes::Bytes;
use std::path::Path;
use tokio::io::AsyncRead;

/// One piece of the body in order: literal bytes (boundaries, part heads, text values) or a
/// reader opened on a file or standard input, with the encoding its bytes go through.
enum Piece {
    Bytes(Bytes),
    /// A reader, what it reads (for errors), its encoder, and whether what it gives is counted
    /// as sent (standard input: `%{size_upload}` cannot know its length beforehand).
    Reader(Box<dyn AsyncRead + Send + Unpin>, String, Option<Encoding>, bool),
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

/// A name in a Content-Disposition parameter, escaped as curl does: by default `"` as `%22`
/// (`\` as it is); with `--form-escape` (`backslash`) `\` and `"` get a backslash. CR and LF
/// are `%0D` and `%0A` in both: curl 7.88 sends them raw with `--form-escape`, which lets a
/// file name add header lines to the part (`-F $'f=@x;filename=a\r\nX-Evil: 1'`).
fn escape(s: &str, backslash: bool) -> String {
    let s = if backslash { s.replace('\\', "\\\\").replace('"', "\\\"") } else { s.replace('"', "%22") };
    s.replace('\r', "%0D").replace('\n', "%0A")
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

/// The value of a header line named `name`.
fn header_value<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let (n, v) = line.split_once(':')?;
    n.trim_end().eq_ignore_ascii_case(name).then(|| v.trim_start())
}

/// The value of the part's own `;headers=` header `name`, if it has one.
fn user_header<'a>(part: &'a FormPart, name: &str) -> Option<&'a str> {
    part.headers.iter().find_map(|h| header_value(h, name))
}

fn has_header(part: &FormPart, name: &str) -> bool {
    user_header(part, name).is_some()
}

/// The head of one part (from the boundary line to the blank line), as curl's
/// Curl_mime_prepare_headers writes it. `inner`: the boundary of a `@a,b` part's own body.
fn part_head(boundary: &str, disposition: &str, part: &FormPart, inner: Option<&str>) -> String {
    let filename = part.filename.clone().or_else(|| match &part.value {
        FormValue::File(p) => {
            Some(p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
        }
        FormValue::Stdin { attached: true } => Some("-".into()),
        _ => None,
    });
    let path = match &part.value {
        FormValue::File(p) | FormValue::FileContent(p) => p.to_str(),
        _ => None,
    };
    // curl guesses from the file name, then from the path read; text/plain is only said of a
    // part with a file name; a file of unknown type with a name is octet-stream.
    let guessed = match &part.value {
        FormValue::Files(_) => Some("multipart/mixed"),
        _ => filename.as_deref().and_then(type_for).or_else(|| path.and_then(type_for)),
    };
    let guessed = guessed.filter(|t| *t != "text/plain" || filename.is_some());
    let default = matches!(part.value, FormValue::File(_)).then_some("application/octet-stream");
    // A `;headers=` Content-Type is the type when `;type=` gives none; curl writes the type
    // itself and leaves that header out.
    let custom = part.content_type.as_deref().or_else(|| user_header(part, "Content-Type"));
    let content_type = custom.or(guessed).or(default);
    let mut head = format!("--{boundary}\r\n");
    // curl's rule: always `form-data` in a form, an attachment only with a name or a file name.
    let named = !part.name.is_empty() || filename.is_some();
    if !has_header(part, "Content-Disposition") && (disposition == "form-data" || named) {
        head.push_str("Content-Disposition: ");
        head.push_str(disposition);
        if !part.name.is_empty() {
            head.push_str(&format!("; name=\"{}\"", escape(&part.name, part.backslash_escape)));
        }
        if let Some(f) = &filename {
            head.push_str(&format!("; filename=\"{}\"", escape(f, part.backslash_escape)));
        }
        head.push_str("\r\n");
    }
    if let Some(t) = content_type {
        head.push_str(&format!("Content-Type: {t}"));
        if let (Some(b), FormValue::Files(_)) = (inner, &part.value) {
            head.push_str(&format!("; boundary={b}"));
        }
        head.push_str("\r\n");
    }
    if let Some(e) = part.encoder.filter(|_| !has_header(part, "Content-Transfer-Encoding")) {
        head.push_str(&format!("Content-Transfer-Encoding: {}\r\n", e.name()));
    }
    for h in part.headers.iter().filter(|h| header_value(h, "Content-Type").is_none()) {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head
}

/// A file part whose size cannot be believed is read first up to this many bytes (see
/// [`Layout::content`]); a larger one is sent as it is read, chunked.
const SMALL_UNSIZED_FILE: usize = 1 << 20;

/// The body being laid out: its pieces and its length while every size is known.
struct Layout {
    pieces: Vec<Piece>,
    len: Option<u64>,
    /// Standard input is read whole (see [`attach`]).
    whole: bool,
}

impl Layout {
    fn bytes(&mut self, b: impl Into<Bytes>) {
        let b = b.into();
        self.len = self.len.map(|l| l + b.len() as u64);
        self.pieces.push(Piece::Bytes(b));
    }

    /// One part's content (not a `@a,b` group), encoded as its `;encoder=` says.
    async fn content(&mut self, part: &FormPart) -> Result<()> {
        let encoding = part.encoder.and_then(Encoding::new);
        let encoded = |size: u64| part.encoder.map_or(Some(size), |e| form_encode::encoded_len(e, size));
        match &part.value {
            FormValue::Text(t) => match part.encoder {
                Some(e) => {
                    // curl announces no length for quoted-printable, whatever the value.
                    let unknown = encoded(t.len() as u64).is_none();
                    self.bytes(form_encode::encode(e, t.as_bytes()));
                    if unknown {
                        self.len = None;
                    }
                }
                None => self.bytes(t.clone()),
            },
            FormValue::File(p) | FormValue::FileContent(p) => {
                let (mut file, size) = open(p).await?;
                if size.is_none() {
                    // A size that cannot be believed (an empty file, a /proc one): read first,
                    // when small, so the form still has a length (curl sends an empty file's
                    // part with one; chunked uploads are refused by many servers).
                    let mut first = Vec::new();
                    let limit = SMALL_UNSIZED_FILE as u64 + 1;
                    let mut head = tokio::io::AsyncReadExt::take(&mut file, limit);
                    tokio::io::AsyncReadExt::read_to_end(&mut head, &mut first).await.map_err(|e| {
                        Error::new(Exit::Read, format!("-F: cannot read {}: {e}", p.display()))
                    })?;
                    if first.len() <= SMALL_UNSIZED_FILE {
                        let unknown = encoded(first.len() as u64).is_none();
                        match part.encoder {
                            Some(e) => self.bytes(form_encode::encode(e, &first)),
                            None => self.bytes(first),
                        }
                        if unknown {
                            self.len = None;
                        }
                        return Ok(());
                    }
                    self.len = None;
                    let rest = tokio::io::AsyncReadExt::chain(std::io::Cursor::new(first), file);
                    self.pieces.push(Piece::Reader(Box::new(rest), p.display().to_string(), encoding, false));
                    return Ok(());
                }
                self.len = self.len.zip(size.and_then(encoded)).map(|(a, b)| a + b);
                let file: Box<dyn AsyncRead + Send + Unpin> = match size {
                    // The length announced counts this size: exactly it is read (and encoded).
                    Some(size) => Box::new(super::body::AsAnnounced::new(file, size)),
                    None => Box::new(file),
                };
                self.pieces.push(Piece::Reader(file, p.display().to_string(), encoding, false));
            }
            // Read first, as curl does, so that the form's length is known (or up to 1 MiB of it).
            FormValue::Stdin { .. } => match super::body::stdin_head(self.whole).await? {
                Head::Whole(b) => {
                    let unknown = encoded(b.len() as u64).is_none();
                    let b = match part.encoder {
                        Some(e) => form_encode::encode(e, &b).into(),
                        None => b,
                    };
                    super::body::count_sent(b.len());
                    self.bytes(b);
                    if unknown {
                        self.len = None;
                    }
                }
                Head::File(size, file) => {
                    self.len = self.len.zip(encoded(size)).map(|(a, b)| a + b);
                    let file = Box::new(super::body::AsAnnounced::new(file, size));
                    self.pieces.push(Piece::Reader(file, "standard input".into(), encoding, true));
                }
                Head::Partial(first, rest) => {
                    self.len = None;
                    let stdin = Box::new(tokio::io::AsyncReadExt::chain(std::io::Cursor::new(first), rest));
                    self.pieces.push(Piece::Reader(stdin, "standard input".into(), encoding, true));
                }
            },
            // parse_form makes no group of groups (nor does curl's command line).
            FormValue::Files(_) => {
                return Err(Error::new(Exit::Usage, "-F: a group of files within a group"))
            }
        }
        Ok(())
    }

    /// The parts between `boundary` lines; a `@a,b` group's files as a multipart/mixed body of
    /// their own (curl nests no deeper from the command line).
    async fn parts(
        &mut self,
        boundary: &str,
        disposition: &str,
        parts: &[FormPart],
        new_boundary: fn() -> String,
    ) -> Result<()> {
        for part in parts {
            match &part.value {
                FormValue::Files(files) => {
                    let inner = new_boundary();
                    self.bytes(part_head(boundary, disposition, part, Some(&inner)));
                    for file in files {
                        // Under multipart/mixed curl writes `attachment` dispositions.
                        self.bytes(part_head(&inner, "attachment", file, None));
                        self.content(file).await?;
                        self.bytes(&b"\r\n"[..]);
                    }
                    self.bytes(format!("--{inner}--\r\n"));
                }
                _ => {
                    self.bytes(part_head(boundary, disposition, part, None));
                    self.content(part).await?;
                }
            }
            self.bytes(&b"\r\n"[..]);
        }
        self.bytes(format!("--{boundary}--\r\n"));
        Ok(())
    }
}

/// The body's pieces and its length when every size is known. Files are opened here.
async fn pieces(
    boundary: &str,
    disposition: &str,
    parts: &[FormPart],
    new_boundary: fn() -> String,
    whole: bool,
) -> Result<(Vec<Piece>, Option<u64>)> {
    let mut layout = Layout { pieces: Vec::new(), len: Some(0), whole };
    layout.parts(boundary, disposition, parts, new_boundary).await?;
    Ok((layout.pieces, layout.len))
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

/// The body's length as sent (`-w %{size_upload}`): files measured, not read, but for
/// quoted-printable ones, encoded to count; standard input counts 0 here: what was sent of it
/// is counted as it goes (`stdin_sent`).
pub fn length(parts: &[FormPart], user_type: Option<&str>, stdin_sent: u64) -> u64 {
    let boundary = "-".repeat(40);
    let mut n = format!("--{boundary}--\r\n").len() as u64;
    for part in parts {
        n += part_head(&boundary, disposition(user_type), part, Some(&boundary)).len() as u64 + 2;
        n += match &part.value {
            FormValue::Files(files) => files.iter().fold(n_end(&boundary), |n, f| {
                n + part_head(&boundary, "attachment", f, None).len() as u64 + 2 + content_length(f)
            }),
            _ => content_length(part),
        };
    }
    if parts.iter().any(reads_stdin) {
        n += stdin_sent;
    }
    n
}

/// The length of a closing boundary line.
fn n_end(boundary: &str) -> u64 {
    boundary.len() as u64 + 6
}

/// One part's content length as sent (files measured; quoted-printable ones read to count).
fn content_length(part: &FormPart) -> u64 {
    let size = match &part.value {
        FormValue::Text(t) => t.len() as u64,
        FormValue::File(p) | FormValue::FileContent(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
        FormValue::Stdin { .. } | FormValue::Files(_) => 0,
    };
    let Some(e) = part.encoder else { return size };
    if let Some(n) = form_encode::encoded_len(e, size) {
        return n;
    }
    match &part.value {
        FormValue::Text(t) => form_encode::encode(e, t.as_bytes()).len() as u64,
        FormValue::File(p) | FormValue::FileContent(p) => count_encoded(e, p).unwrap_or(0),
        _ => 0,
    }
}

/// A file's encoded length, counted by encoding it a piece at a time.
fn count_encoded(e: FormEncoder, p: &Path) -> std::io::Result<u64> {
    use std::io::Read;
    let mut file = std::fs::File::open(p)?;
    let Some(mut enc) = Encoding::new(e) else { return Ok(file.metadata()?.len()) };
    let (mut buf, mut out, mut n) = (vec![0u8; 64 * 1024], Vec::new(), 0u64);
    loop {
        let k = file.read(&mut buf)?;
        if k == 0 {
            break;
        }
        enc.push(&buf[..k], &mut out);
        n += out.len() as u64;
        out.clear();
    }
    enc.finish(&mut out);
    Ok(n + out.len() as u64)
}

/// Whether the part reads standard input (itself or one of its `@a,-` files).
fn reads_stdin(part: &FormPart) -> bool {
    match &part.value {
        FormValue::Stdin { .. } => true,
        FormValue::Files(files) => files.iter().any(reads_stdin),
        _ => false,
    }
}

/// Puts the form on the request: Content-Type with the boundary (appended to the type -H gave,
/// as curl does: `-H 'Content-Type: multipart/form-data' -F …` is common and must still carry
/// one), the length when known, and the streamed body. `again`: this is a redirect's request, which
/// cannot send standard input a second time. `whole`: the body needs a length (`--http1.0` has no
/// chunked coding), so one of unknown length is read into memory first.
pub async fn attach(
    rb: reqwest::RequestBuilder,
    parts: &[FormPart],
    user_type: Option<&str>,
    again: bool,
    whole: bool,
) -> Result<reqwest::RequestBuilder> {
    if again && parts.iter().any(reads_stdin) && !super::body::stdin_replayable() {
        return Err(Error::new(Exit::Read, "cannot send standard input again to the redirect target")
            .hint("save it to a file and use -F name=@FILE, or drop -L"));
    }
    if parts.iter().any(reads_stdin) {
        super::body::unsized_body_starts();
    }
    let outer = boundary();
    let (pieces, len) = pieces(&outer, disposition(user_type), parts, boundary, whole).await?;
    let kind = user_type.unwrap_or("multipart/form-data");
    let value = reqwest::header::HeaderValue::from_str(&format!("{kind}; boundary={outer}"))
        .map_err(|_| Error::new(Exit::Usage, "the -H Content-Type cannot carry a form boundary"))?;
    // `headers` replaces a header of the same name (the user's Content-Type), `header` would add.
    let mut rb = rb.headers(reqwest::header::HeaderMap::from_iter([(reqwest::header::CONTENT_TYPE, value)]));
    match len {
        Some(len) => rb = rb.header(reqwest::header::CONTENT_LENGTH, len),
        None if whole => {
            let mut body = Vec::new();
            let mut chunks = std::pin::pin!(stream(pieces));
            while let Some(chunk) = futures_util::StreamExt::next(&mut chunks).await {
                body.extend_from_slice(&chunk.map_err(|e| Error::new(Exit::Read, e.0))?);
            }
            return Ok(rb.header(reqwest::header::CONTENT_LENGTH, body.len()).body(body));
        }
        None => {}
    }
    Ok(rb.body(reqwest::Body::wrap_stream(stream(pieces))))
}

/// The pieces in order, files read in 256 KiB chunks (and encoded as they are read).
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
                Piece::Reader(mut r, what, mut encoding, counted) => {
                    let mut buf = vec![0u8; 256 * 1024];
                    match r.read(&mut buf).await {
                        Ok(0) => {
                            if let Some(enc) = &mut encoding {
                                // What the encoder kept back for a look further on.
                                let mut out = Vec::new();
                                enc.finish(&mut out);
                                if counted {
                                    super::body::count_sent(out.len());
                                }
                                queue.push_front(Piece::Bytes(out.into()));
                            }
                            continue;
                        }
                        Ok(n) => {
                            buf.truncate(n);
                            if let Some(enc) = &mut encoding {
                                let mut out = Vec::with_capacity(n * 4 / 3 + 16);
                                enc.push(&buf, &mut out);
                                buf = out;
                            }
                            // The reader goes back in front: it may have more to give.
                            queue.push_front(Piece::Reader(r, what, encoding, counted));
                            if counted {
                                super::body::count_sent(buf.len());
                            }
                            if buf.is_empty() {
                                continue;
                            }
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
        let (pieces, len) = pieces("BOUNDARY", "form-data", parts, || "INNER".into(), false).await.unwrap();
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
        let missing = rt
            .block_on(pieces("B", "form-data", &[part("x=@/nonexistent/file")], boundary, false))
            .err()
            .unwrap();
        assert_eq!(missing.exit, Exit::Read);
    }

    #[test]
    fn names_are_escaped_as_curl_does_with_and_without_form_escape() {
        let mut p = part("n\"a\\me=v;filename=\"f\\\"q\\\\.txt\"");
        assert_eq!((p.name.as_str(), p.filename.as_deref()), ("n\"a\\me", Some("f\"q\\.txt")));
        let disposition =
            |p: &FormPart| part_head("B", "form-data", p, None).lines().nth(1).unwrap().to_string();
        assert_eq!(
            disposition(&p),
            r#"Content-Disposition: form-data; name="n%22a\me"; filename="f%22q\.txt""#
        );
        p.backslash_escape = true;
        assert_eq!(
            disposition(&p),
            r#"Content-Disposition: form-data; name="n\"a\\me"; filename="f\"q\\.txt""#
        );
        // CR and LF never reach the head raw (curl 7.88 sends them so with --form-escape).
        p.filename = Some("a\r\nX-Evil: 1".into());
        assert_eq!(
            disposition(&p),
            r#"Content-Disposition: form-data; name="n\"a\\me"; filename="a%0D%0AX-Evil: 1""#
        );
        assert_eq!(escape("%22\\", false), "%22\\", "nothing else is encoded");
    }

    #[test]
    fn the_length_for_write_out_matches_the_body() {
        let parts = vec![part("a=1"), part("b=\"x;y\""), part("k=v;filename=n.txt")];
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (pieces, len) =
            rt.block_on(pieces(&"-".repeat(40), "attachment", &parts, || "-".repeat(40), false)).unwrap();
        drop(pieces);
        assert_eq!(len, Some(length(&parts, Some("multipart/mixed"), 0)));
        assert_eq!(disposition(None), "form-data");
        assert_eq!(disposition(Some("Multipart/Form-Data; charset=x")), "form-data");
        assert_eq!(disposition(Some("multipart/form-datax")), "attachment");
        assert_eq!(disposition(Some("multipart/related")), "attachment");
    }

    #[test]
    fn an_empty_file_part_still_gives_the_form_a_length() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, "").unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        for spec in ["f=@", "f=<"] {
            let parts = vec![part(&format!("{spec}{}", empty.display())), part("a=1")];
            let (_, len) =
                rt.block_on(pieces(&"-".repeat(40), "form-data", &parts, || "-".repeat(40), false)).unwrap();
            assert_eq!(len, Some(length(&parts, None, 0)), "{spec}: sent chunked");
        }
    }

    #[test]
    fn several_files_are_one_multipart_mixed_part() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.txt");
        std::fs::write(&a, b"hello\n").unwrap();
        let b = dir.path().join("b.bin");
        std::fs::write(&b, b"\x00\x01\xff").unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        // curl 7.88's layout for -F 'f=@a.txt;type=text/x,b.bin;filename=zz.png' (captured).
        let p = part(&format!("f=@{};type=text/x,{};filename=zz.png", a.display(), b.display()));
        let (out, len) = rt.block_on(body(&[p, part("x=1")]));
        let mut want = b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"f\"\r\n\
            Content-Type: multipart/mixed; boundary=INNER\r\n\r\n\
            --INNER\r\nContent-Disposition: attachment; filename=\"a.txt\"\r\nContent-Type: text/x\r\n\r\nhello\n\r\n\
            --INNER\r\nContent-Disposition: attachment; filename=\"zz.png\"\r\nContent-Type: image/png\r\n\r\n"
            .to_vec();
        want.extend_from_slice(b"\x00\x01\xff\r\n--INNER--\r\n\r\n");
        want.extend_from_slice(
            b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--BOUNDARY--\r\n",
        );
        assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&want));
        assert_eq!(len, Some(want.len() as u64));
        let parts = [part(&format!("f=@{},{};encoder=base64", a.display(), b.display()))];
        let (out, len) = rt.block_on(body(&parts));
        assert_eq!(len, Some(out.len() as u64));
        // length() writes 40-character boundaries: the outer one twice, the inner one four times.
        assert_eq!(length(&parts, None, 0), out.len() as u64 + 2 * (40 - 8) + 4 * (40 - 5));
    }

    #[test]
    fn encoders_encode_files_and_values() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("q.txt");
        let data: Vec<u8> = (0..3000u32).map(|i| (i * 13 % 256) as u8).collect();
        std::fs::write(&f, &data).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        for (enc, name, known) in
            [("base64", "base64", true), ("Quoted-Printable", "quoted-printable", false)]
        {
            let e = crate::config::FormEncoder::parse(enc).unwrap();
            let parts =
                [part(&format!("q=<{};encoder={enc}", f.display())), part(&format!("v=a b;encoder={enc}"))];
            let (out, len) = rt.block_on(body(&parts));
            let mut want = format!(
                "--BOUNDARY\r\nContent-Disposition: form-data; name=\"q\"\r\nContent-Transfer-Encoding: {name}\r\n\r\n"
            )
            .into_bytes();
            want.extend(form_encode::encode(e, &data));
            want.extend(format!("\r\n--BOUNDARY\r\nContent-Disposition: form-data; name=\"v\"\r\nContent-Transfer-Encoding: {name}\r\n\r\n").bytes());
            want.extend(form_encode::encode(e, b"a b"));
            want.extend(b"\r\n--BOUNDARY--\r\n");
            assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&want));
            // curl announces a base64 body's length; a quoted-printable one goes chunked.
            assert_eq!(len, known.then_some(want.len() as u64));
            // length() writes a 40-character boundary, three times here.
            let sized = want.len() as u64 + 3 * (40 - 8);
            assert_eq!(length(&parts, None, 0), sized);
        }
        // A Content-Type among the part's headers is its type, written once, where curl writes it;
        // ;type= wins over it.
        let (out, _) = rt.block_on(body(&[
            part("g=x;filename=a.txt;headers=\"X-A: 1\";headers=\"content-type:  c/d\""),
            part("h=x;type=x/y;headers=\"Content-Type: a/b\""),
        ]));
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("filename=\"a.txt\"\r\nContent-Type: c/d\r\nX-A: 1\r\n\r\nx\r\n"), "{text}");
        assert!(text.contains("name=\"h\"\r\nContent-Type: x/y\r\n\r\nx\r\n"), "{text}");
        // Standard input among a group's files cannot be sent again to a redirect's target.
        assert!(reads_stdin(&part("f=@a.txt,-")) && reads_stdin(&part("f=<-")));
        assert!(!reads_stdin(&part("f=@a.txt,b.txt")) && !reads_stdin(&part("f=-")));
        // The user's own Content-Transfer-Encoding replaces curl's.
        let (out, _) =
            rt.block_on(body(&[part("v=x;encoder=8bit;headers=\"content-transfer-encoding: y\"")]));
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("name=\"v\"\r\ncontent-transfer-encoding: y\r\n\r\nx\r\n"), "{text}");
    }
}
