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
/// mixed, and an `@file`/`@-` piece must stand alone, since a [`Body`] has one source.
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
                    DataArg::Stdin => return Err(UsageError::DataSourceNotAlone(option)),
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
                    DataArg::Stdin => return Err(UsageError::DataSourceNotAlone(option)),
                }
            }
            DataPiece::Raw(s) => out.extend_from_slice(s.as_bytes()),
            DataPiece::Urlencode(s) => {
                out.extend_from_slice(curl_opts::data_urlencode(s, &|p| std::fs::read(p))?.as_bytes())
            }
        }
    }
    Ok(out)
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
