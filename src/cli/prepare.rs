//! The command line made ready for clap, in curl's order: `-K` files expanded (`curlrc`), curl
//! 8's variables set and `--expand-` options expanded (`vars`), `-H @FILE` read (`curlrc`),
//! the redirect switches resolved (`follow`), `--no-` forms applied (`negate`), and the line
//! cut at `--next` into operations (`next`). What the passes need from outside (files,
//! standard input, the environment, a place for warnings) comes in through [`ArgSources`], so
//! they are testable and `main` stays thin.

use std::ffi::OsString;

/// What the passes read, and where their warnings go.
pub struct ArgSources<'a> {
    /// Reads a file, `-` standard input (`-K -`, `--variable NAME@-`).
    pub read: &'a dyn Fn(&str) -> std::io::Result<Vec<u8>>,
    /// An environment variable's value (`--variable %NAME`).
    pub env: &'a dyn Fn(&str) -> Option<Vec<u8>>,
    pub warn: &'a mut dyn FnMut(String),
}

/// Why the command line could not be made ready, with its exit code (26 for a file that cannot
/// be read, else 2).
#[derive(Debug)]
pub struct PrepareError {
    pub message: String,
    pub code: u8,
}

/// The operations `args` (program name first) stands for, each a command line for clap; `None`
/// for a `--next` piece with nothing of its own (see [`super::split_next`]).
pub fn prepare(
    args: Vec<OsString>,
    src: &mut ArgSources<'_>,
) -> Result<Vec<Option<Vec<OsString>>>, PrepareError> {
    let read_text = |f: &str| (src.read)(f).map(|b| String::from_utf8_lossy(&b).into_owned());
    let args = super::expand_config_args(args, &read_text, &mut *src.warn)
        .map_err(|e| PrepareError { message: e.to_string(), code: e.exit_code() })?;
    let mut vars = super::VarSources { env: src.env, read: src.read, warn: &mut *src.warn };
    let args = super::apply_variables(args, &mut vars)
        .map_err(|e| PrepareError { message: e.to_string(), code: e.exit_code() })?;
    let args = super::curlrc::expand_header_files(args, &read_text)
        .map_err(|e| PrepareError { message: e.to_string(), code: e.exit_code() })?;
    let args = super::follow::apply_follow(args);
    let args = super::apply_negations(args).map_err(|e| PrepareError { message: e.to_string(), code: 2 })?;
    Ok(super::split_next(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_passes_run_in_curls_order() {
        // A -K file sets a variable and turns -L on; the command line expands the variable
        // and turns -L off again; --next cuts last.
        let read = |f: &str| match f {
            "rc" => Ok(b"location\nvariable = host=127.0.0.1\n".to_vec()),
            _ => Err(std::io::Error::from(std::io::ErrorKind::NotFound)),
        };
        let env = |_: &str| None;
        let mut warn = |_: String| {};
        let mut src = ArgSources { read: &read, env: &env, warn: &mut warn };
        let args = ["toll", "-K", "rc", "--no-location", "--expand-url", "http://{{host}}/", "--next", "u2"];
        let lines = prepare(args.iter().map(OsString::from).collect(), &mut src).unwrap();
        let lines: Vec<Vec<String>> = lines
            .into_iter()
            .map(|l| l.unwrap().into_iter().skip(1).map(|a| a.to_string_lossy().into_owned()).collect())
            .collect();
        assert_eq!(lines, [vec!["--url", "http://127.0.0.1/"], vec!["u2"]]);
        // -H @FILE is read after the variables: the file can be one a variable names.
        let read = |f: &str| match f {
            "h.txt" => Ok(b"X-A: 1\n".to_vec()),
            _ => Err(std::io::Error::from(std::io::ErrorKind::NotFound)),
        };
        let mut src = ArgSources { read: &read, env: &env, warn: &mut warn };
        let args = ["toll", "--variable", "f=h.txt", "--expand-header", "@{{f}}", "u"];
        let lines = prepare(args.iter().map(OsString::from).collect(), &mut src).unwrap();
        assert_eq!(lines, [Some(["toll", "--header", "X-A: 1", "u"].iter().map(OsString::from).collect())]);
        let mut src = ArgSources { read: &read, env: &env, warn: &mut warn };
        let e = prepare(["toll", "-K", "nope"].iter().map(OsString::from).collect(), &mut src).unwrap_err();
        assert_eq!(e.code, 26);
    }
}
