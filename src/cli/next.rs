//! curl's `-:`/`--next`: one command line, several operations, each with its own options. The
//! command line is cut at each `--next` before clap reads it, and every piece becomes a command
//! line of its own, parsed and run in turn (`main`).
//!
//! As in curl 7.88 (`tool_getparam.c`), the global options — the ones curl keeps in its global
//! config (`-v`, `--trace`, `--trace-ascii`, `--trace-time`, `--stderr`, `-s`, `-S`, `-#`,
//! `--no-progress-meter`, `--styled-output`, `--fail-early`, `-Z`, `--parallel-max`,
//! `--parallel-max-host` (curl 8.16),
//! `--parallel-immediate`, `--rate`) — hold for every operation wherever they are given; every other
//! option holds for its own piece only.
//!
//! Cutting needs to know which tokens are option values (`-d --next` sends the text
//! `--next`), so the command line is walked as clap reads it (`units`).
//! A subcommand (`toll serve …`, `toll run -- CMD …`) and everything after `--` are never cut.

use super::units::{self, Unit};
use std::ffi::OsString;

/// Long names of curl's global options that toll has.
const GLOBAL: [&str; 17] = [
    "verbose",
    "trace",
    "trace-ascii",
    "trace-time",
    "stderr",
    "silent",
    "show-error",
    "progress-bar",
    "no-progress-meter",
    "styled-output",
    "no-styled-output",
    "fail-early",
    "parallel",
    "parallel-max",
    "parallel-max-host",
    "parallel-immediate",
    "rate",
];

/// The operations `args` (program name first) stands for: itself when it has no `--next`,
/// else one command line per piece, each with the program name, the global options of every
/// piece, and its own. A piece with nothing of its own (`URL --next`) is `None`: curl runs the
/// others and fails that one with "no URL specified" (exit 2).
pub fn split_next(args: Vec<OsString>) -> Vec<Option<Vec<OsString>>> {
    let cmd = units::command();
    let Some(pieces) = pieces(&args, cmd) else { return vec![Some(args)] };
    let globals: Vec<OsString> = pieces.iter().flat_map(|p| p.globals.iter().cloned()).collect();
    pieces
        .into_iter()
        .map(|piece| {
            (!piece.own.is_empty()).then(|| {
                let mut line = vec![args[0].clone()];
                line.extend(globals.iter().cloned());
                line.extend(piece.own);
                line
            })
        })
        .collect()
}

/// Whether `long` names one of curl's global options.
pub(super) fn is_global(long: &str) -> bool {
    GLOBAL.contains(&long)
}

#[derive(Default)]
struct Piece {
    globals: Vec<OsString>,
    own: Vec<OsString>,
}

/// The pieces of `args`, or `None` when it is not cut (no `--next`, or a subcommand).
fn pieces(args: &[OsString], cmd: &clap::Command) -> Option<Vec<Piece>> {
    let mut pieces = vec![Piece::default()];
    for unit in units::units(args, cmd)? {
        if let Unit::Next = unit {
            pieces.push(Piece::default());
            continue;
        }
        let piece = pieces.last_mut().expect("one piece at least");
        let global = unit.long().is_some_and(is_global);
        if global { &mut piece.globals } else { &mut piece.own }.extend(unit.into_tokens());
    }
    (pieces.len() > 1).then_some(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The operations' arguments after the program name; an empty one is `["<none>"]`.
    fn split(line: &[&str]) -> Vec<Vec<String>> {
        let args = std::iter::once("toll").chain(line.iter().copied()).map(OsString::from).collect();
        split_next(args)
            .into_iter()
            .map(|l| match l {
                Some(l) => l.into_iter().skip(1).map(|a| a.to_string_lossy().into_owned()).collect(),
                None => vec!["<none>".to_string()],
            })
            .collect()
    }

    #[test]
    fn a_line_without_next_is_left_as_it_is() {
        let lines = split(&["-sSL", "-dx", "http://a/"]);
        assert_eq!(lines, [["-sSL", "-dx", "http://a/"]]);
    }

    #[test]
    fn pieces_keep_their_own_options_and_share_the_global_ones() {
        let lines = split(&["-sL", "-H", "X: 1", "http://a/", "--next", "-d", "x=1", "-v", "http://b/"]);
        assert_eq!(
            lines,
            [vec!["-s", "-v", "-L", "-H", "X: 1", "http://a/"], vec!["-s", "-v", "-d", "x=1", "http://b/"],]
        );
        let lines = split(&["--parallel-max", "3", "http://a/", "-:", "--fail-early", "-ofile", "http://b/"]);
        assert_eq!(
            lines,
            [
                vec!["--parallel-max", "3", "--fail-early", "http://a/"],
                vec!["--parallel-max", "3", "--fail-early", "-ofile", "http://b/"],
            ]
        );
    }

    #[test]
    fn option_values_and_what_follows_dashdash_are_never_cut() {
        let lines = split(&["-d", "--next", "http://a/", "--data=-:", "-H-:", "http://b/"]);
        assert_eq!(lines, [["-d", "--next", "http://a/", "--data=-:", "-H-:", "http://b/"]]);
        let lines = split(&["http://a/", "--next", "--", "--next"]);
        assert_eq!(lines, [vec!["http://a/"], vec!["--", "--next"]]);
    }

    #[test]
    fn subcommands_are_never_cut() {
        let lines = split(&["run", "--", "sh", "-c", "x", "--next", "y"]);
        assert_eq!(lines, [["run", "--", "sh", "-c", "x", "--next", "y"]]);
        let lines = split(&["serve", "--next"]);
        assert_eq!(lines, [["serve", "--next"]]);
    }

    #[test]
    fn next_in_a_cluster_cuts_too() {
        let lines = split(&["-s:", "http://a/", "-i:v", "http://b/"]);
        assert_eq!(
            lines,
            [vec!["<none>"], vec!["-s", "-v", "http://a/", "-i"], vec!["-s", "-v", "http://b/"]]
        );
        // A cluster with a letter toll does not know is left whole for clap to refuse (found by
        // the cli_prepare fuzz target: `-:-expand-data` was cut into `-:` and `--expand-data`).
        let lines = split(&["http://a/", "-:-expand-data", "x", "http://b/"]);
        assert_eq!(lines, [vec!["http://a/", "-:-expand-data", "x", "http://b/"]]);
    }

    #[test]
    fn an_empty_piece_is_an_operation_without_a_url() {
        let lines = split(&["-s", "http://a/", "--next"]);
        assert_eq!(lines, [vec!["-s", "http://a/"], vec!["<none>"]]);
        let lines = split(&["--next", "-v", "http://a/"]);
        assert_eq!(lines, [vec!["<none>"], vec!["-v", "http://a/"]]);
    }
}
