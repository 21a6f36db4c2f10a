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
    // curl's `--no-NAME` forms take back what was turned on before them.
    let args = match toll::cli::apply_negations(args) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("toll: error: {}", sanitize(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    // `--next` cuts the line into operations: all are parsed before the first runs (a usage
    // error anywhere runs none), then run in turn; the exit status is the last one's, as in
    // curl, and with --fail-early the first that fails ends the run.
    let mut operations = Vec::new();
    for line in toll::cli::split_next(args) {
        let Some(line) = line else {
            operations.push(None);
            continue;
        };
        match toll::cli::parse_cli(line) {
            Ok(cli) => operations.push(Some(cli)),
            // clap's messages echo the offending value: not for options that may hold a secret.
            Err(e) => match toll::cli::parse_error_text(&e) {
                Some(text) => {
                    eprint!("{}", sanitize_lines(&text));
                    return ExitCode::from(2);
                }
                None => e.exit(),
            },
        }
    }
    for cli in operations.iter().flatten() {
        toll::app::hide_command_line_passwords(cli);
    }
    let fail_early = operations.iter().flatten().any(|c| c.transfer.fail_early);
    let mut status = ExitCode::SUCCESS;
    for (i, operation) in operations.into_iter().enumerate() {
        let Some(cli) = operation else {
            // As curl: the others run; this one fails, whatever -s says.
            eprintln!("toll: error: no URL for operation {} (after --next)", i + 1);
            status = ExitCode::from(2);
            if fail_early {
                break;
            }
            continue;
        };
        let show = toll::app::errors_shown(&cli);
        match toll::app::run(cli) {
            Ok(()) => status = ExitCode::SUCCESS,
            Err(e) => {
                if show {
                    eprintln!("toll: error: {}", sanitize(&e.message));
                    if let Some(hint) = &e.hint {
                        eprintln!("toll: hint: {}", sanitize(hint));
                    }
                }
                status = ExitCode::from(e.exit.code());
                if fail_early {
                    break;
                }
            }
        }
    }
    status
}

/// [`sanitize`] per line (the reason may come from any value parser).
fn sanitize_lines(text: &str) -> String {
    text.lines().map(|l| sanitize(l) + "\n").collect()
}
