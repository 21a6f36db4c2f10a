//! curl 8's command-line variables (curl 8.3+, `--variable`; in `-K` files `variable = …`):
//! `--variable NAME=TEXT`, `NAME@FILE` (`@-`: standard input), `%NAME` (from the environment,
//! an error when it is not set; `%NAME=TEXT` and `%NAME@FILE` give a default), with an
//! optional byte range `NAME[N-M]` (curl 8.12). Any option that takes a value can be given as
//! `--expand-OPTION VALUE`: `{{NAME}}` in VALUE becomes the variable's content (nothing when it
//! is not set), `{{NAME:f:g}}` the content after the functions `trim`, `json`, `url`, `b64`,
//! `64dec` in turn, and `\{{` a literal `{{`. `--expand-variable` sets a variable from others.
//!
//! Like `--next`, this is done to the command line before clap reads it: every `--variable`
//! goes, and every `--expand-OPTION VALUE` becomes `--OPTION EXPANDED`, in order (a variable is
//! what the last `--variable` before the expansion set). The corner cases are curl's (its
//! `src/var.c`): an argument without a `{{NAME}}` to replace is used as given (a `\{{` in it
//! keeps its backslash), a name that is not `[A-Za-z0-9_]{1,127}` is left as written, a missing
//! `}}` ends the expansion there, a content with a NUL byte is an error.

use super::units::{self, Unit};
use base64::Engine;
use std::collections::HashMap;
use std::ffi::OsString;

/// Names are up to this many bytes.
const MAX_NAME: usize = 127;
/// An expanded value is at most this long (curl's limit).
const MAX_EXPANDED: usize = 10_000_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VarError {
    #[error("variable '{0}' import fail, not set (in the environment)")]
    ImportUnset(String),
    #[error("unknown variable function in '{0}' (trim, json, url, b64, 64dec)")]
    UnknownFunction(String),
    #[error("variable contains a NUL byte, which no argument can hold ({0})")]
    NulByte(String),
    #[error("bad --variable byte range for '{0}' (NAME[N-M] or NAME[N-])")]
    Range(String),
    #[error("--expand-{0}: no such option taking a value")]
    NotAnOption(String),
    #[error("{0} needs a value")]
    MissingValue(String),
    #[error("an expanded value is longer than {MAX_EXPANDED} bytes")]
    TooLong,
    /// Exit 26, as a `-d @FILE` that cannot be read.
    #[error("cannot read {file} (named by --variable): {why}")]
    Unreadable { file: String, why: String },
}

impl VarError {
    /// curl's codes: 26 for a file that cannot be read, 2 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            VarError::Unreadable { .. } => 26,
            _ => 2,
        }
    }
}

/// Where variables come from: the environment (`%NAME`), files and standard input (`@FILE`),
/// and where curl's warnings go.
pub struct VarSources<'a> {
    pub env: &'a dyn Fn(&str) -> Option<Vec<u8>>,
    /// Reads a file, `-` standard input.
    pub read: &'a dyn Fn(&str) -> std::io::Result<Vec<u8>>,
    pub warn: &'a mut dyn FnMut(String),
}

/// `args` (program name first) with the variables set and the `--expand-` options expanded.
pub fn apply_variables(args: Vec<OsString>, src: &mut VarSources<'_>) -> Result<Vec<OsString>, VarError> {
    let wanted =
        |a: &OsString| a.to_str().is_some_and(|t| t.starts_with("--variable") || t.starts_with("--expand-"));
    if !args.iter().skip(1).any(wanted) {
        return Ok(args);
    }
    let cmd = units::command();
    let expandable = |name: &str| name.starts_with("expand-");
    let Some(all) = units::units_with(&args, cmd, &expandable) else { return Ok(args) };
    let mut vars: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    let mut line = vec![args[0].clone()];
    for unit in all {
        let (option, value) = match &unit {
            Unit::Opt { tokens, .. } => match option_and_value(tokens) {
                Some((o, v)) if o == "variable" || o.starts_with("expand-") => (o, v),
                _ => {
                    line.extend(unit.into_tokens());
                    continue;
                }
            },
            _ => {
                line.extend(unit.into_tokens());
                continue;
            }
        };
        let value = value.ok_or_else(|| VarError::MissingValue(format!("--{option}")))?;
        let Some(target) = option.strip_prefix("expand-") else {
            set_variable(&mut vars, &bytes(&value), src)?;
            continue;
        };
        let expanded = match expand(&bytes(&value), &option, &vars, src.warn)? {
            Some(e) => e,
            None => bytes(&value),
        };
        if target == "variable" {
            set_variable(&mut vars, &expanded, src)?;
            continue;
        }
        match units::long_arg(cmd, target) {
            Some(arg) if units::consumes_next(arg) => {
                line.push(OsString::from(format!("--{}", arg.get_long().unwrap_or(target))));
                line.push(os(expanded));
            }
            _ => return Err(VarError::NotAnOption(target.to_string())),
        }
    }
    Ok(line)
}

/// `--NAME VALUE` or `--NAME=VALUE` as (NAME, VALUE).
fn option_and_value(tokens: &[OsString]) -> Option<(String, Option<OsString>)> {
    let first = tokens.first()?.to_str()?.strip_prefix("--")?;
    match first.split_once('=') {
        Some((name, v)) => Some((name.to_string(), Some(OsString::from(v)))),
        None => Some((first.to_string(), tokens.get(1).cloned())),
    }
}

#[cfg(unix)]
fn bytes(s: &OsString) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    s.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn bytes(s: &OsString) -> Vec<u8> {
    s.to_string_lossy().into_owned().into_bytes()
}

#[cfg(unix)]
fn os(b: Vec<u8>) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    OsString::from_vec(b)
}

#[cfg(not(unix))]
fn os(b: Vec<u8>) -> OsString {
    OsString::from(String::from_utf8_lossy(&b).into_owned())
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// One `--variable` argument: `[%]NAME[[N-M]](=TEXT|@FILE)`.
fn set_variable(
    vars: &mut HashMap<Vec<u8>, Vec<u8>>,
    input: &[u8],
    src: &mut VarSources<'_>,
) -> Result<(), VarError> {
    let (import, rest) = match input.strip_prefix(b"%") {
        Some(r) => (true, r),
        None => (false, input),
    };
    let name_len = rest.iter().take_while(|b| is_name_byte(**b)).count();
    if name_len == 0 || name_len > MAX_NAME {
        (src.warn)(format!("bad --variable name length ({name_len}), skipping it"));
        return Ok(());
    }
    let (name, mut rest) = rest.split_at(name_len);
    // Messages name the variable, never its content (it may be a password).
    let text = || String::from_utf8_lossy(name).into_owned();
    let mut content: Option<Vec<u8>> = None;
    if import {
        let name_text = String::from_utf8_lossy(name).into_owned();
        match (src.env)(&name_text) {
            Some(v) => content = Some(v),
            None if rest.is_empty() => return Err(VarError::ImportUnset(name_text)),
            None => {}
        }
    }
    let mut range = None;
    if rest.first() == Some(&b'[') && rest.get(1).is_some_and(u8::is_ascii_digit) {
        let end = rest.iter().position(|b| *b == b']').ok_or_else(|| VarError::Range(text()))?;
        range = Some(parse_range(&rest[1..end]).ok_or_else(|| VarError::Range(text()))?);
        rest = &rest[end + 1..];
    }
    let content = match content {
        // An imported value is used whole, whatever follows the name (curl does the same).
        Some(c) => c,
        None => match rest.first() {
            Some(b'@') => {
                let file = String::from_utf8_lossy(&rest[1..]).into_owned();
                (src.read)(&file).map_err(|e| VarError::Unreadable { file, why: e.to_string() })?
            }
            Some(b'=') => rest[1..].to_vec(),
            _ => {
                (src.warn)(format!(
                    "bad --variable syntax for '{}' (NAME=TEXT or NAME@FILE), skipping it",
                    text()
                ));
                return Ok(());
            }
        },
    };
    let content = match range {
        None => content,
        Some((start, _)) if start >= content.len() as u64 => Vec::new(),
        Some((start, end)) => {
            let last = end.unwrap_or(u64::MAX).min(content.len() as u64 - 1);
            content[start as usize..=last as usize].to_vec()
        }
    };
    if vars.insert(name.to_vec(), content).is_some() {
        (src.warn)(format!("overwriting variable '{}'", String::from_utf8_lossy(name)));
    }
    Ok(())
}

/// `N-M` or `N-`: an inclusive byte range.
fn parse_range(r: &[u8]) -> Option<(u64, Option<u64>)> {
    let r = std::str::from_utf8(r).ok()?;
    let (a, b) = r.split_once('-')?;
    let start: u64 = a.parse().ok()?;
    let end: Option<u64> = if b.is_empty() { None } else { Some(b.parse().ok()?) };
    if end.is_some_and(|e| e < start) {
        return None;
    }
    Some((start, end))
}

/// `line` with its `{{…}}` replaced, or `None` when nothing was replaced (the argument is then
/// used as it was given, as curl does).
fn expand(
    line: &[u8],
    option: &str,
    vars: &HashMap<Vec<u8>, Vec<u8>>,
    warn: &mut dyn FnMut(String),
) -> Result<Option<Vec<u8>>, VarError> {
    let mut out = Vec::new();
    let mut replaced = false;
    let mut rest = line;
    while let Some(at) = find(rest, b"{{") {
        if at > 0 && rest[at - 1] == b'\\' {
            out.extend_from_slice(&rest[..at - 1]);
            out.extend_from_slice(b"{{");
            rest = &rest[at + 2..];
            continue;
        }
        let Some(close) = find(&rest[at..], b"}}").map(|c| at + c) else {
            warn(format!("missing close '}}}}' in the value of --{option}"));
            break;
        };
        let inside = &rest[at + 2..close];
        let (name, funcs) = match inside.iter().position(|b| *b == b':') {
            Some(colon) => (&inside[..colon], Some(&inside[colon..])),
            None => (inside, None),
        };
        if name.is_empty() || name.len() > MAX_NAME {
            warn(format!("bad variable name length in the value of --{option}"));
            out.extend_from_slice(&rest[..close + 2]);
        } else if !name.iter().all(|b| is_name_byte(*b)) {
            warn(format!("bad variable name: {}", String::from_utf8_lossy(name)));
            out.extend_from_slice(&rest[..close + 2]);
        } else {
            out.extend_from_slice(&rest[..at]);
            let mut value = vars.get(name).cloned().unwrap_or_default();
            if let Some(funcs) = funcs {
                value = apply_functions(value, funcs)?;
            }
            if value.contains(&0) {
                return Err(VarError::NulByte(String::from_utf8_lossy(name).into_owned()));
            }
            out.extend_from_slice(&value);
            replaced = true;
        }
        if out.len() > MAX_EXPANDED {
            return Err(VarError::TooLong);
        }
        rest = &rest[close + 2..];
    }
    if !replaced {
        return Ok(None);
    }
    out.extend_from_slice(rest);
    if out.len() > MAX_EXPANDED {
        return Err(VarError::TooLong);
    }
    Ok(Some(out))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `:f:g…` applied left to right.
fn apply_functions(mut value: Vec<u8>, funcs: &[u8]) -> Result<Vec<u8>, VarError> {
    for f in funcs[1..].split(|b| *b == b':') {
        value = match f {
            b"trim" => {
                let start = value.iter().position(|b| !is_space(*b)).unwrap_or(value.len());
                let end = value.iter().rposition(|b| !is_space(*b)).map_or(start, |e| e + 1);
                value[start..end].to_vec()
            }
            b"json" => json_quoted(&value).into_bytes(),
            b"url" => url_encoded(&value).into_bytes(),
            b"b64" => base64::engine::general_purpose::STANDARD.encode(&value).into_bytes(),
            b"64dec" if value.is_empty() => value,
            b"64dec" => base64::engine::general_purpose::STANDARD
                .decode(&value)
                .unwrap_or_else(|_| b"[64dec-fail]".to_vec()),
            _ => return Err(VarError::UnknownFunction(String::from_utf8_lossy(funcs).into_owned())),
        };
    }
    Ok(value)
}

/// C's `isspace`: space, tab, newline, vertical tab, form feed, carriage return.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// JSON string quoting without the quotes: `"` and `\` escaped, control bytes as `\b`, `\f`,
/// `\n`, `\r`, `\t` or `\u00XX`; other bytes as they are.
fn json_quoted(v: &[u8]) -> String {
    let mut out = Vec::with_capacity(v.len());
    for &b in v {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b if b < 0x20 => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            b => out.push(b),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encoding of everything but RFC 3986's unreserved characters, as
/// `curl_easy_escape` does.
fn url_encoded(v: &[u8]) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    percent_encoding::percent_encode(v, SET).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Run {
        env: HashMap<&'static str, &'static str>,
        files: HashMap<&'static str, &'static [u8]>,
    }

    impl Run {
        fn new() -> Run {
            Run { env: HashMap::new(), files: HashMap::new() }
        }

        fn apply(&self, line: &[&str]) -> (Result<Vec<String>, VarError>, Vec<String>) {
            let args = std::iter::once("toll").chain(line.iter().copied()).map(OsString::from).collect();
            let mut warnings = Vec::new();
            let env = |n: &str| self.env.get(n).map(|v| v.as_bytes().to_vec());
            let read = |f: &str| {
                self.files
                    .get(f)
                    .map(|c| c.to_vec())
                    .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
            };
            let mut warn = |w: String| warnings.push(w);
            let mut src = VarSources { env: &env, read: &read, warn: &mut warn };
            let out = apply_variables(args, &mut src)
                .map(|l| l.into_iter().skip(1).map(|a| a.to_string_lossy().into_owned()).collect());
            (out, warnings)
        }

        fn ok(&self, line: &[&str]) -> Vec<String> {
            self.apply(line).0.unwrap()
        }
    }

    #[test]
    fn variables_are_set_in_order_and_expanded_into_the_option() {
        let r = Run::new();
        assert_eq!(
            r.ok(&["--variable", "host=example", "--expand-url", "https://{{host}}.com/{{nope}}x", "-s"]),
            ["--url", "https://example.com/x", "-s"]
        );
        // Later settings win; the expansion sees what was set before it.
        assert_eq!(
            r.ok(&[
                "--variable=a=1",
                "--expand-data",
                "{{a}}",
                "--variable",
                "a=2",
                "--expand-header=X: {{a}}",
                "u"
            ]),
            ["--data", "1", "--header", "X: 2", "u"]
        );
        // Without the prefix nothing is expanded; a value that starts with '-' is still a value.
        assert_eq!(
            r.ok(&["--variable", "a=1", "-d", "{{a}}", "--expand-data", "-{{a}}", "u"]),
            ["-d", "{{a}}", "--data", "-1", "u"]
        );
        // The option's alias or long name, whichever was used.
        assert_eq!(
            r.ok(&["--variable", "f=o.txt", "--expand-output", "{{f}}", "u"]),
            ["--output", "o.txt", "u"]
        );
    }

    #[test]
    fn functions_apply_left_to_right() {
        let r = Run::new();
        let e = |v: &str, f: &str| {
            let arg = format!("v={v}");
            let tpl = format!("{{{{v:{f}}}}}");
            r.ok(&["--variable", &arg, "--expand-data", &tpl, "u"])[1].clone()
        };
        assert_eq!(e(" \t a b \r\n", "trim"), "a b");
        assert_eq!(e("say \"hi\"\\\n\u{1}", "json"), "say \\\"hi\\\"\\\\\\n\\u0001");
        assert_eq!(e("a b&c/d~e.f-g_h", "url"), "a%20b%26c%2Fd~e.f-g_h");
        assert_eq!(e("hello", "b64"), "aGVsbG8=");
        assert_eq!(e("aGVsbG8=", "64dec"), "hello");
        assert_eq!(e("!!!", "64dec"), "[64dec-fail]");
        assert_eq!(e("  x y ", "trim:url"), "x%20y");
        assert_eq!(e(" x ", "url:trim"), "%20x%20");
        let (err, _) = r.apply(&["--variable", "v=1", "--expand-data", "{{v:upper}}", "u"]);
        assert_eq!(err, Err(VarError::UnknownFunction(":upper".into())));
    }

    #[test]
    fn files_standard_input_and_the_environment() {
        let mut r = Run::new();
        r.files.insert("tok.txt", b"s3cret\n");
        r.files.insert("-", b"from stdin");
        r.env.insert("USER", "joe");
        assert_eq!(
            r.ok(&["--variable", "t@tok.txt", "--expand-header", "Authorization: Bearer {{t:trim}}", "u"]),
            ["--header", "Authorization: Bearer s3cret", "u"]
        );
        assert_eq!(
            r.ok(&["--variable", "s@-", "--expand-data", "{{s}}", "u"]),
            ["--data", "from stdin", "u"]
        );
        assert_eq!(
            r.ok(&["--variable", "%USER", "--expand-user", "{{USER}}:pw", "u"]),
            ["--user", "joe:pw", "u"]
        );
        assert_eq!(
            r.ok(&["--variable", "%HOME=/h", "--expand-data", "{{HOME}}", "u"]),
            ["--data", "/h", "u"]
        );
        assert_eq!(
            r.ok(&["--variable", "%USER=x", "--expand-data", "{{USER}}", "u"]),
            ["--data", "joe", "u"]
        );
        assert_eq!(r.apply(&["--variable", "%HOME", "u"]).0, Err(VarError::ImportUnset("HOME".into())));
        let e = r.apply(&["--variable", "x@missing", "u"]).0.unwrap_err();
        assert_eq!(e.exit_code(), 26);
        // Byte ranges (curl 8.12).
        assert_eq!(
            r.ok(&["--variable", "t[1-3]@tok.txt", "--expand-data", "{{t}}", "u"]),
            ["--data", "3cr", "u"]
        );
        assert_eq!(
            r.ok(&["--variable", "t[4-]=abcdefg", "--expand-data", "{{t}}", "u"]),
            ["--data", "efg", "u"]
        );
        assert_eq!(r.ok(&["--variable", "t[9-]=abc", "--expand-data", "x{{t}}", "u"]), ["--data", "x", "u"]);
        assert!(matches!(r.apply(&["--variable", "t[3-1]=abc", "u"]).0, Err(VarError::Range(_))));
    }

    #[test]
    fn curls_corner_cases() {
        let r = Run::new();
        // Nothing replaced: the argument as given, backslash and all.
        assert_eq!(r.ok(&["--expand-data", "\\{{a}}", "u"]), ["--data", "\\{{a}}", "u"]);
        // Replaced elsewhere: the escape gives a literal "{{".
        assert_eq!(
            r.ok(&["--variable", "a=1", "--expand-data", "\\{{a}} {{a}}", "u"]),
            ["--data", "{{a}} 1", "u"]
        );
        // Bad names stay as written (with a warning), a missing "}}" ends the expansion.
        let (out, warnings) = r.apply(&["--variable", "a=1", "--expand-data", "{{a-b}}{{a}}{{", "u"]);
        assert_eq!(out.unwrap(), ["--data", "{{a-b}}1{{", "u"]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        // Bad --variable syntax is a warning, not an error.
        let (out, warnings) = r.apply(&["--variable", "a", "--variable", "=x", "u"]);
        assert_eq!(out.unwrap(), ["u"]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        // A NUL byte cannot be an argument.
        let (err, _) = r.apply(&["--variable", "z=AA==", "--expand-data", "{{z:64dec}}", "u"]);
        assert_eq!(err, Err(VarError::NulByte("z".into())));
        // --expand- needs an option that takes a value.
        assert_eq!(r.apply(&["--expand-silent", "x", "u"]).0, Err(VarError::NotAnOption("silent".into())));
        assert_eq!(r.apply(&["--expand-nope", "x", "u"]).0, Err(VarError::NotAnOption("nope".into())));
        assert_eq!(r.apply(&["u", "--variable"]).0, Err(VarError::MissingValue("--variable".into())));
    }

    #[test]
    fn expand_variable_sets_from_others_and_subcommands_are_left_alone() {
        let r = Run::new();
        assert_eq!(
            r.ok(&[
                "--variable",
                "h=ex",
                "--expand-variable",
                "url=https://{{h}}.com",
                "--expand-url",
                "{{url}}/"
            ]),
            ["--url", "https://ex.com/"]
        );
        assert_eq!(r.ok(&["run", "--", "sh", "--variable", "a=1"]), ["run", "--", "sh", "--variable", "a=1"]);
        // Values are not options: a data text that looks like one is left alone.
        assert_eq!(r.ok(&["-d", "--variable", "--variable", "a=1", "u"]), ["-d", "--variable", "u"]);
    }
}
