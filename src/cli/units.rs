//! A command line taken apart the way clap will read it, for the passes that must change it
//! before clap does (`-K` and `-H @FILE` in `curlrc`, variables in `vars`, curl's `--no-`
//! options in `negate`, `--next` in `next`): which tokens are options, which are their values
//! (as in curl an option's value is the next argument whatever it looks like: `-d --next`
//! sends the text `--next`; `parse_cli` lets clap take such values too), and which are URLs.
//!
//! Walking uses clap's own definition of each option, so a new option needs nothing here.

use std::ffi::{OsStr, OsString};

/// One piece of a command line.
pub(super) enum Unit<'c> {
    /// An option and its value, as tokens clap reads the same way as the original ones
    /// (`-sSLo FILE` gives `-s`, `-S`, `-L`, and `-o FILE`). `arg` is `None` for an option
    /// toll does not know, left as it was for clap (or a later pass) to judge.
    Opt { arg: Option<&'c clap::Arg>, tokens: Vec<OsString> },
    /// A URL (or other positional argument).
    Positional(OsString),
    /// `--next` or `-:`.
    Next,
    /// `--` and everything after it.
    Rest(Vec<OsString>),
}

impl Unit<'_> {
    /// The tokens this unit stands for, in order.
    pub(super) fn into_tokens(self) -> Vec<OsString> {
        match self {
            Unit::Opt { tokens, .. } => tokens,
            Unit::Positional(t) => vec![t],
            Unit::Next => vec![OsString::from("--next")],
            Unit::Rest(rest) => rest,
        }
    }

    /// The long name of the option this unit gives, if toll knows it.
    pub(super) fn long(&self) -> Option<&str> {
        match self {
            Unit::Opt { arg: Some(arg), .. } => arg.get_long(),
            _ => None,
        }
    }
}

/// toll's command, built for walking (so `get_arguments` includes `--help` and `--version`);
/// built once per process, for all the passes.
pub(super) fn command() -> &'static clap::Command {
    static BUILT: std::sync::OnceLock<clap::Command> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let mut cmd = <super::Cli as clap::CommandFactory>::command();
        cmd.build();
        cmd
    })
}

/// The units of `args` (program name first, not included), or `None` when the line runs a
/// subcommand (`toll serve …`, `toll run -- CMD …`): those are left to clap as they are.
pub(super) fn units<'c>(args: &[OsString], cmd: &'c clap::Command) -> Option<Vec<Unit<'c>>> {
    units_with(args, cmd, &|_| false)
}

/// [`units`] where a long option unknown to clap takes the next token as its value when
/// `takes_value(name)` says so (`--expand-url VALUE`, for the pass that replaces those).
pub(super) fn units_with<'c>(
    args: &[OsString],
    cmd: &'c clap::Command,
    takes_value: &dyn Fn(&str) -> bool,
) -> Option<Vec<Unit<'c>>> {
    let mut out = Vec::new();
    let mut positional_seen = false;
    let mut i = 1;
    while i < args.len() {
        let token = &args[i];
        let text = token.to_string_lossy();
        i += 1;
        if text == "--" {
            out.push(Unit::Rest(args[i - 1..].to_vec()));
            break;
        }
        if text == "--next" || text == "-:" {
            out.push(Unit::Next);
            continue;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((n, _)) => (n, true),
                None => (long, false),
            };
            let arg = long_arg(cmd, name);
            let mut tokens = vec![token.clone()];
            let consumes = match arg {
                Some(arg) => consumes_next(arg),
                None => takes_value(name),
            };
            if !attached && consumes && i < args.len() {
                tokens.push(args[i].clone());
                i += 1;
            }
            out.push(Unit::Opt { arg, tokens });
            continue;
        }
        if text.len() > 1 && text.starts_with('-') {
            // A cluster of short options (`-sSL`, `-dDATA`, `-o FILE`), taken apart, unless a
            // letter toll does not know comes before any value: then the whole token is left
            // as it was for clap to report (a piece of it could read as something else:
            // `-:-x` is not `-:` and `--x`).
            let short = |c: char| {
                cmd.get_arguments().find(|a| {
                    a.get_short() == Some(c)
                        || a.get_short_and_visible_aliases().is_some_and(|s| s.contains(&c))
                })
            };
            let known = text[1..]
                .chars()
                .map(short)
                .take_while(|a| !a.is_some_and(consumes_next))
                .all(|a| a.is_some());
            if !known {
                out.push(Unit::Opt { arg: None, tokens: vec![token.clone()] });
                continue;
            }
            for (at, c) in text[1..].char_indices() {
                let Some(arg) = short(c) else { break };
                if arg.get_long() == Some("next") {
                    // `-s:` is `-s -:`, as in curl.
                    out.push(Unit::Next);
                    continue;
                }
                if !consumes_next(arg) {
                    out.push(Unit::Opt { arg: Some(arg), tokens: vec![OsString::from(format!("-{c}"))] });
                    continue;
                }
                let rest = &text[1 + at + c.len_utf8()..];
                let mut tokens = Vec::new();
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
                out.push(Unit::Opt { arg: Some(arg), tokens });
                break;
            }
            continue;
        }
        if !positional_seen && is_subcommand(cmd, token) {
            return None;
        }
        positional_seen = true;
        out.push(Unit::Positional(token.clone()));
    }
    Some(out)
}

/// The value of an option unit: the token after the option (`-o FILE`), or the text after
/// `=` (`--output=FILE`) or after the letter (`-oFILE`). `None` when it has none.
pub(super) fn value(tokens: &[OsString]) -> Option<OsString> {
    if let Some(v) = tokens.get(1) {
        return Some(v.clone());
    }
    let t = tokens.first()?.to_str()?;
    match t.strip_prefix("--") {
        Some(long) => long.split_once('=').map(|(_, v)| OsString::from(v)),
        None => t.get(2..).filter(|v| !v.is_empty()).map(OsString::from),
    }
}

/// The option whose long name (or alias) is `name`.
pub(super) fn long_arg<'c>(cmd: &'c clap::Command, name: &str) -> Option<&'c clap::Arg> {
    cmd.get_arguments()
        .find(|a| a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name)))
}

/// Whether the option takes its value from the next token when none is attached.
pub(super) fn consumes_next(arg: &clap::Arg) -> bool {
    arg.get_action().takes_values() && arg.get_num_args().is_some_and(|n| n.min_values() > 0)
}

fn is_subcommand(cmd: &clap::Command, token: &OsStr) -> bool {
    let Some(t) = token.to_str() else { return false };
    cmd.get_subcommands().any(|s| s.get_name() == t || s.get_all_aliases().any(|a| a == t))
}
