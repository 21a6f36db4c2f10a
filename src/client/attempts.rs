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
    let result = loop {
        let result = transfer(session, req, style, rec).await;
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
        let next = std::mem::replace(rec, Recorder::start(req)).next_attempt(req);
        *rec = next;
    };
    // curl writes the jar and the HSTS and alt-svc caches whatever happened.
    let saved = session.cookies.save(&req.curl).and(session.hsts.save()).and(session.alt_svc.save());
    result.and(saved)
}

async fn transfer(
    session: &Session,
    req: &RequestConfig,
    style: OutputStyle,
    rec: &mut Recorder,
) -> Result<()> {
    let mut heads = super::EarlierHeads::default();
    rec.sending(req.url.scheme() == "https", session.connections_made());
    let sent = session.send_with_heads(req, &mut heads).await;
    rec.connections(session.connections_made());
    let resp = sent.inspect_err(|_| rec.refused_redirect(req, &heads))?;
    rec.response(session, req, &resp, &heads);
    if super::saving::condition_unmet(req, resp.headers()) {
        // -z and a document that does not meet it: curl reports a (simulated) 304.
        rec.info.http_code = 304;
    }
    extras::before_body(req, &heads, &head_text(&resp))?;
    let (status, url) = (resp.status().as_u16(), resp.url().to_string());
    let downloaded = &mut rec.size_download;
    write_response(req, style, &session.ctx.term, resp, &heads, &session.relay, downloaded).await?;
    extras::after_body(req, status, &url)
}
