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

/// What one line of a config file stands for: the arguments it gives (each line is
/// self-contained: an option's value is never taken from the next line or from the command
/// line), then the warning it earns, if any. As in curl 7.88, a line naming an option toll does
/// not know, or one that needs a value and has none on its line, is a warning and is skipped
/// (what a short-option cluster gives before the bad letter still counts: `-Id` is `-I`);
/// curl does not print the warning when `-s` is in effect at that point.
#[derive(Debug, PartialEq, Eq, Default)]
pub struct ConfigLine {
    pub args: Vec<String>,
    pub warning: Option<String>,
}

/// The arguments one config file's text stands for, line by line. `file` names it in errors
/// and warnings.
pub fn parse_config(text: &str, file: &str) -> Result<Vec<ConfigLine>, ConfigError> {
    let mut lines = Vec::new();
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
        // With dashes only white space ends the name (`--data=x` is unknown, as in curl).
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
        let value = if rest.is_empty() {
            None
        } else if let Some(quoted) = rest.strip_prefix('"') {
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
            Some(v)
        } else {
            // Unquoted: up to the first white space (curl ignores the rest, with a warning).
            Some(rest.split_whitespace().next().unwrap_or("").to_string())
        };
        let warn = |what: &str| Some(format!("{file}:{line_no}: '{name}' {what}; line ignored"));
        let mut out = ConfigLine::default();
        let needs_value = if name.starts_with("--") || !dashed {
            let long = name.strip_prefix("--").unwrap_or(name);
            let option = format!("--{long}");
            match long_kind(long) {
                None => {
                    out.warning = warn("is unknown");
                    lines.push(out);
                    continue;
                }
                Some(false) => {
                    out.args.push(option);
                    None
                }
                Some(true) => Some(option),
            }
        } else {
            // A cluster of short options: the flags before the letter that takes a value.
            match short_cluster(name) {
                Err(flags) => {
                    out.args = flags;
                    out.warning = warn("is unknown");
                    lines.push(out);
                    continue;
                }
                Ok((flags, None)) => {
                    out.args = flags;
                    None
                }
                Ok((flags, Some(option))) if option.len() > 2 => {
                    // The value is attached (`-of`): the cluster is complete.
                    out.args = flags;
                    out.args.push(option);
                    None
                }
                Ok((flags, Some(option))) => {
                    out.args = flags;
                    Some(option)
                }
            }
        };
        match (needs_value, value) {
            (Some(option), Some(value)) => out.args.extend([option, value]),
            (Some(_), None) => out.warning = warn("requires a value on its line"),
            (None, None) => {}
            // curl 7.88 applies such an option and ignores the value with a warning; here the
            // value would become a URL (`silent yes` fetching `yes`), and `fail = no` would
            // turn --fail on: an error says which line.
            (None, Some(value)) => {
                return Err(ConfigError::TakesNoValue {
                    file: file.into(),
                    line: line_no,
                    option: name.to_string(),
                    value,
                })
            }
        }
        lines.push(out);
    }
    Ok(lines)
}

/// Whether the long option `name` (no dashes) takes a value: `None` when toll does not know it.
/// Besides clap's options, the passes after this one know `--no-NAME` and `--NAME` for a flag
/// named `--no-NAME` (`negate`, which judges them; no value) and `--expand-NAME` (`vars`; a
/// value).
fn long_kind(name: &str) -> Option<bool> {
    let cmd = units::command();
    if let Some(arg) = units::long_arg(cmd, name) {
        return Some(units::consumes_next(arg));
    }
    if let Some(negated) = name.strip_prefix("no-") {
        if units::long_arg(cmd, negated).is_some() {
            return Some(false);
        }
    }
    if units::long_arg(cmd, &format!("no-{name}")).is_some() {
        return Some(false);
    }
    if let Some(target) = name.strip_prefix("expand-") {
        if units::long_arg(cmd, target).is_some() {
            return Some(true);
        }
    }
    None
}

/// A config line's `-abc`: its flags, each as `-a`, and the option that takes a value, as
/// `-c` (the value on the line is its value) or `-cVALUE` (the rest of the cluster is). `Err`
/// with the flags before it when a letter is not an option.
#[allow(clippy::type_complexity)]
fn short_cluster(name: &str) -> Result<(Vec<String>, Option<String>), Vec<String>> {
    let cmd = units::command();
    let short = |c: char| {
        cmd.get_arguments().find(|a| {
            a.get_short() == Some(c) || a.get_short_and_visible_aliases().is_some_and(|s| s.contains(&c))
        })
    };
    let mut flags = Vec::new();
    if name.len() < 2 {
        return Err(flags);
    }
    for (at, c) in name[1..].char_indices() {
        let Some(arg) = short(c) else { return Err(flags) };
        if !units::consumes_next(arg) {
            flags.push(format!("-{c}"));
            continue;
        }
        return Ok((flags, Some(format!("-{c}{}", &name[1 + at + c.len_utf8()..]))));
    }
    Ok((flags, None))
}

/// Replaces every `-K FILE` (also `-KFILE`, `-sK FILE`, `--config FILE`, `--config=FILE`) in
/// `args` (the program name first) by the arguments of FILE, nested files too. Only options
/// are replaced: `-d -K` sends the text `-K`. `read` reads a file (`-` = standard input);
/// `warn` gets the files' warnings, except where `-s` is in effect (given before, on the
/// command line or in a file, and not undone by `--no-silent`), as in curl.
pub fn expand_config_args(
    args: Vec<OsString>,
    read: &dyn Fn(&str) -> std::io::Result<String>,
    warn: &mut dyn FnMut(String),
) -> Result<Vec<OsString>, ConfigError> {
    let config = |a: &OsString| {
        let t = a.to_string_lossy();
        t.starts_with("--config") || (t.starts_with('-') && !t.starts_with("--") && t.contains('K'))
    };
    if !args.iter().skip(1).any(config) {
        return Ok(args);
    }
    let mut mute = false;
    expand(args, read, warn, 0, &mut mute)
}

fn expand(
    args: Vec<OsString>,
    read: &dyn Fn(&str) -> std::io::Result<String>,
    warn: &mut dyn FnMut(String),
    depth: usize,
    mute: &mut bool,
) -> Result<Vec<OsString>, ConfigError> {
    if depth > MAX_DEPTH {
        return Err(ConfigError::TooDeep);
    }
    let Some(all) = units::units(&args, units::command()) else { return Ok(args) };
    let mut out = vec![args[0].clone()];
    for unit in all {
        if let Unit::Opt { tokens, .. } = &unit {
            match (unit.long(), tokens[0].to_str()) {
                (Some("silent"), _) => *mute = true,
                (None, Some("--no-silent")) => *mute = false,
                _ => {}
            }
        }
        if unit.long() != Some("config") {
            out.extend(unit.into_tokens());
            continue;
        }
        let Unit::Opt { tokens, .. } = &unit else { unreachable!("an option has a long name") };
        let file = units::value(tokens).ok_or(ConfigError::MissingFile)?.to_string_lossy().into_owned();
        let text =
            read(&file).map_err(|e| ConfigError::Unreadable { file: file.clone(), why: e.to_string() })?;
        for line in parse_config(&text, &file)? {
            let mut inner = vec![args[0].clone()];
            inner.extend(line.args.into_iter().map(OsString::from));
            out.extend(expand(inner, read, warn, depth + 1, mute)?.into_iter().skip(1));
            if let Some(w) = line.warning.filter(|_| !*mute) {
                warn(w);
            }
        }
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
        parse_config(text, "f").unwrap().into_iter().flat_map(|l| l.args).collect()
    }

    /// The warnings of a config text.
    fn w(text: &str) -> Vec<String> {
        parse_config(text, "f").unwrap().into_iter().filter_map(|l| l.warning).collect()
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
        assert_eq!(p("data \"\""), ["--data", ""]);
        // With dashes, '=' is not a separator: `--data=x` is no option (curl: unknown).
        assert_eq!(p("--data=x\nurl = u"), ["--url", "u"]);
        assert_eq!(w("--data=x"), ["f:1: '--data=x' is unknown; line ignored"]);
    }

    #[test]
    fn each_line_is_self_contained() {
        // An option without its value on its line is a warning and is skipped: it never takes
        // the next line (nor, in `expand`, the command line's next argument).
        assert_eq!(p("data\nurl = \"http://h/a\""), ["--url", "http://h/a"]);
        assert_eq!(
            w("data\nurl = \"http://h/a\""),
            ["f:1: 'data' requires a value on its line; line ignored"]
        );
        for line in ["data", "data =", "data:", "-d", "output", "-o", "url", "config", "-K", "--data"] {
            let lines = parse_config(&format!("url http://h/a\n{line}"), "f").unwrap();
            assert_eq!(lines.len(), 2, "{line}");
            assert_eq!(
                lines[1],
                ConfigLine {
                    args: vec![],
                    warning: Some(format!(
                        "f:2: '{}' requires a value on its line; line ignored",
                        line.trim_end_matches([' ', '=', ':'])
                    )),
                },
                "{line}"
            );
        }
        // A cluster's flags before the letter count, as curl applies them.
        assert_eq!(
            parse_config("-Id", "f").unwrap(),
            [ConfigLine {
                args: vec!["-I".into()],
                warning: Some("f:1: '-Id' requires a value on its line; line ignored".into())
            }]
        );
        assert_eq!(p("-Idx"), ["-I", "-dx"]);
        assert_eq!(p("-Id x"), ["-I", "-d", "x"]);
    }

    #[test]
    fn an_unknown_option_is_a_warning() {
        assert_eq!(p("bogus-option\nurl = u"), ["--url", "u"]);
        assert_eq!(w("bogus-option\nurl = u"), ["f:1: 'bogus-option' is unknown; line ignored"]);
        for line in
            ["bogus x", "--bogus x", "-", "--", "= x", ": x", "-@", "no-bogus", "expand-bogus x", "--data=x"]
        {
            let lines = parse_config(&format!("url u\n{line}"), "f").unwrap();
            assert_eq!(lines[1].args, Vec::<String>::new(), "{line}");
            assert!(
                lines[1]
                    .warning
                    .as_ref()
                    .is_some_and(|w| w.starts_with("f:2: '") && w.contains("is unknown")),
                "{line}"
            );
        }
        assert_eq!(parse_config("-I@", "f").unwrap()[0].args, ["-I"]);
        // What the later passes know is known: negations, curl 8's variables.
        assert_eq!(
            p("no-silent\nno-buffer\nbuffer\nexpand-data x\nvariable a=1"),
            ["--no-silent", "--no-buffer", "--buffer", "--expand-data", "x", "--variable", "a=1"]
        );
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert_eq!(
            parse_config("url \"open", "f"),
            Err(ConfigError::Unterminated { file: "f".into(), line: 1 })
        );
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
        // Options that take one, short or long, in any spelling.
        assert_eq!(
            p("-o f\noutput: g\n-of\nexpand-data x"),
            ["-o", "f", "--output", "g", "-of", "--expand-data", "x"]
        );
        // A value attached to the cluster and another after it: the second would be a URL.
        assert!(matches!(parse_config("-of g", "f"), Err(ConfigError::TakesNoValue { line: 1, .. })));
        for junk in ["\"", "\\", "a \"\\", "::", "\u{0}"] {
            let _ = parse_config(junk, "f");
        }
    }

    #[test]
    fn warnings_unless_silent_at_that_point() {
        let read = |f: &str| match f {
            "bad.cfg" => Ok("bogus\ndata\nurl http://h/\n".to_string()),
            "s.cfg" => Ok("silent\nbogus\n".to_string()),
            "sd.cfg" => Ok("-sd\n".to_string()),
            "nested.cfg" => Ok("config bad.cfg\n".to_string()),
            _ => Err(std::io::Error::new(std::io::ErrorKind::NotFound, "missing")),
        };
        let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        let run = |line: &[&str]| {
            let mut warnings = Vec::new();
            let args = expand_config_args(os(line), &read, &mut |w| warnings.push(w)).unwrap();
            (args, warnings)
        };
        // The next command-line argument is not the value of a line's option.
        let (args, warnings) = run(&["toll", "-K", "bad.cfg", "http://h/b"]);
        assert_eq!(args, os(&["toll", "--url", "http://h/", "http://h/b"]));
        assert_eq!(
            warnings,
            [
                "bad.cfg:1: 'bogus' is unknown; line ignored",
                "bad.cfg:2: 'data' requires a value on its line; line ignored"
            ]
        );
        assert_eq!(run(&["toll", "-K", "nested.cfg"]).1.len(), 2);
        // -s before (on the command line or in a file) mutes them; -s after does not.
        assert!(run(&["toll", "-s", "-K", "bad.cfg"]).1.is_empty());
        assert!(run(&["toll", "-sK", "bad.cfg"]).1.is_empty());
        assert_eq!(run(&["toll", "-K", "bad.cfg", "-s"]).1.len(), 2);
        assert_eq!(run(&["toll", "-s", "--no-silent", "-K", "bad.cfg"]).1.len(), 2);
        assert_eq!(
            run(&["toll", "-K", "s.cfg", "-K", "bad.cfg"]),
            (os(&["toll", "--silent", "--url", "http://h/"]), vec![])
        );
        assert_eq!(run(&["toll", "-K", "sd.cfg"]), (os(&["toll", "-s"]), vec![]));
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
            expand_config_args(os(&["toll", "-v", "-K", "a.cfg", "-i"]), &read, &mut |_| {}).unwrap(),
            os(&["toll", "-v", "--silent", "--url", "http://h/", "-i"])
        );
        assert_eq!(
            expand_config_args(os(&["toll", "--config=b.cfg"]), &read, &mut |_| {}).unwrap(),
            os(&["toll", "--url", "http://h/"])
        );
        assert_eq!(
            expand_config_args(os(&["toll", "-Kb.cfg"]), &read, &mut |_| {}).unwrap(),
            os(&["toll", "--url", "http://h/"])
        );
        assert_eq!(
            expand_config_args(os(&["toll", "-K", "loop.cfg"]), &read, &mut |_| {}),
            Err(ConfigError::TooDeep)
        );
        let e = expand_config_args(os(&["toll", "-K", "nope"]), &read, &mut |_| {}).unwrap_err();
        assert_eq!(e.exit_code(), 26);
        assert_eq!(
            expand_config_args(os(&["toll", "-K"]), &read, &mut |_| {}),
            Err(ConfigError::MissingFile)
        );
        assert_eq!(
            expand_config_args(os(&["toll", "--key"]), &read, &mut |_| {}).unwrap(),
            os(&["toll", "--key"])
        );
        // Bundled, as curl takes it; and only where it is an option.
        assert_eq!(
            expand_config_args(os(&["toll", "-sK", "b.cfg", "-d", "-K", "-sKb.cfg"]), &read, &mut |_| {})
                .unwrap(),
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
        let from_config = expand_config_args(os(&["toll", "-K", "c.cfg"]), &read, &mut |_| {}).unwrap();
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
