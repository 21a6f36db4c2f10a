//! `toll`: parse the command line, run it, map the error to its documented exit code.

use clap::Parser;
use std::process::ExitCode;
use toll::term::sanitize;

fn main() -> ExitCode {
    let cli = toll::cli::Cli::parse();
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
