//! Writing a response where the request says: `-f`'s failure (with `-i`/`-I`'s heads first),
//! the heads `-i` and `-I` print, the body through the sink `saving::plan` chose, the progress
//! bar, and the refusal to print a binary body to a terminal.

use super::decode::Stopped;
use super::header_case::{head_text, EarlierHeads};
use super::{classify, saving};
use crate::config::{OutputStyle, OutputTarget, RequestConfig};
use crate::error::{Error, Exit, Result};
use crate::output::Sink;
use crate::relay::Relay;
use crate::term::Terminal;
use std::path::{Path, PathBuf};

/// What [`write_response`] delivered, also when it failed part way: the body's bytes as
/// received (`%{size_download}`) and the file they went to.
#[derive(Debug, Default)]
pub struct Delivered {
    pub bytes: u64,
    pub file: Option<PathBuf>,
}

/// `-i`/`-I` to standard output when the transfer failed after answers came (a redirect that
/// was not followed: `--max-redirs`, a `Location` toll cannot follow): their heads are printed
/// before the error, as curl prints them. Nothing goes to an `-o` file, which a failed transfer
/// does not leave.
pub(super) fn heads_before_failure(
    req: &RequestConfig,
    term: &Terminal,
    earlier_heads: &EarlierHeads,
) -> Result<()> {
    if !(req.include_headers || req.head_only) || !matches!(req.output, OutputTarget::Stdout) {
        return Ok(());
    }
    let mut sink = crate::output::Sink::stdout();
    for head in earlier_heads.shown(req.curl.conn.suppress_connect_headers) {
        if sink.write(&crate::term::shown_on(head, term.stdout))?.is_err() {
            return Ok(());
        }
    }
    let _ = sink.flush_stdout()?;
    Ok(())
}

/// Writes the answer where it goes. `deadline`: when `-m` runs out for this transfer.
pub(super) async fn write_response(
    session: &super::Session,
    req: &RequestConfig,
    style: OutputStyle,
    resp: reqwest::Response,
    earlier_heads: &EarlierHeads,
    got: &mut Delivered,
    deadline: Option<std::time::Instant>,
) -> Result<()> {
    let (term, relay): (&Terminal, &Relay) = (&session.ctx.term, &session.relay);
    let status = resp.status();
    let show_heads = req.include_headers || req.head_only;
    // Trailer fields follow the body where heads are shown (`trailers`).
    let (mut resp, trailers) = match show_heads || req.curl.dump_header.is_some() {
        true => {
            let (resp, kept) = super::trailers::keep(resp);
            (resp, Some(kept))
        }
        false => (resp, None),
    };
    // The heads `-i`/`-I` print (the CONNECT's and redirects' first): false if the reader left.
    let to_terminal = term.stdout && matches!(req.output, OutputTarget::Stdout);
    let write_heads = |sink: &mut crate::output::Sink| -> Result<bool> {
        let suppress = req.curl.conn.suppress_connect_headers;
        for head in earlier_heads.shown(suppress).chain([head_text(&resp).as_slice()]) {
            if sink.write(&crate::term::shown_on(head, to_terminal))?.is_err() {
                return Ok(false);
            }
        }
        Ok(true)
    };
    // A 416 to a resumed download says the file is complete: not a failure for curl 7.88 either,
    // unless it says so with `Content-Range: bytes */SIZE` (curl then takes the resuming as
    // undone, and fails).
    let complete = status.as_u16() == 416 && super::resume::complete_without_size(req, resp.headers());
    if req.fail_on_http_error && status.as_u16() >= 400 && !complete {
        // `-f -i`/`-fI` to standard output: the heads are printed before the failure, as curl
        // prints them (`curl -fsSI URL` shows the 404 it stops on); no body, and no `-o` file.
        if show_heads && matches!(req.output, OutputTarget::Stdout) {
            let mut sink = crate::output::Sink::stdout();
            if write_heads(&mut sink)? {
                let _ = sink.flush_stdout()?;
            }
        }
        return Err(Error::new(Exit::HttpStatus, format!("the server answered {status} for {}", resp.url()))
            .hint("drop -f/--fail to see the response body"));
    }
    // -C, -J, --no-clobber, --max-filesize decide where (and whether) the body goes. An -O
    // name comes from the URL the user gave, never from a redirect target (curl too).
    let headers = resp.headers().clone();
    saving::save_etag(req, &headers)?;
    // A HEAD's answer has no body, but announces the length a GET would get: curl holds that
    // to --max-filesize too (`curl -sI --max-filesize 1M URL` checks a size without fetching).
    let announced = match req.head_only {
        true => {
            headers.get(reqwest::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse().ok())
        }
        false => resp.content_length(),
    };
    let mut out = match saving::plan(req, status.as_u16(), &headers, announced)? {
        saving::Plan::Skip => return Ok(()),
        saving::Plan::Write(out) => out,
    };
    out.until(deadline);
    let http1 = matches!(resp.version(), reqwest::Version::HTTP_10 | reqwest::Version::HTTP_11);
    out.close_delimited(
        http1
            && !headers.contains_key(reqwest::header::CONTENT_LENGTH)
            && !headers.contains_key(reqwest::header::TRANSFER_ENCODING),
    );
    got.file = out.dest().map(Path::to_path_buf);
    if show_heads && !write_heads(&mut out.sink)? {
        return Ok(());
    }
    out.after_heads()?;
    // `--compressed`: undone here, after the bytes as received were counted.
    let mut decoder = if req.compressed { decoder(&headers)? } else { None };
    let quiet = style.silent || req.curl.conn.no_progress_meter;
    let together = req.transfer.parallel.is_some();
    let bar = (term.stderr && !quiet && !matches!(req.output, OutputTarget::Stdout)).then(|| {
        let bar = match together {
            true => parallel_bars().add(indicatif::ProgressBar::new(resp.content_length().unwrap_or(0))),
            false => indicatif::ProgressBar::with_draw_target(
                resp.content_length(),
                indicatif::ProgressDrawTarget::stderr(),
            ),
        };
        if together && resp.content_length().is_none() {
            bar.unset_length();
        }
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bytes}/{total_bytes} {bar:30} {bytes_per_sec} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    // Counted while it may be on the screen; hidden while a prompt is (`term::prompting`).
    let _on_screen = bar.as_ref().map(|_| crate::term::bar_on_screen());
    let mut bar_hidden = false;
    let mut printed = 0u64;
    loop {
        let raw = match out.next(&mut resp).await? {
            Ok(Some(c)) => c,
            Ok(None) => {
                let ended = decoder.as_mut().map_or(Ok(()), |d| d.finish().map_err(bad_encoding));
                if let (Err(_), Some(bar)) = (&ended, &bar) {
                    abandon(bar, together);
                }
                ended?;
                break;
            }
            Err(e) => {
                if let Some(bar) = &bar {
                    abandon(bar, together);
                }
                return Err(classify(e, relay, false));
            }
        };
        got.bytes += raw.len() as u64;
        if let Some(bar) = &bar {
            let prompting = crate::term::prompting();
            if prompting != bar_hidden {
                bar_hidden = prompting;
                let target = match prompting {
                    true => indicatif::ProgressDrawTarget::hidden(),
                    false => indicatif::ProgressDrawTarget::stderr(),
                };
                match together {
                    true => parallel_bars().set_draw_target(target),
                    false => bar.set_draw_target(target),
                }
            }
            bar.inc(raw.len() as u64);
        }
        let sink = &mut out.sink;
        let written = match &mut decoder {
            None => put(sink, &raw, term, req, &mut printed),
            // Each decoded piece is written as it comes (a small body can stand for gigabytes);
            // what decoded before a decoding error is written too, as curl writes it.
            Some(d) => {
                let mut put_piece = |piece: &[u8]| match put(sink, piece, term, req, &mut printed) {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(Stopped::Sink(None)),
                    Err(e) => Err(Stopped::Sink(Some(e))),
                };
                match d.push(&raw, &mut put_piece) {
                    Ok(()) => Ok(true),
                    Err(Stopped::Sink(None)) => Ok(false),
                    Err(Stopped::Sink(Some(e))) => Err(e),
                    Err(Stopped::Decode(e)) => Err(bad_encoding(e)),
                }
            }
        };
        match written {
            Ok(true) => {}
            // The reader left (a closed pipe): nothing more to write, as curl.
            Ok(false) => return Ok(()),
            Err(e) => {
                if let Some(bar) = &bar {
                    abandon(bar, together);
                }
                return Err(e);
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let trailers = trailers.map(|t| t.text(resp.version())).unwrap_or_default();
    if !trailers.is_empty() {
        // Where the heads went: after the body with -i, after the head with -D.
        if show_heads && out.sink.write(&trailers)?.is_err() {
            return Ok(());
        }
        // `-D -` writes to standard output past the body's buffer: the body goes out first.
        if out.sink.flush_stdout()?.is_err() {
            return Ok(());
        }
        super::extras::dump_trailers(req, &trailers)?;
    }
    if let Some(placed) = out.finish(req, &headers, style.silent)? {
        got.file = Some(placed);
    }
    Ok(())
}

/// Writes a piece of the body; `false` when the reader has left. What a server sends must not
/// drive the terminal: a body with a NUL byte in its first 2000 bytes is refused there unless
/// `-o -` asked for it, as curl does.
fn put(
    sink: &mut Sink,
    piece: &[u8],
    term: &Terminal,
    req: &RequestConfig,
    printed: &mut u64,
) -> Result<bool> {
    if term.stdout
        && !req.curl.binary_to_terminal
        && sink.is_stdout()
        && *printed < 2000
        && piece.contains(&0)
    {
        return Err(Error::new(
            Exit::Write,
            "the body is binary and standard output is a terminal: not printed",
        )
        .hint("use '-o -' to print it there anyway, or '-o FILE' to save it"));
    }
    *printed += piece.len() as u64;
    Ok(sink.write(piece)?.is_ok() && !(req.curl.conn.no_buffer && sink.flush_stdout()?.is_err()))
}

/// The decoder for a body with these headers (too many codings: exit 61 at once).
fn decoder(headers: &http::HeaderMap) -> Result<Option<super::decode::Decoder>> {
    super::decode::Decoder::for_headers(headers).map_err(bad_encoding)
}

fn bad_encoding(e: super::decode::DecodeError) -> Error {
    Error::new(Exit::BadEncoding, format!("--compressed: the body does not decode: {}", e.0))
        .hint("the server's Content-Encoding does not match its body; retry without --compressed")
}

/// `-Z`: the bars of the transfers running at once, a line each (review M: they took turns on
/// one line, the figures jumping between transfers); a finished one leaves its line.
fn parallel_bars() -> &'static indicatif::MultiProgress {
    static BARS: std::sync::OnceLock<indicatif::MultiProgress> = std::sync::OnceLock::new();
    BARS.get_or_init(|| indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr()))
}

/// Leaves a failed transfer's bar as it stood, and ends its line: the error that follows is a
/// line of its own (it was glued to the bar's end), as curl ends its meter's line. Among `-Z`'s
/// bars it leaves its line instead: the errors are said when the transfers are over.
fn abandon(bar: &indicatif::ProgressBar, together: bool) {
    if together {
        bar.finish_and_clear();
        return;
    }
    bar.abandon();
    if bar.position() > 0 && !bar.is_hidden() {
        eprintln!();
    }
}
