//! curl's `-:`/`--next`: one command line, several operations, each with its own options. The
//! command line is cut at each `--next` before clap reads it, and every piece becomes a command
//! line of its own, parsed and run in turn (`main`).
//!
//! As in curl 7.88 (`tool_getparam.c`), the global options — the ones curl keeps in its global
//! config (`-v`, `--trace`, `--trace-ascii`, `--trace-time`, `--stderr`, `-s`, `-S`, `-#`,
//! `--no-progress-meter`, `--styled-output`, `--fail-early`, `-Z`, `--parallel-max`,
//! `--parallel-immediate`, `--rate`) — hold for every operation wherever they are given; every other
//! option holds for its own piece only.
//!
//! Cutting needs to know which tokens are option values (`-d --next` sends the text
//! `--next`), so the command line is walked with clap's own definition of each option.
//! A subcommand (`toll serve …`, `toll run -- CMD …`) and everything after `--` are never cut.

use std::ffi::{OsStr, OsString};

/// Long names of curl's global options that toll has.
const GLOBAL: [&str; 16] = [
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
    "parallel-immediate",
    "rate",
];

/// The operations `args` (program name first) stands for: itself when it has no `--next`,
/// else one command line per piece, each with the program name, the global options of every
/// piece, and its own. A piece with nothing of its own (`URL --next`) is `None`: curl runs the
/// others and fails that one with "no URL specified" (exit 2).
pub fn split_next(args: Vec<OsString>) -> Vec<Option<Vec<OsString>>> {
    let mut cmd = <super::Cli as clap::CommandFactory>::command();
    cmd.build();
    let Some(pieces) = pieces(&args, &cmd) else { return vec![Some(args)] };
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

#[derive(Default)]
struct Piece {
    globals: Vec<OsString>,
    own: Vec<OsString>,
}

/// The pieces of `args`, or `None` when it is not cut (no `--next`, or a subcommand).
fn pieces(args: &[OsString], cmd: &clap::Command) -> Option<Vec<Piece>> {
    let mut pieces = vec![Piece::default()];
    let mut positional_seen = false;
    let mut cut = false;
    let mut i = 1;
    while i < args.len() {
        let token = &args[i];
        let text = token.to_string_lossy();
        let piece = pieces.last_mut().expect("one piece at least");
        i += 1;
        if text == "--" {
            piece.own.extend(args[i - 1..].iter().cloned());
            break;
        }
        if text == "--next" || text == "-:" {
            pieces.push(Piece::default());
            cut = true;
            continue;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((n, _)) => (n, true),
                None => (long, false),
            };
            let arg = cmd.get_arguments().find(|a| {
                a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name))
            });
            let mut tokens = vec![token.clone()];
            if let Some(arg) = arg {
                if !attached && consumes_next(arg) && i < args.len() {
                    tokens.push(args[i].clone());
                    i += 1;
                }
            }
            let global = arg.and_then(clap::Arg::get_long).is_some_and(|l| GLOBAL.contains(&l));
            if global { &mut piece.globals } else { &mut piece.own }.extend(tokens);
            continue;
        }
        if text.len() > 1 && text.starts_with('-') {
            // A cluster of short options (`-sSL`, `-dDATA`, `-o FILE`), taken apart.
            for (at, c) in text[1..].char_indices() {
                let arg = cmd.get_arguments().find(|a| {
                    a.get_short() == Some(c)
                        || a.get_short_and_visible_aliases().is_some_and(|s| s.contains(&c))
                });
                let Some(arg) = arg else {
                    // Unknown to toll: left as it was for clap to report.
                    piece.own.push(OsString::from(format!("-{}", &text[1 + at..])));
                    break;
                };
                let mut tokens = Vec::new();
                let mut ends = false;
                if consumes_next(arg) {
                    let rest = &text[1 + at + c.len_utf8()..];
                    if rest.is_empty() {
                        tokens.push(OsString::from(format!("-{c}")));
                        if i < args.len() {
                            tokens.push(args[i].clone());
                            i += 1;
                        }
                    } else if text.len() == token.len() {
                        tokens.push(OsString::from(format!("-{c}{rest}")));
                    } else {
                        // Not UTF-8: the token as given (its value is in it).
                        tokens.push(token.clone());
                    }
                    ends = true;
                } else {
                    tokens.push(OsString::from(format!("-{c}")));
                }
                let global = arg.get_long().is_some_and(|l| GLOBAL.contains(&l));
                if global { &mut piece.globals } else { &mut piece.own }.extend(tokens);
                if ends {
                    break;
                }
            }
            continue;
        }
        if !positional_seen && is_subcommand(cmd, token) {
            return None;
        }
        positional_seen = true;
        piece.own.push(token.clone());
    }
    cut.then_some(pieces)
}

/// Whether the option takes its value from the next token when none is attached.
fn consumes_next(arg: &clap::Arg) -> bool {
    arg.get_action().takes_values() && arg.get_num_args().is_some_and(|n| n.min_values() > 0)
}

fn is_subcommand(cmd: &clap::Command, token: &OsStr) -> bool {
    let Some(t) = token.to_str() else { return false };
    cmd.get_subcommands().any(|s| s.get_name() == t || s.get_all_aliases().any(|a| a == t))
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
    fn an_empty_piece_is_an_operation_without_a_url() {
        let lines = split(&["-s", "http://a/", "--next"]);
        assert_eq!(lines, [vec!["-s", "http://a/"], vec!["<none>"]]);
        let lines = split(&["--next", "-v", "http://a/"]);
        assert_eq!(lines, [vec!["<none>"], vec!["-v", "http://a/"]]);
    }
}
