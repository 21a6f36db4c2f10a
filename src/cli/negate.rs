//! curl's `--no-` options: every boolean option has a `--no-NAME` form that turns it off again
//! (`--no-location` after a `-L` from a `-K` file or an alias), and the options curl names
//! `--no-NAME` (`--no-buffer`, `--no-keepalive`, `--no-sessionid`, `--no-alpn`, `--no-clobber`,
//! `--no-progress-meter`, …) have a `--NAME` form that turns them back on.
//!
//! This pass runs before clap: a negation takes out the earlier occurrences of its option and
//! disappears itself, so clap only ever sees what is on. Its reach is curl 7.88's: a global
//! option (`-s`, `-v`, …, see `next`) is turned off for every operation of the line, any other
//! one only for the operation it is given in (since the last `--next`). What curl does
//! differently for a few options is done here too:
//! - `--no-anyauth` does nothing (curl: "simply doesn't touch it");
//! - `--no-location`, `--no-follow` and `--no-location-trusted` are the `follow` pass's, which
//!   runs before this one (curl keeps one switch for `-L`, `--location-trusted` and `--follow`);
//! - `--no-remote-name` is an output of its own that goes to standard output, like `-o -` (it
//!   takes the next URL away from `--remote-name-all`);
//! - `--no-head` after `-I` is an error, as curl's two request methods are;
//! - `--no-NAME` for an option that is not a boolean (`--no-http2`, `--no-max-time`) is an
//!   error, exit 2, as in curl.
//!
//! Toll's own flags (`--wpad`, `--no-prompt`, `--no-save`) take the same forms.
//!
//! Where curl keeps several flags in one bit set (`--anyauth --no-digest` is "any but
//! Digest"), toll's options are one choice each: `--no-digest` only takes out an earlier
//! `--digest`.

use super::units::{self, Unit};
use std::ffi::OsString;

/// A `--no-` form toll refuses (exit 2).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NegationError {
    #[error("option {0}: used '--no-' for an option that isn't a boolean")]
    NotBoolean(String),
    #[error("option {0}: is badly used here (it contradicts {1} given before it)")]
    Contradicts(String, String),
}

/// The options toll has that curl 7.88 refuses a `--no-` form for, though they take no value:
/// each chooses one of several settings rather than turning something on.
const NOT_BOOLEAN: [&str; 13] = [
    "http1.0",
    "http1.1",
    "http2",
    "http2-prior-knowledge",
    "ipv4",
    "ipv6",
    "tlsv1",
    "tlsv1.0",
    "tlsv1.1",
    "tlsv1.2",
    "tlsv1.3",
    "proxy-tlsv1",
    "next",
];

/// The `--NAME` forms of toll's flags named `--no-NAME` that are not options of their own.
/// Only a line with one of these or a `--no-` token is walked (a unit test keeps this list
/// complete).
const POSITIVES: [&str; 9] =
    ["buffer", "progress-meter", "keepalive", "sessionid", "alpn", "npn", "clobber", "prompt", "save"];

/// What a negating token does.
enum Action {
    /// Take out the earlier occurrences of these options (long names) and drop the token.
    Remove(Vec<String>),
    /// Drop the token.
    Nothing,
    /// Put these tokens in its place.
    Replace(Vec<OsString>),
    /// Refused when this option was given before it in the same operation.
    RefuseAfter(&'static str),
}

/// `args` (program name first) with curl's `--no-NAME` and `--NAME` negations applied.
pub fn apply_negations(args: Vec<OsString>) -> Result<Vec<OsString>, NegationError> {
    if !args.iter().skip(1).any(may_negate) {
        return Ok(args);
    }
    let cmd = units::command();
    let Some(all) = units::units(&args, cmd) else { return Ok(args) };
    let mut out: Vec<Unit> = Vec::with_capacity(all.len());
    for unit in all {
        let action = match &unit {
            Unit::Opt { arg: None, tokens } if tokens.len() == 1 => match tokens[0].to_str() {
                Some(t) => action(cmd, t)?,
                None => None,
            },
            _ => None,
        };
        let Some(action) = action else {
            out.push(unit);
            continue;
        };
        let token = unit.into_tokens().remove(0).to_string_lossy().into_owned();
        // The current operation's units start after the last `--next`.
        let piece = out.iter().rposition(|u| matches!(u, Unit::Next)).map_or(0, |i| i + 1);
        match action {
            Action::Nothing => {}
            Action::Replace(tokens) => out.push(Unit::Opt { arg: None, tokens }),
            Action::RefuseAfter(long) => {
                if out[piece..].iter().any(|u| u.long() == Some(long)) {
                    return Err(NegationError::Contradicts(token, format!("--{long}")));
                }
            }
            Action::Remove(longs) => {
                let mut i = 0;
                out.retain(|u| {
                    let keep = !u.long().is_some_and(|l| {
                        longs.iter().any(|x| x == l) && (i >= piece || super::next::is_global(l))
                    });
                    i += 1;
                    keep
                });
            }
        }
    }
    let mut line = vec![args[0].clone()];
    line.extend(out.into_iter().flat_map(Unit::into_tokens));
    Ok(line)
}

/// Whether `token` could be a negation: a cheap test, so a line without one is not walked.
fn may_negate(token: &OsString) -> bool {
    let Some(long) = token.to_str().and_then(|t| t.strip_prefix("--")) else { return false };
    long.starts_with("no-") || POSITIVES.contains(&long)
}

/// What the token `--LONG` (unknown to clap) does, if it negates an option.
fn action(cmd: &clap::Command, token: &str) -> Result<Option<Action>, NegationError> {
    let Some(long) = token.strip_prefix("--") else { return Ok(None) };
    if long.contains('=') {
        return Ok(None);
    }
    if let Some(name) = long.strip_prefix("no-") {
        let Some(arg) = units::long_arg(cmd, name) else { return Ok(None) };
        let canonical = arg.get_long().unwrap_or(name);
        if !is_flag(arg) || NOT_BOOLEAN.contains(&canonical) {
            return Err(NegationError::NotBoolean(token.to_string()));
        }
        return Ok(Some(match canonical {
            "anyauth" => Action::Nothing,
            "remote-name" => Action::Replace(vec!["-o".into(), "-".into()]),
            "head" => Action::RefuseAfter("head"),
            _ => Action::Remove(vec![canonical.into()]),
        }));
    }
    let negative = format!("no-{long}");
    match units::long_arg(cmd, &negative) {
        Some(arg) if is_flag(arg) => {
            Ok(Some(Action::Remove(vec![arg.get_long().unwrap_or(&negative).into()])))
        }
        _ => Ok(None),
    }
}

/// Whether the option takes no value (`-O` is kept as a list of `true`s, one per use).
fn is_flag(arg: &clap::Arg) -> bool {
    !arg.get_action().takes_values() || arg.get_num_args().is_some_and(|n| n.max_values() == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(line: &[&str]) -> Result<Vec<String>, NegationError> {
        let args = std::iter::once("toll").chain(line.iter().copied()).map(OsString::from).collect();
        apply_negations(args)
            .map(|l| l.into_iter().skip(1).map(|a| a.to_string_lossy().into_owned()).collect())
    }

    #[test]
    fn a_negation_takes_out_the_options_earlier_occurrences() {
        assert_eq!(apply(&["-sL", "--no-location", "http://a/"]).unwrap(), ["-s", "http://a/"]);
        assert_eq!(apply(&["-L", "--location", "--no-location", "-L", "u"]).unwrap(), ["-L", "u"]);
        assert_eq!(apply(&["-fsSL", "--no-silent", "u"]).unwrap(), ["-f", "-S", "-L", "u"]);
        assert_eq!(apply(&["-vv", "--no-verbose", "u"]).unwrap(), ["u"]);
        assert_eq!(apply(&["-k", "--no-insecure", "u"]).unwrap(), ["u"]);
        // Its own flag toll knows under the negative name: `--buffer` undoes `-N`.
        assert_eq!(apply(&["-sN", "--buffer", "u"]).unwrap(), ["-s", "u"]);
        assert_eq!(apply(&["--no-keepalive", "--keepalive", "u"]).unwrap(), ["u"]);
        assert_eq!(apply(&["--no-clobber", "--clobber", "-o", "f", "u"]).unwrap(), ["-o", "f", "u"]);
        // Nothing to take out: the negation just goes.
        assert_eq!(apply(&["--no-fail", "u"]).unwrap(), ["u"]);
    }

    #[test]
    fn values_are_not_options() {
        assert_eq!(apply(&["-d", "--no-location", "-L", "u"]).unwrap(), ["-d", "--no-location", "-L", "u"]);
        assert_eq!(
            apply(&["-H", "X: 1", "--no-include", "u", "--", "--no-x"]).unwrap(),
            ["-H", "X: 1", "u", "--", "--no-x"]
        );
        assert_eq!(apply(&["-L", "--data=--no-location", "u"]).unwrap(), ["-L", "--data=--no-location", "u"]);
    }

    #[test]
    fn the_reach_is_the_operation_or_for_a_global_option_the_line() {
        assert_eq!(
            apply(&["-i", "u1", "--next", "--no-include", "-i", "u2", "--no-include"]).unwrap(),
            ["-i", "u1", "--next", "u2"]
        );
        assert_eq!(apply(&["-s", "u1", "-:", "--no-silent", "u2"]).unwrap(), ["u1", "--next", "u2"]);
    }

    #[test]
    fn curls_special_cases() {
        assert_eq!(apply(&["--anyauth", "--no-anyauth", "u"]).unwrap(), ["--anyauth", "u"]);
        assert_eq!(
            apply(&["--remote-name-all", "--no-remote-name", "u1", "u2"]).unwrap(),
            ["--remote-name-all", "-o", "-", "u1", "u2"]
        );
        assert_eq!(apply(&["--no-head", "u"]).unwrap(), ["u"]);
        assert_eq!(
            apply(&["-I", "--no-head", "u"]),
            Err(NegationError::Contradicts("--no-head".into(), "--head".into()))
        );
    }

    #[test]
    fn only_booleans_have_a_no_form() {
        for bad in ["--no-http2", "--no-tlsv1.2", "--no-max-time", "--no-output", "--no-next", "--no-ipv4"] {
            assert_eq!(apply(&[bad, "u"]), Err(NegationError::NotBoolean(bad.into())), "{bad}");
        }
        // Unknown either way: left for clap to report.
        assert_eq!(apply(&["--no-such-thing", "u"]).unwrap(), ["--no-such-thing", "u"]);
        assert_eq!(apply(&["--no-location=1", "u"]).unwrap(), ["--no-location=1", "u"]);
    }

    #[test]
    fn subcommands_are_left_alone() {
        assert_eq!(
            apply(&["run", "--", "sh", "--no-location"]).unwrap(),
            ["run", "--", "sh", "--no-location"]
        );
        assert_eq!(apply(&["serve", "--no-prompt"]).unwrap(), ["serve", "--no-prompt"]);
    }

    #[test]
    fn the_positive_forms_are_all_listed() {
        let cmd = units::command();
        let mut positives: Vec<&str> = cmd
            .get_arguments()
            .filter(|a| is_flag(a))
            .filter_map(|a| a.get_long()?.strip_prefix("no-"))
            .filter(|p| units::long_arg(cmd, p).is_none())
            .collect();
        positives.sort_unstable();
        let mut listed = POSITIVES.to_vec();
        listed.sort_unstable();
        assert_eq!(positives, listed);
    }
}
