//! `toll`: parse the command line, run it, map the error to its documented exit code.

use std::process::ExitCode;
use toll::term::sanitize;

fn main() -> ExitCode {
    // -K/--config files become arguments before clap sees them.
    let read = |f: &str| {
        if f == "-" {
            std::io::read_to_string(std::io::stdin())
        } else {
            std::fs::read(f).map(|b| String::from_utf8_lossy(&b).into_owned())
        }
    };
    let args = match toll::cli::expand_config_args(std::env::args_os().collect(), &read) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("toll: error: {}", sanitize(&e.to_string()));
            return ExitCode::from(e.exit_code());
        }
    };
    let cli = match toll::cli::parse_cli(args) {
        Ok(cli) => cli,
        // clap's messages echo the offending value: not for options that may hold a secret.
        Err(e) => match toll::cli::parse_error_text(&e) {
            Some(text) => {
                eprint!("{}", sanitize_lines(&text));
                return ExitCode::from(2);
            }
            None => e.exit(),
        },
    };
    toll::app::hide_command_line_passwords(&cli);
    let show = toll::app::errors_shown(&cli);
    match toll::app::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if show {
                eprintln!("toll: error: {}", sanitize(&e.message));
                if let Some(hint) = &e.hint {
                    eprintln!("toll: hint: {}", sanitize(hint));
                }
            }
            ExitCode::from(e.exit.code())
        }
    }
}

/// [`sanitize`] per line (the reason may come from any value parser).
fn sanitize_lines(text: &str) -> String {
    text.lines().map(|l| sanitize(l) + "\n").collect()
}
