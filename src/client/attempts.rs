//! One run's attempts: the transfer (send, `-D`/`--create-dirs`, write the body,
//! `--fail-with-body`), repeated as `--retry` decides (`retry`), then the cookie jar written
//! (`-c`). One `Session` serves every attempt, so what the relay learnt (a rejected proxy
//! credential) and what the origin rejected (`-u`) stay rejected.

use super::deliver::write_response;
use super::transfer_info::Recorder;
use super::{extras, head_text, retry, Session};
use crate::config::{OutputStyle, RequestConfig};
use crate::error::Result;

/// Runs the transfer until it succeeds or `--retry` gives up; writes `-c` in either case.
pub async fn run(
    session: &Session,
    req: &RequestConfig,
    style: OutputStyle,
    rec: &mut Recorder,
) -> Result<()> {
    let started = std::time::Instant::now();
    // A retry writes the file the first attempt wrote (curl too): not another `--no-clobber`
    // name, nor, with -J, a refusal to replace the file this transfer made itself.
    let mut pinned: Option<RequestConfig> = None;
    let result = loop {
        let result = transfer(session, pinned.as_ref().unwrap_or(req), style, rec).await;
        let attempt = retry::Attempt {
            error: result.as_ref().err().map(|e| e.retry_as.unwrap_or(e.exit)),
            status: rec.info.http_code,
            retry_after: rec.info.headers.iter().find(|(n, _)| n == "retry-after").map(|(_, v)| v.as_str()),
            retried: rec.retried,
            elapsed: started.elapsed(),
            now: std::time::SystemTime::now(),
        };
        let Some(delay) = retry::next_delay(&req.retry, &attempt) else { break result };
        if !style.silent {
            let left = req.retry.retries - rec.retried;
            eprintln!(
                "toll: warning: transient problem; will retry in {} seconds, {left} retries left",
                delay.as_secs_f64()
            );
        }
        tokio::time::sleep(delay).await;
        if let (None, Some(file)) = (&pinned, &rec.delivered.file) {
            pinned = Some(written_again(req, file.clone()));
        }
        let next = std::mem::replace(rec, Recorder::start(req)).next_attempt(req);
        *rec = next;
    };
    // curl writes the jar and the HSTS and alt-svc caches whatever happened.
    let saved = session.cookies.save(&req.curl).and(session.hsts.save()).and(session.alt_svc.save());
    result.and(saved)
}

/// The request of a retry that writes `file` again, under that name.
fn written_again(req: &RequestConfig, file: std::path::PathBuf) -> RequestConfig {
    let mut again = req.clone();
    again.output = crate::config::OutputTarget::File(file);
    (again.transfer.no_clobber, again.transfer.remote_header_name) = (false, false);
    again
}

async fn transfer(
    session: &Session,
    req: &RequestConfig,
    style: OutputStyle,
    rec: &mut Recorder,
) -> Result<()> {
    super::saving::check_remote_name(req)?;
    let mut heads = super::EarlierHeads::default();
    rec.sending(req.url.scheme() == "https", session.connections_made());
    // `-m` bounds the transfer, not each request of it: redirects, and a server that floods
    // informational heads, share it (reqwest's timeout is per request).
    let deadline = req.max_time.map(|t| std::time::Instant::now() + t);
    let sending = session.send_with_heads(req, &mut heads);
    // A moment's grace: where a step's own bound ends at the same time (choosing the proxy, a
    // request's timeout), its more telling error comes first.
    let sent = match deadline {
        Some(d) => {
            match tokio::time::timeout_at((d + std::time::Duration::from_millis(100)).into(), sending).await {
                Ok(sent) => sent,
                Err(_) => Err(out_of_time(req)),
            }
        }
        None => sending.await,
    };
    rec.connections(session.connections_made());
    let resp = match sent {
        Ok(resp) => resp,
        Err(e) => {
            match heads.last_status() {
                Some(_) => {
                    rec.refused_redirect(req, &heads);
                    // The heads received, as curl writes them before its error; the transfer's
                    // own error is the one reported.
                    let _ = extras::dump_heads(req, &session.dumped, &heads, &[]);
                    let _ = super::deliver::heads_before_failure(req, &session.ctx.term, &heads);
                }
                None => rec.unanswered(session, req, &e),
            }
            return Err(e);
        }
    };
    rec.response(session, req, &resp, &heads);
    if super::saving::condition_unmet(req, resp.headers()) {
        // -z and a document that does not meet it: curl reports a (simulated) 304.
        rec.info.http_code = 304;
    }
    extras::before_body(req, &session.dumped, &heads, &head_text(&resp))?;
    let (status, url) = (resp.status().as_u16(), resp.url().to_string());
    let got = &mut rec.delivered;
    // A body that failed half-way leaves no partial file (`.toll-part`), the old file stays;
    // `--remove-on-error` asks for no file at all after an error, as curl leaves none.
    write_response(session, req, style, resp, &heads, got, deadline)
        .await
        .inspect_err(|_| remove_on_error(req, got.file.as_deref()))?;
    extras::after_body(req, status, &url).inspect_err(|_| remove_on_error(req, got.file.as_deref()))
}

/// `-m` ran out before the answer (across redirects: each one's own timeout was not the limit).
fn out_of_time(req: &RequestConfig) -> crate::error::Error {
    let limit = req.max_time.unwrap_or_default();
    crate::error::Error::new(
        crate::error::Exit::Timeout,
        format!(
            "timed out: -m/--max-time {:.3} s ran out before {} answered",
            limit.as_secs_f64(),
            crate::term::display_url(&req.url)
        ),
    )
}

/// `--remove-on-error` after a failed body or `--fail-with-body`'s error page (not a resumed
/// file, which keeps what it had). Regular files only: `-o /dev/null` and a FIFO are written
/// to, never removed, and a symbolic link is left too (curl follows it to check the file,
/// then removes the link).
fn remove_on_error(req: &RequestConfig, file: Option<&std::path::Path>) {
    if let (true, None, Some(file)) = (req.transfer.remove_on_error, req.transfer.resume, file) {
        if std::fs::symlink_metadata(file).is_ok_and(|m| m.file_type().is_file()) {
            let _ = std::fs::remove_file(file);
        }
    }
}
