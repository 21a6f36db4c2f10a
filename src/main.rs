//! `toll`: parse the command line, run it, map the error to its documented exit code.

use std::process::ExitCode;

// Never a panic when standard error is gone (see the library's).
use toll::term::sanitize;
use toll::{eprint, eprintln};

/// Whether descriptor 1 was closed when the process started (`toll URL >&-`). Rust's runtime
/// opens /dev/null there before `main`, so every write would "succeed" and the body be lost with
/// exit 0; curl's is exit 23. Looked at from `.init_array`, which runs before that.
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static LOOK_AT_STDOUT: extern "C" fn() = look_at_stdout;

#[cfg(target_os = "linux")]
extern "C" fn look_at_stdout() {
    // SAFETY: fcntl on descriptor 1 only asks whether it is open.
    if unsafe { libc::fcntl(1, libc::F_GETFD) } == -1 {
        toll::output::stdout_was_closed();
    }
}

fn main() -> ExitCode {
    // -K files, variables, `--no-` forms and `--next`: the command line as clap reads it.
    let read = |f: &str| {
        if f == "-" {
            let mut all = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut all).map(|_| all)
        } else {
            std::fs::read(f)
        }
    };
    let env = |n: &str| std::env::var_os(n).map(|v| v.into_encoded_bytes());
    let mut warn = |w: String| eprintln!("toll: warning: {}", sanitize(&w));
    let mut sources = toll::cli::ArgSources { read: &read, env: &env, warn: &mut warn };
    let lines = match toll::cli::prepare(std::env::args_os().collect(), &mut sources) {
        Ok(lines) => lines,
        Err(e) => {
            eprintln!("toll: error: {}", sanitize(&e.message));
            return ExitCode::from(e.code);
        }
    };
    // `--next` cuts the line into operations: all are parsed before the first runs (a usage
    // error anywhere runs none), then run in turn; the exit status is the last one's, as in
    // curl, and with --fail-early the first that fails ends the run.
    let mut operations = Vec::new();
    for line in lines {
        let Some(line) = line else {
            operations.push(None);
            continue;
        };
        match toll::cli::parse_cli(line) {
            Ok(cli) => operations.push(Some(cli)),
            // `--help`, `--version`: clap prints them.
            Err(e) if !e.use_stderr() => e.exit(),
            // `toll auth` alone: its help, on stderr, exit 2 (not squeezed into one error line).
            Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                eprint!("{}", sanitize_lines(&e.render().to_string()));
                return ExitCode::from(2);
            }
            // clap's messages echo the offending value: not for options that may hold a secret.
            Err(e) => {
                let text = toll::cli::parse_error_text(&e).unwrap_or_else(|| e.render().to_string());
                eprint!("{}", sanitize_lines(&toll::cli::usage_error_lines(&text)));
                return ExitCode::from(2);
            }
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
                // Ctrl-C (SIGINT): end by it once the message is out, as curl ends, so a
                // shell's loop stops too; the status a shell reports is 130 either way.
                #[cfg(unix)]
                if e.exit == toll::error::Exit::Interrupted {
                    toll::setup::end_by_signal(toll::setup::signal_seen().unwrap_or(libc::SIGINT));
                }
                status = ExitCode::from(e.exit.code());
                // A file the command line names that cannot be read (curl's "Can't open" for
                // -T) ends it, as in curl: the later operations do not run.
                if fail_early || e.exit == toll::error::Exit::Read {
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
