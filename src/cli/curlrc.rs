//! `-K/--config FILE`: curl's config-file syntax, expanded into command-line arguments before
//! clap sees them (so every option works there exactly as on the command line).
//!
//! The syntax, as curl's man page gives it: one option per line; `#` as the first non-blank
//! character starts a comment; the option is a long name with or without its dashes (`silent`,
//! `--silent`) or a short one (`-s`); its parameter follows after white space, or — for a name
//! without dashes — after `=` or `:`; a parameter with white space (or starting with `=` or
//! `:`) is double-quoted, where `\\`, `\"`, `\t`, `\n`, `\r`, `\v` are escapes and a backslash
//! before anything else is dropped. `url = …` gives the URL. A config file may name another
//! (`config = FILE`), at most [`MAX_DEPTH`] deep. `-K -` reads standard input.
//!
//! [`expand_header_files`] expands `-H @FILE` (and `--header @FILE`): one `-H` per non-empty
//! line of FILE, as curl reads it; it runs after curl 8's variables, so `--expand-header
//! @{{file}}` reads the file the variable names.
//!
//! toll reads no default config file: `~/.curlrc` is curl's and is ignored, so nothing in it
//! can change what toll does behind a script's back.

use super::units::{self, Unit};
use std::ffi::OsString;

pub const MAX_DEPTH: usize = 10;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{file}:{line}: unterminated quoted parameter")]
    Unterminated { file: String, line: usize },
    /// No command line can hold a NUL: the file is not the text it should be.
    #[error("{file}:{line}: a NUL byte (is this a text file?)")]
    Nul { file: String, line: usize },
    #[error("{file}:{line}: '{option}' is not an option")]
    NotAnOption { file: String, line: usize, option: String },
    /// A value after an option that takes none: on the command line it would be a URL.
    #[error("{file}:{line}: {option} takes no value, but '{value}' follows it")]
    TakesNoValue { file: String, line: usize, option: String, value: String },
    #[error("-K/--config needs a file name")]
    MissingFile,
    #[error("config files nest more than {MAX_DEPTH} deep (does one include itself?)")]
    TooDeep,
    /// Exit 26.
    #[error("cannot read {file} (named by -K or -H @FILE): {why}")]
    Unreadable { file: String, why: String },
}

impl ConfigError {
    /// curl's codes: 26 for a file that cannot be read, 2 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            ConfigError::Unreadable { .. } => 26,
            _ => 2,
        }
    }
}

/// The arguments one config file's text stands for. `file` names it in errors.
pub fn parse_config(text: &str, file: &str) -> Result<Vec<String>, ConfigError> {
    let mut args = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        if raw.contains('\0') {
            return Err(ConfigError::Nul { file: file.into(), line: line_no });
        }
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let dashed = line.starts_with('-');
        let name_end = line
            .find(|c: char| c.is_whitespace() || (!dashed && (c == '=' || c == ':')))
            .unwrap_or(line.len());
        let name = &line[..name_end];
        let mut rest = line[name_end..].trim_start();
        if !dashed {
            if let Some(r) = rest.strip_prefix(['=', ':']) {
                rest = r.trim_start();
            }
        }
        let option = if dashed {
            name.to_string()
        } else if name.is_empty() {
            return Err(ConfigError::NotAnOption {
                file: file.into(),
                line: line_no,
                option: raw.trim().into(),
            });
        } else {
            format!("--{name}")
        };
        if option == "-" || option == "--" {
            return Err(ConfigError::NotAnOption { file: file.into(), line: line_no, option });
        }
        if rest.is_empty() {
            args.push(option);
            continue;
        }
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = quoted.chars();
            loop {
                match chars.next() {
                    None => return Err(ConfigError::Unterminated { file: file.into(), line: line_no }),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some('t') => v.push('\t'),
                        Some('n') => v.push('\n'),
                        Some('r') => v.push('\r'),
                        Some('v') => v.push('\u{b}'),
                        Some(c) => v.push(c),
                        None => return Err(ConfigError::Unterminated { file: file.into(), line: line_no }),
                    },
                    Some(c) => v.push(c),
                }
            }
            v
        } else {
            // Unquoted: up to the first white space (curl ignores the rest, with a warning).
            rest.split_whitespace().next().unwrap_or("").to_string()
        };
        // curl 7.88 applies such an option and ignores the value with a warning; here the value
        // would become a URL (`silent yes` fetching `yes`), and `fail = no` would turn --fail
        // on: an error says which line.
        if !takes_a_value(&option) {
            return Err(ConfigError::TakesNoValue { file: file.into(), line: line_no, option, value });
        }
        args.push(option);
        args.push(value);
    }
    Ok(args)
}

/// Whether `option`, as a config line names it, takes the value that follows it on the line:
/// false only for an option toll knows to take none (`--silent`, `-s`, `-si`, `--no-silent`).
/// An option toll does not know is left to clap, which names it.
fn takes_a_value(option: &str) -> bool {
    let cmd = units::command();
    let flag = |name: &str| units::long_arg(cmd, name).is_some_and(|a| !units::consumes_next(a));
    if let Some(negated) = option.strip_prefix("--no-") {
        if units::long_arg(cmd, &option[2..]).is_none() && flag(negated) {
            return false;
        }
    }
    let line = [OsString::from("toll"), OsString::from(option), OsString::from("value")];
    match units::units(&line, cmd) {
        Some(all) => {
            all.iter().any(|u| matches!(u, Unit::Opt { arg: None, .. }))
                || !all.iter().any(|u| matches!(u, Unit::Positional(_)))
        }
        None => false,
    }
}

/// Replaces every `-K FILE` (also `-KFILE`, `-sK FILE`, `--config FILE`, `--config=FILE`) in
/// `args` (the program name first) by the arguments of FILE, nested files too. Only options
/// are replaced: `-d -K` sends the text `-K`. `read` reads a file (`-` = standard input).
pub fn expand_config_args(
    args: Vec<OsString>,
    read: &dyn Fn(&str) -> std::io::Result<String>,
) -> Result<Vec<OsString>, ConfigError> {
    let config = |a: &OsString| {
        let t = a.to_string_lossy();
        t.starts_with("--config") || (t.starts_with('-') && !t.starts_with("--") && t.contains('K'))
    };
    if !args.iter().skip(1).any(config) {
        return Ok(args);
    }
    expand(args, read, 0)
}

fn expand(
    args: Vec<OsString>,
    read: &dyn Fn(&str) -> std::io::Result<String>,
    depth: usize,
) -> Result<Vec<OsString>, ConfigError> {
    if depth > MAX_DEPTH {
        return Err(ConfigError::TooDeep);
    }
    let Some(all) = units::units(&args, units::command()) else { return Ok(args) };
    let mut out = vec![args[0].clone()];
    for unit in all {
        if unit.long() != Some("config") {
            out.extend(unit.into_tokens());
            continue;
        }
        let Unit::Opt { tokens, .. } = &unit else { unreachable!("an option has a long name") };
        let file = units::value(tokens).ok_or(ConfigError::MissingFile)?.to_string_lossy().into_owned();
        let text =
            read(&file).map_err(|e| ConfigError::Unreadable { file: file.clone(), why: e.to_string() })?;
        let mut inner = vec![args[0].clone()];
        inner.extend(parse_config(&text, &file)?.into_iter().map(OsString::from));
        out.extend(expand(inner, read, depth + 1)?.into_iter().skip(1));
    }
    Ok(out)
}

/// Replaces every `-H @FILE` (`--header @FILE`, `--header=@FILE`; `--proxy-header @FILE` too)
/// in `args` by one such option per non-empty line of FILE, as curl reads it (a CR before the
/// line end dropped).
pub fn expand_header_files(
    args: Vec<OsString>,
    read: &dyn Fn(&str) -> std::io::Result<String>,
) -> Result<Vec<OsString>, ConfigError> {
    if !args.iter().skip(1).any(|a| a.to_string_lossy().contains('@')) {
        return Ok(args);
    }
    let Some(all) = units::units(&args, units::command()) else { return Ok(args) };
    let mut out = vec![args[0].clone()];
    for unit in all {
        let file = match (&unit, unit.long()) {
            (Unit::Opt { tokens, .. }, Some(long @ ("header" | "proxy-header"))) => units::value(tokens)
                .and_then(|v| v.to_str().and_then(|v| v.strip_prefix('@')).map(|f| (long, f.to_string()))),
            _ => None,
        };
        let Some((long, file)) = file else {
            out.extend(unit.into_tokens());
            continue;
        };
        let text =
            read(&file).map_err(|e| ConfigError::Unreadable { file: file.clone(), why: e.to_string() })?;
        for line in text.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.trim().is_empty()) {
            out.push(OsString::from(format!("--{long}")));
            out.push(OsString::from(line));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Vec<String> {
        parse_config(text, "f").unwrap()
    }

    #[test]
    fn curl_config_syntax() {
        assert_eq!(
            p("# comment\n  silent\n--show-error\n-o out.txt\nurl = \"http://h/a b\"\nuser-agent: \"x \\\"y\\\"\\tz\\q\"\nheader=X-A:1\n\n"),
            [
                "--silent",
                "--show-error",
                "-o",
                "out.txt",
                "--url",
                "http://h/a b",
                "--user-agent",
                "x \"y\"\tzq",
                "--header",
                "X-A:1"
            ]
        );
        assert_eq!(p("write-out = \"%{http_code}\\n\""), ["--write-out", "%{http_code}\n"]);
        assert_eq!(p("data unquoted trailing words"), ["--data", "unquoted"]);
        assert_eq!(p("--data=x"), ["--data=x"], "with dashes, '=' is not a separator");
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert_eq!(
            parse_config("url \"open", "f"),
            Err(ConfigError::Unterminated { file: "f".into(), line: 1 })
        );
        assert!(matches!(parse_config("= x", "f"), Err(ConfigError::NotAnOption { line: 1, .. })));
        assert!(matches!(parse_config("ok\n-- x", "f"), Err(ConfigError::NotAnOption { line: 2, .. })));
        // A value after an option that takes none would be a URL (`yes` fetched): an error.
        for line in ["silent yes", "fail = no", "-s 1", "-si x", "no-location: \"off\"", "--insecure true"] {
            assert!(
                matches!(
                    parse_config(&format!("url = http://h/\n{line}"), "f"),
                    Err(ConfigError::TakesNoValue { line: 2, .. })
                ),
                "{line}"
            );
        }
        // Options that take one, short or long, in any spelling; and one toll does not know,
        // which clap names later.
        assert_eq!(
            p("-o f\noutput: g\n-of\nexpand-data x\nfoo-bar 1"),
            ["-o", "f", "--output", "g", "-of", "--expand-data", "x", "--foo-bar", "1"]
        );
        for junk in ["\"", "\\", "a \"\\", "::", "\u{0}"] {
            let _ = parse_config(junk, "f");
        }
    }

    #[test]
    fn expansion_in_place_and_nested() {
        let read = |f: &str| match f {
            "a.cfg" => Ok("silent\nconfig = b.cfg\n".to_string()),
            "b.cfg" => Ok("url http://h/\n".to_string()),
            "loop.cfg" => Ok("config loop.cfg\n".to_string()),
            _ => Err(std::io::Error::new(std::io::ErrorKind::NotFound, "missing")),
        };
        let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            expand_config_args(os(&["toll", "-v", "-K", "a.cfg", "-i"]), &read).unwrap(),
            os(&["toll", "-v", "--silent", "--url", "http://h/", "-i"])
        );
        assert_eq!(
            expand_config_args(os(&["toll", "--config=b.cfg"]), &read).unwrap(),
            os(&["toll", "--url", "http://h/"])
        );
        assert_eq!(
            expand_config_args(os(&["toll", "-Kb.cfg"]), &read).unwrap(),
            os(&["toll", "--url", "http://h/"])
        );
        assert_eq!(expand_config_args(os(&["toll", "-K", "loop.cfg"]), &read), Err(ConfigError::TooDeep));
        let e = expand_config_args(os(&["toll", "-K", "nope"]), &read).unwrap_err();
        assert_eq!(e.exit_code(), 26);
        assert_eq!(expand_config_args(os(&["toll", "-K"]), &read), Err(ConfigError::MissingFile));
        assert_eq!(expand_config_args(os(&["toll", "--key"]), &read).unwrap(), os(&["toll", "--key"]));
        // Bundled, as curl takes it; and only where it is an option.
        assert_eq!(
            expand_config_args(os(&["toll", "-sK", "b.cfg", "-d", "-K", "-sKb.cfg"]), &read).unwrap(),
            os(&["toll", "-s", "--url", "http://h/", "-d", "-K", "-s", "--url", "http://h/"])
        );
    }

    #[test]
    fn header_files_become_one_h_per_line() {
        let read = |f: &str| match f {
            "h.txt" => Ok("X-A: 1\r\n\nX-B: 2\n".to_string()),
            "c.cfg" => Ok("header = @h.txt\n".to_string()),
            _ => Err(std::io::Error::new(std::io::ErrorKind::NotFound, "missing")),
        };
        let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            expand_header_files(os(&["toll", "-H", "@h.txt", "--header=X-C: 3"]), &read).unwrap(),
            os(&["toll", "--header", "X-A: 1", "--header", "X-B: 2", "--header=X-C: 3"])
        );
        assert_eq!(
            expand_header_files(os(&["toll", "-sH@h.txt", "--proxy-header", "@h.txt"]), &read).unwrap(),
            os(&[
                "toll",
                "-s",
                "--header",
                "X-A: 1",
                "--header",
                "X-B: 2",
                "--proxy-header",
                "X-A: 1",
                "--proxy-header",
                "X-B: 2"
            ])
        );
        let from_config = expand_config_args(os(&["toll", "-K", "c.cfg"]), &read).unwrap();
        assert_eq!(
            expand_header_files(from_config, &read).unwrap(),
            os(&["toll", "--header", "X-A: 1", "--header", "X-B: 2"])
        );
        assert_eq!(expand_header_files(os(&["toll", "-H", "@nope"]), &read).unwrap_err().exit_code(), 26);
        // A value is not an option; a missing value is left for clap to report.
        assert_eq!(
            expand_header_files(os(&["toll", "-d", "-H", "@h.txt"]), &read).unwrap(),
            os(&["toll", "-d", "-H", "@h.txt"])
        );
        assert_eq!(expand_header_files(os(&["toll", "-H"]), &read).unwrap(), os(&["toll", "-H"]));
    }

    #[test]
    fn a_nul_byte_is_an_error_not_an_argument() {
        // Found by the curl_config fuzz target: a quoted value carried the NUL into an argument.
        let e = parse_config("url = \"h\0x\"\n", "f").unwrap_err();
        assert_eq!(e, ConfigError::Nul { file: "f".into(), line: 1 });
    }
}
