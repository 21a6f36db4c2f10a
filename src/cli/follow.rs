//! curl keeps one switch for whether and how redirects are followed: `-L`/`--location` and
//! `--location-trusted` set it to "follow", curl 8.16's `--follow` to "follow as HTTP says",
//! `--no-location`, `--no-follow` and `--no-location-trusted` turn it off, and the last of them
//! in an operation wins. `--location-trusted` also sets a switch of its own (credentials go to
//! every host), which only `--no-location-trusted` turns off again: `--location-trusted
//! --no-location` follows nothing, and a `-L` after that follows with the credentials.
//!
//! clap has one flag for each, so this pass (before the `--no-` pass) leaves clap what the
//! switches ended as: at most one of `--location` and `--follow` per operation, and
//! `--location-trusted` for the credentials only (toll's clap flag means just that).

use super::units::{self, Unit};
use std::ffi::OsString;

/// The tokens this pass reads; a line with none of them (`-L` alone is already what clap needs)
/// is left as it is, unwalked.
const TRIGGERS: [&str; 5] =
    ["--follow", "--no-follow", "--location-trusted", "--no-location", "--no-location-trusted"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Follow {
    Off,
    Location,
    PerSpec,
}

/// `args` (program name first) with each operation's redirect switches resolved.
pub fn apply_follow(args: Vec<OsString>) -> Vec<OsString> {
    if !args.iter().skip(1).any(|a| a.to_str().is_some_and(|t| TRIGGERS.contains(&t))) {
        return args;
    }
    let cmd = units::command();
    let Some(all) = units::units(&args, cmd) else { return args };
    let mut line = vec![args[0].clone()];
    let mut operation: Vec<Unit> = Vec::new();
    for unit in all {
        if let Unit::Next = unit {
            line.extend(resolve(std::mem::take(&mut operation)));
            line.extend(unit.into_tokens());
        } else {
            operation.push(unit);
        }
    }
    line.extend(resolve(operation));
    line
}

/// One operation's tokens with its switches taken out and their outcome put where the first
/// of them stood.
fn resolve(units: Vec<Unit>) -> Vec<OsString> {
    let (mut follow, mut trusted, mut at) = (Follow::Off, false, None);
    let mut out = Vec::with_capacity(units.len());
    for unit in units {
        let change = match (&unit, unit.long()) {
            (_, Some("location")) => Some((Follow::Location, None)),
            (_, Some("location-trusted")) => Some((Follow::Location, Some(true))),
            (_, Some("follow")) => Some((Follow::PerSpec, None)),
            (Unit::Opt { arg: None, tokens }, None) if tokens.len() == 1 => match tokens[0].to_str() {
                Some("--no-location" | "--no-follow") => Some((Follow::Off, None)),
                Some("--no-location-trusted") => Some((Follow::Off, Some(false))),
                _ => None,
            },
            _ => None,
        };
        match change {
            Some((f, t)) => {
                follow = f;
                trusted = t.unwrap_or(trusted);
                at.get_or_insert(out.len());
            }
            None => out.extend(unit.into_tokens()),
        }
    }
    let Some(at) = at else { return out };
    let mut outcome: Vec<OsString> = Vec::new();
    if trusted {
        outcome.push("--location-trusted".into());
    }
    match follow {
        Follow::Off => {}
        Follow::Location => outcome.push("--location".into()),
        Follow::PerSpec => outcome.push("--follow".into()),
    }
    out.splice(at..at, outcome);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(args: &[&str]) -> Vec<String> {
        let mut line = vec![OsString::from("toll")];
        line.extend(args.iter().map(OsString::from));
        apply_follow(line).into_iter().skip(1).map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn the_last_switch_of_an_operation_wins() {
        assert_eq!(apply(&["-sL", "u"]), ["-sL", "u"], "nothing to resolve");
        assert_eq!(apply(&["-L", "--follow", "u"]), ["--follow", "u"]);
        assert_eq!(apply(&["--follow", "-sL", "u"]), ["--location", "-s", "u"]);
        assert_eq!(apply(&["-L", "--no-follow", "u"]), ["u"]);
        assert_eq!(apply(&["--follow", "--no-location", "-s", "u"]), ["-s", "u"]);
        assert_eq!(apply(&["--no-location", "--follow", "u"]), ["--follow", "u"]);
    }

    #[test]
    fn location_trusted_is_two_switches() {
        assert_eq!(apply(&["--location-trusted", "u"]), ["--location-trusted", "--location", "u"]);
        assert_eq!(apply(&["--location-trusted", "--no-location", "u"]), ["--location-trusted", "u"]);
        assert_eq!(
            apply(&["--location-trusted", "--no-location", "-L", "u"]),
            ["--location-trusted", "--location", "u"]
        );
        assert_eq!(apply(&["-L", "--location-trusted", "--no-location-trusted", "u"]), ["u"]);
        assert_eq!(apply(&["--location-trusted", "--follow", "u"]), ["--location-trusted", "--follow", "u"]);
    }

    #[test]
    fn each_operation_has_its_own_switch_and_values_are_not_options() {
        assert_eq!(
            apply(&["--follow", "a", "--next", "-L", "--no-location", "b"]),
            ["--follow", "a", "--next", "b"]
        );
        assert_eq!(apply(&["-d", "--follow", "-L", "u"]), ["-d", "--follow", "--location", "u"]);
        assert_eq!(apply(&["-L", "-d", "--no-location", "u"]), ["--location", "-d", "--no-location", "u"]);
        assert_eq!(apply(&["run", "--", "curl", "--follow"]), ["run", "--", "curl", "--follow"]);
    }
}
