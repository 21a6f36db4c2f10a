//! The request body the data options give (`-d`, `--data-binary`, `--data-raw`,
//! `--data-urlencode`, `--json`), and the method that follows from it: what `Cli::into_config`
//! turns them into, once.

use super::values::{self, DataArg};
use super::{curl_opts, RequestArgs, UsageError};
use crate::config::{Body, BodySource};

/// The method: -X's (or -T's PUT), else HEAD for -I, POST with a body, GET (`None`) without.
pub(super) fn implied_method(given: Option<String>, head: bool, has_body: bool) -> Option<String> {
    given.or_else(|| if head { Some("HEAD".into()) } else { has_body.then(|| "POST".into()) })
}

/// The body from `-d`, `--data-binary` and `--json`, and the option that gave it (for the
/// implied headers and messages). Pieces of one option are joined as curl does; options are not
/// mixed. An `@file`/`@-` piece alone is the body's source (read as it is sent); among other
/// pieces it is read here, whole, as curl reads every piece.
pub(super) fn build_body(req: &RequestArgs) -> Result<Option<(Body, &'static str)>, UsageError> {
    let given: Vec<(&'static str, &[DataArg])> =
        [("-d/--data", &req.data[..]), ("--data-binary", &req.data_binary[..]), ("--json", &req.json[..])]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
    let (option, pieces) = match given.as_slice() {
        [] => return Ok(None),
        [one] => *one,
        [a, b, ..] => return Err(UsageError::MixedData(a.0, b.0)),
    };
    let separator = if option == "--json" { "" } else { "&" };
    let source = match pieces {
        [DataArg::File(p)] => BodySource::File(p.clone()),
        [DataArg::Stdin] => BodySource::Stdin,
        _ => {
            let mut joined = Vec::new();
            for (i, piece) in pieces.iter().enumerate() {
                if i > 0 {
                    joined.extend_from_slice(separator.as_bytes());
                }
                match piece {
                    DataArg::Inline(s) => joined.extend_from_slice(s.as_bytes()),
                    // With other pieces a file is read whole here, as curl reads every piece.
                    DataArg::File(p) => joined.extend(read_data_file(p, option)?),
                    DataArg::Stdin => joined.extend(stdin_data(option == "-d/--data")?),
                }
            }
            BodySource::Bytes(joined)
        }
    };
    // curl drops CR/LF only from -d files; inline data and --data-binary/--json stay as given.
    let strip_newlines = option == "-d/--data" && !matches!(source, BodySource::Bytes(_));
    Ok(Some((Body { source, strip_newlines }, option)))
}

/// The body of pieces of several data options ([`RequestArgs::data_order`]), joined with '&'.
pub(super) fn ordered_body(pieces: &[values::DataPiece]) -> Result<Vec<u8>, UsageError> {
    use values::DataPiece;
    let mut out = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        match piece {
            DataPiece::Data(arg) | DataPiece::Binary(arg) => {
                let option = if matches!(piece, DataPiece::Data(_)) { "-d/--data" } else { "--data-binary" };
                match arg {
                    DataArg::Inline(s) => out.extend_from_slice(s.as_bytes()),
                    DataArg::File(p) => out.extend(read_data_file(p, option)?),
                    DataArg::Stdin => out.extend(stdin_data(option == "-d/--data")?),
                }
            }
            DataPiece::Raw(s) => out.extend_from_slice(s.as_bytes()),
            DataPiece::Urlencode(s) => {
                out.extend_from_slice(curl_opts::data_urlencode(s, &read_named)?.as_bytes())
            }
        }
    }
    Ok(out)
}

/// Standard input for data that is needed when the command line is read — an `@-` piece
/// beside others, `-G`'s query, `--data-urlencode [NAME]@-` — read whole, once: curl reads it
/// then too, and every use gets the same bytes (`strip`: without CR and LF, for `-d`).
pub(super) fn stdin_data(strip: bool) -> Result<Vec<u8>, UsageError> {
    static READ: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let mut bytes = match READ.get() {
        Some(b) => b.clone(),
        None => {
            let read = read_stdin()
                .map_err(|e| UsageError::Unreadable(format!("cannot read standard input: {e}")))?;
            READ.get_or_init(|| read).clone()
        }
    };
    if strip {
        bytes.retain(|b| *b != b'\r' && *b != b'\n');
    }
    Ok(bytes)
}

#[cfg(not(test))]
fn read_stdin() -> std::io::Result<Vec<u8>> {
    let mut all = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin(), &mut all).map(|_| all)
}

/// Unit tests never read the test runner's standard input (a terminal would wait).
#[cfg(test)]
fn read_stdin() -> std::io::Result<Vec<u8>> {
    Ok(TEST_STDIN.to_vec())
}

#[cfg(test)]
pub(super) const TEST_STDIN: &[u8] = b"from\r\nstdin\n";

/// A `--data-urlencode` file: `-` is standard input, as in curl.
pub(super) fn read_named(path: &str) -> std::io::Result<Vec<u8>> {
    match path {
        "-" => stdin_data(false).map_err(|e| std::io::Error::other(e.to_string())),
        _ => std::fs::read(path),
    }
}

/// A `-d`/`--data-binary`/`--json` `@FILE` read whole (when the body has other pieces, or
/// goes into the URL with `-G`), without its CR and LF bytes for `-d`, as curl reads it.
pub(super) fn read_data_file(path: &std::path::Path, option: &str) -> Result<Vec<u8>, UsageError> {
    let mut bytes = std::fs::read(path).map_err(|e| {
        UsageError::Unreadable(format!(
            "{option}: cannot read {}: {e}",
            crate::term::sanitize(&path.display().to_string())
        ))
    })?;
    if option == "-d/--data" {
        bytes.retain(|b| *b != b'\r' && *b != b'\n');
    }
    Ok(bytes)
}
