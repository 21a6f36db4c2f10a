//! `toll`: parse the command line, run it, map the error to its documented exit code.

use clap::Parser;
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
    let cli = toll::cli::Cli::parse_from(args);
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
