//! `-F` and `--form-string` arguments read as curl 7.88's tool_formparse.c reads them
//! (formparse, get_param_part, get_param_word) into `config::FormPart`s: the content, its
//! parameters, several files in one part. Pure; the files named are only opened later (by
//! `client/form.rs`), except a `;headers=@FILE`, read here as curl reads it.

use crate::config::{FormEncoder, FormPart, FormValue};

/// `--form-string name=value`: the value exactly as given.
pub fn parse_form_string(s: &str) -> Result<FormPart, String> {
    let (name, value) = s.split_once('=').ok_or_else(|| format!("'{s}' is not NAME=STRING"))?;
    Ok(FormPart {
        name: name.to_string(),
        value: FormValue::Text(value.to_string()),
        content_type: None,
        filename: None,
        headers: Vec::new(),
        encoder: None,
        backslash_escape: false,
    })
}

/// `-F name=content[;param=value…]` as curl 7.88's formparse reads it: content `@file`,
/// `<file`, `@-`, `<-` or text; `@a,b` several files sent in one multipart/mixed part, each
/// with its own parameters (`@a;type=x/y,b`); a double-quoted content or parameter may hold ';'
/// and ',' (and `\"`, `\\`); unquoted ones lose surrounding white space. The parameters
/// `type` (with what follows up to the next known parameter: `type=text/plain;charset=x`),
/// `filename` (not for `<file`), `headers` (also `@FILE`) and `encoder` are used, unknown ones
/// skipped.
pub fn parse_form(s: &str) -> Result<FormPart, String> {
    let (name, rest) = s.split_once('=').ok_or_else(|| format!("'{s}' is not NAME=CONTENT (no '=')"))?;
    if name.contains(['\r', '\n']) {
        return Err("a form part name cannot hold a line break".into());
    }
    // curl opens a nested multipart with `name=(` and closes it with `=)`; sending "(" as text
    // instead would be a different body without a word.
    if rest.starts_with('(') || (name.is_empty() && rest == ")") {
        return Err(format!(
            "nested multiparts ('-F name=(;type=…' … '-F =)') are not supported yet: '{s}' \
             (quote a value that starts with '(': name=\"(…\")"
        ));
    }
    let part = |value, p: Params| FormPart {
        name: String::new(),
        value,
        content_type: p.content_type,
        filename: p.filename,
        headers: p.headers,
        encoder: p.encoder,
        backslash_escape: false,
    };
    let mut whole = match rest.as_bytes().first() {
        Some(b'@') => {
            // Files up to each ',' (outside quotes), each with its parameters.
            let mut files = Vec::new();
            let mut rest = &rest[1..];
            loop {
                let (path, p, after) = content_and_params(rest, Some(','))?;
                files.push(part(file_value(&path, true, s)?, p));
                match after.strip_prefix(',') {
                    Some(next) => rest = next,
                    None => break,
                }
            }
            if files.len() == 1 {
                files.remove(0)
            } else {
                let mut group = part(FormValue::Files(Vec::new()), Params::default());
                group.value = FormValue::Files(files);
                group
            }
        }
        Some(b'<') => {
            let (path, mut p, _) = content_and_params(&rest[1..], None)?;
            // curl takes no file name for a field read from a file.
            p.filename = None;
            part(file_value(&path, false, s)?, p)
        }
        _ => {
            let (text, p, _) = content_and_params(rest, None)?;
            part(FormValue::Text(text), p)
        }
    };
    whole.name = name.to_string();
    Ok(whole)
}

/// The value of `@path` (`attached`) or `<path`.
fn file_value(path: &str, attached: bool, s: &str) -> Result<FormValue, String> {
    Ok(match path {
        "-" => FormValue::Stdin { attached },
        "" => return Err(format!("a file name must follow '@' or '<' in '{s}'")),
        _ if attached => FormValue::File(path.into()),
        _ => FormValue::FileContent(path.into()),
    })
}

/// A part's (or one file's) parameters.
#[derive(Default)]
struct Params {
    content_type: Option<String>,
    filename: Option<String>,
    headers: Vec<String>,
    encoder: Option<FormEncoder>,
}

/// curl's get_param_part: the content, then `;key=value` parameters, up to the end or `end`
/// (the ',' between files). Returns the content, the parameters and what follows.
fn content_and_params(s: &str, end: Option<char>) -> Result<(String, Params, &str), String> {
    let (content, mut rest) = trimmed_word(s, end);
    let mut p = Params::default();
    // `;type=` takes what follows until a known parameter (curl's `endct`).
    let mut type_open = false;
    while let Some(r) = rest.strip_prefix(';') {
        let r = r.trim_start_matches(is_space);
        let key = |k: &str| r.get(..k.len()).is_some_and(|h| h.eq_ignore_ascii_case(k));
        let known = ["filename=", "headers=", "encoder="].iter().any(|k| key(k));
        if (!type_open && key("type=")) || (type_open && !known) {
            let v = if type_open { r } else { r[5..].trim_start_matches(is_space) };
            let stop = v.find(|c| c == ';' || Some(c) == end).unwrap_or(v.len());
            // Trailing white space goes only where the type ends (trim_type).
            let text = &v[..stop];
            if type_open {
                // The raw text from the ';' on belongs to the type, as in curl's buffer.
                let t = p.content_type.get_or_insert_with(String::new);
                t.push_str(&rest[..rest.len() - r.len()]);
                t.push_str(text);
            } else {
                let text = text.trim_end_matches(is_space);
                let ok = text.split_once('/').is_some_and(|(major, minor)| {
                    !major.is_empty() && !major.contains(' ') && minor.starts_with(|c| !", \n".contains(c))
                });
                if !ok {
                    return Err(format!("'{text}' is not a content type (TYPE/SUBTYPE)"));
                }
                p.content_type = Some(v[..stop].to_string());
                type_open = true;
            }
            rest = &v[stop..];
            continue;
        }
        if std::mem::take(&mut type_open) {
            trim_type(&mut p);
        }
        if key("filename=") {
            let (v, after) = trimmed_word(&r[9..], end);
            p.filename = Some(v);
            rest = after;
        } else if key("encoder=") {
            let (v, after) = trimmed_word(&r[8..], end);
            p.encoder = Some(FormEncoder::parse(&v).ok_or_else(|| {
                format!("';encoder={v}' is not binary, 8bit, 7bit, base64 or quoted-printable")
            })?);
            rest = after;
        } else if key("headers=") {
            let r = &r[8..];
            match r.strip_prefix(['@', '<']) {
                Some(file) => {
                    let (file, after) = trimmed_word(file, end);
                    let text = std::fs::read(&file)
                        .map_err(|e| format!("cannot read the part headers file '{file}': {e}"))?;
                    p.headers.extend(field_headers(&String::from_utf8_lossy(&text)));
                    rest = after;
                }
                None => {
                    let (h, after) = trimmed_word(r, end);
                    if !h.is_empty() {
                        p.headers.push(h);
                    }
                    rest = after;
                }
            }
        } else {
            rest = word(r, end).2;
        }
    }
    trim_type(&mut p);
    // Not echoed: a `headers=` parameter may hold a credential.
    let named =
        [("type", p.content_type.iter().collect::<Vec<_>>()), ("filename", p.filename.iter().collect())];
    for (name, values) in named.into_iter().chain([("headers", p.headers.iter().collect())]) {
        if values.iter().any(|v| v.contains(['\r', '\n'])) {
            return Err(format!("a form part's {name}= cannot hold a line break"));
        }
    }
    Ok((content, p, rest))
}

/// A `;headers=@FILE` file read as curl reads it: one header a line, a line that starts with
/// white space continuing the one before, `#` lines skipped, CRs dropped, trailing space trimmed.
fn field_headers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        let h = cur.trim_end();
        if !h.is_empty() {
            out.push(h.to_string());
        }
        cur.clear();
    };
    for line in text.split('\n') {
        let line = line.replace('\r', "");
        if !line.is_empty() && !line.starts_with(|c: char| c.is_ascii_whitespace()) {
            flush(&mut cur, &mut out);
        }
        if !line.starts_with('#') {
            cur.push_str(&line);
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// The end of a `;type=`: curl cuts it after its last non-space character.
fn trim_type(p: &mut Params) {
    if let Some(t) = &mut p.content_type {
        t.truncate(t.trim_end_matches(is_space).len());
    }
}

/// curl's ISSPACE.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// [`word`] after leading white space, an unquoted one without trailing white space (curl).
fn trimmed_word(s: &str, end: Option<char>) -> (String, &str) {
    let (w, quoted, rest) = word(s.trim_start_matches(is_space), end);
    match quoted {
        true => (w, rest),
        false => (w.trim_end_matches(is_space).to_string(), rest),
    }
}

/// One value of a `-F` argument as curl's get_param_word reads it: a double-quoted string (with
/// `\"` and `\\`; without its closing quote it is read unquoted), or everything up to the next
/// ';' or `end`. Returns it, whether it was quoted, and what follows (from that ';' or `end`).
fn word(s: &str, end: Option<char>) -> (String, bool, &str) {
    let stops = |c: char| c == ';' || Some(c) == end;
    if let Some(q) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = q.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' if matches!(chars.peek(), Some((_, '\\' | '"'))) => {
                    out.push(chars.next().map_or(c, |(_, n)| n));
                }
                '"' => {
                    let after = &q[i + 1..];
                    // Anything between the closing quote and the next ';' is dropped, as curl does.
                    let next = after.find(stops).map_or("", |j| &after[j..]);
                    return (out, true, next);
                }
                c => out.push(c),
            }
        }
    }
    match s.find(stops) {
        Some(i) => (s[..i].to_string(), false, &s[i..]),
        None => (s.to_string(), false, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(name: &str, v: &str) -> FormPart {
        parse_form_string(&format!("{name}={v}")).unwrap()
    }

    #[test]
    fn form_parts_as_curl_reads_them() {
        assert_eq!(parse_form("a=b").unwrap(), text("a", "b"));
        assert_eq!(parse_form("a=").unwrap(), text("a", ""));
        assert_eq!(parse_form("a=x=y").unwrap(), text("a", "x=y"));
        // Unknown parameters are skipped; a quoted value keeps its ';'.
        assert_eq!(parse_form("n=a;b").unwrap(), text("n", "a"));
        assert_eq!(parse_form("q=\"a;b\"").unwrap(), text("q", "a;b"));
        assert_eq!(parse_form("q=\"a\\\"b\"").unwrap(), text("q", "a\"b"));
        let p = parse_form("f=@dir/note.txt;type=text/x;filename=\"o;t.c\";headers=\"X-A: 1\"").unwrap();
        assert_eq!(p.value, FormValue::File("dir/note.txt".into()));
        assert_eq!(p.content_type.as_deref(), Some("text/x"));
        assert_eq!(p.filename.as_deref(), Some("o;t.c"));
        assert_eq!(p.headers, vec!["X-A: 1".to_string()]);
        let p = parse_form("f=x;headers=\"X-A: 1\";encoder=8bit").unwrap();
        assert_eq!(p.headers, ["X-A: 1"]);
        assert_eq!(p.encoder, Some(FormEncoder::EightBit));
        assert_eq!(parse_form("f=x;encoder=BASE64").unwrap().encoder, Some(FormEncoder::Base64));
        let qp = parse_form("f=x; encoder= quoted-printable ;x=1").unwrap();
        assert_eq!(qp.encoder, Some(FormEncoder::QuotedPrintable));
        assert!(parse_form("f=x;encoder=bogus").unwrap_err().contains("not binary"));
        // Unquoted values lose surrounding white space, quoted ones keep it (curl).
        assert_eq!(parse_form("m= a b ").unwrap(), text("m", "a b"));
        assert_eq!(parse_form("m=\" a \"").unwrap(), text("m", " a "));
        // Only \\ and \" are escapes; a missing closing quote reads the value unquoted.
        assert_eq!(parse_form("m=\"a\\b\"").unwrap(), text("m", "a\\b"));
        assert_eq!(parse_form("m=\"ab;type=a/b").unwrap().value, FormValue::Text("\"ab".into()));
        // The type runs on through unknown parameters up to a known one.
        let p = parse_form("a=b;type=text/plain; charset=x ;x=1;filename=f.txt").unwrap();
        assert_eq!(p.content_type.as_deref(), Some("text/plain; charset=x ;x=1"));
        assert_eq!(p.filename.as_deref(), Some("f.txt"));
        assert!(parse_form("a=b;type=foo").is_err());
        assert!(parse_form("a=b;type=a /b").is_err());
        // `<file` takes no file name.
        assert_eq!(parse_form("g=<note.txt;filename=x.png").unwrap().filename, None);
        assert_eq!(parse_form("f=@\"a,b.txt\"").unwrap().value, FormValue::File("a,b.txt".into()));
        assert_eq!(parse_form("f=<a,b").unwrap().value, FormValue::FileContent("a,b".into()));
        assert_eq!(parse_form("f=x,y").unwrap(), text("f", "x,y"));
        assert!(parse_form("f=x;headers=@/nonexistent/h.txt").unwrap_err().contains("cannot read"));
        assert_eq!(parse_form("g=<note.txt").unwrap().value, FormValue::FileContent("note.txt".into()));
        assert_eq!(parse_form("g=@-").unwrap().value, FormValue::Stdin { attached: true });
        assert_eq!(parse_form("g=<-;type=a/b").unwrap().value, FormValue::Stdin { attached: false });
        assert_eq!(parse_form("w=v;type=foo/bar").unwrap().content_type.as_deref(), Some("foo/bar"));
        for bad in ["novalue", "f=@", "f=<", "a=b;type=\"x\ny\""] {
            assert!(parse_form(bad).is_err(), "{bad}");
        }
        // curl's nested multiparts are refused, not sent as text; a quoted '(' is text.
        assert!(parse_form("m=(;type=multipart/alternative").unwrap_err().contains("not supported"));
        assert!(parse_form("=)").unwrap_err().contains("not supported"));
        assert_eq!(parse_form("m=\"(x\"").unwrap(), text("m", "(x"));
        assert_eq!(parse_form("m=)").unwrap(), text("m", ")"));
        assert_eq!(parse_form_string("m=(").unwrap().value, FormValue::Text("(".into()));
        // --form-string takes everything literally.
        assert_eq!(parse_form_string("x=@lit;type=a").unwrap().value, FormValue::Text("@lit;type=a".into()));
        assert!(parse_form_string("x").is_err());
    }

    #[test]
    fn several_files_in_one_part() {
        let p = parse_form("f=@a.txt;type=text/x;encoder=base64,\"b,c.bin\";filename=z.png, -").unwrap();
        assert_eq!(p.name, "f");
        assert_eq!((p.content_type.as_ref(), p.filename.as_ref(), p.encoder), (None, None, None));
        let FormValue::Files(files) = p.value else { panic!("not a group: {p:?}") };
        assert_eq!(files.len(), 3);
        assert_eq!(files[0].value, FormValue::File("a.txt".into()));
        assert_eq!(files[0].content_type.as_deref(), Some("text/x"));
        assert_eq!(files[0].encoder, Some(FormEncoder::Base64));
        assert_eq!(files[1].value, FormValue::File("b,c.bin".into()));
        assert_eq!((files[1].filename.as_deref(), files[1].encoder), (Some("z.png"), None));
        assert_eq!(files[2].value, FormValue::Stdin { attached: true });
        assert!(files.iter().all(|f| f.name.is_empty()));
        // A type stops at the ',' that starts the next file; an empty file name is an error.
        let p = parse_form("f=@a;type=a/b;q=1,b").unwrap();
        let FormValue::Files(files) = p.value else { panic!("not a group") };
        assert_eq!(files[0].content_type.as_deref(), Some("a/b;q=1"));
        assert!(parse_form("f=@a.txt,").is_err());
        // One file is a plain part.
        assert_eq!(parse_form("f=@a.txt;type=a/b").unwrap().value, FormValue::File("a.txt".into()));
    }

    #[test]
    fn part_headers_files_read_as_curl_reads_them() {
        let text = "# comment\r\nX-A: 1\r\n  folded\nX-B: 2  \n\n\tmore\n#X-C: 3\nX-D: 4  ";
        assert_eq!(field_headers(text), ["X-A: 1  folded", "X-B: 2  \tmore", "X-D: 4"]);
        assert!(field_headers("").is_empty());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("h.txt");
        std::fs::write(&file, "X-One: 1\nX-Two: 2\n").unwrap();
        let p = parse_form(&format!("f=v;headers=@{}", file.display())).unwrap();
        assert_eq!(p.headers, ["X-One: 1", "X-Two: 2"]);
    }
}
